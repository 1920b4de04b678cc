import { Command } from "commander";
import { openDataset } from "../data/datasets.js";
import { writeObjects } from "../data/objects.js";
import { positiveInt } from "./options.js";
import { outputFolder } from "./outputs.js";

export function dataCommand(): Command {
  const data = new Command("data").description("generate datasets with known answers");
  data
    .command("objects")
    .description("paste real items at random positions on a larger cluttered canvas; record each item's box (boxes.json)")
    .requiredOption("--source <path>", "where the items come from (e.g. a Fashion-MNIST IDX file)")
    .requiredOption("--out <dir>", "folder for <label>_<id>.png files and boxes.json")
    .option("--count <n>", "images to write", positiveInt, 1000)
    .option("--size <px>", "canvas side in pixels", positiveInt, 56)
    .option("--distractors <n>", "dimmed fragments of other items per image", (v) => Number(v), 3)
    .option("--seed <n>", "seed", (v) => Number(v), 0)
    .action(async (o: { source: string; out: string; count: number; size: number; distractors: number; seed: number }) => {
      outputFolder(o.out);
      const source = openDataset(o.source);
      const { files } = await writeObjects(source, o.out, o);
      process.stderr.write(`vitlens: wrote ${files} images (${o.size}x${o.size}) and boxes.json to ${o.out}\n`);
    });
  return data;
}
