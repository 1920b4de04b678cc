// Issue 21, pipes: a reader that closes stdout early (`| head -1`) ends a command quietly with exit
// 0; results go to stdout, the rest to stderr; a command that writes files still writes them all.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { root } from "./helpers.js";
import { startVitlens, type CliResult } from "./cli-child.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-pipes-"));
const model = join(root, "models", "fashion-mnist-vit");
const samples = readdirSync(join(root, "samples", "fashion")).map((f) => join(root, "samples", "fashion", f));
const many = Array.from({ length: 30 }, () => samples).flat(); // 300 images

/** Runs vitlens and closes its stdout after the first line, as `| head -1` does. */
async function headOne(args: string[]): Promise<CliResult & { first: string }> {
  const run = startVitlens(args);
  await run.whenStdout(/\n/);
  run.child.stdout.destroy();
  const r = await run.done;
  return { ...r, first: r.stdout.split("\n")[0] };
}

const quietEnd = (r: CliResult) => {
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|error|\n\s+at /, r.stderr);
};

describe("a closed stdout", () => {
  it("predict --json | head -1: exit 0, no error, the first line a result", async () => {
    const r = await headOne(["predict", "--json", "--batch-size", "1", "--model", model, ...many]);
    quietEnd(r);
    assert.match(r.first, /^\{"image":/);
  });

  it("predict --csv F | head -1: the CSV still holds every image's row", async () => {
    const csv = join(dir, "all.csv");
    const r = await headOne(["predict", "--batch-size", "1", "--model", model, "--csv", csv, ...many]);
    quietEnd(r);
    assert.equal(readFileSync(csv, "utf8").trim().split("\n").length, many.length + 1);
  });

  it("inspect | head -1 and attention --out D | head -1: exit 0; attention draws every map", async () => {
    quietEnd(await headOne(["inspect", "--model", "vit-ti16", "--expand"]));
    const out = join(dir, "maps");
    quietEnd(await headOne(["attention", "--model", model, "--out", out, ...samples]));
    assert.equal(readdirSync(out).length, samples.length);
  });
});
