import { VitlensError } from "../errors.js";
import { Command } from "commander";
import { openDataset } from "../data/datasets.js";
import { writeObjects } from "../data/objects.js";
import { writeGrids } from "../data/grids.js";
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
  data
    .command("grids")
    .description("grounded captions: two real items in neighbouring cells of a grid, captioned by their relation (COCO format + each item's cell)")
    .requiredOption("--source <path>", "where the items come from (e.g. a Fashion-MNIST IDX file)")
    .requiredOption("--out <dir>", "dataset folder: <split>/NNNNN.png and <split>.json")
    .option("--split <name>", "split name (train, val, ...)", "train")
    .option("--count <n>", "images to write", positiveInt, 1000)
    .option("--grid <n>", "cells per side (2 or 3)", positiveInt, 2)
    .option("--seed <n>", "seed", (v) => Number(v), 0)
    .action(async (o: { source: string; out: string; split: string; count: number; grid: number; seed: number }) => {
      if (o.grid < 2 || o.grid > 3) throw new VitlensError(`--grid ${o.grid}: expected 2 or 3`);
      if (!/^[\w-]+$/.test(o.split)) throw new VitlensError(`--split ${o.split}: use letters, digits, - and _`);
      outputFolder(o.out);
      const result = await writeGrids(openDataset(o.source), o.out, o);
      process.stderr.write(`vitlens: wrote ${result.images.length} images (${o.grid}x${o.grid} cells of 28 px) to ${o.out}/${o.split}/ and captions to ${o.out}/${o.split}.json\n`);
    });
  return data;
}
