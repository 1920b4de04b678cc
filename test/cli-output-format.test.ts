// Issue 21, output: – for a class with no images, singular and plural, top-k never beyond the
// class count, the text confusion matrix labelled by class on both axes, aligned tables.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fixture, root, writeIdxPair } from "./helpers.js";
import { vitlens } from "./cli-child.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-format-"));
const model = join(root, "models", "fashion-mnist-vit");
const sample = (name: string) => join(root, "samples", "fashion", name);

/** Class folders: `classes` maps a folder name to its images (none: an empty folder). */
function classFolders(name: string, classes: Record<string, string[]>): string {
  const d = join(dir, name);
  for (const [cls, files] of Object.entries(classes)) {
    mkdirSync(join(d, cls), { recursive: true });
    files.forEach((f, i) => cpSync(f, join(d, cls, `${i}.png`)));
  }
  return d;
}

describe("eval's text output", () => {
  it("a class with no images reads –; the confusion matrix names its columns; columns line up", () => {
    const data = classFolders("three", { trouser: [sample("1_trouser.png"), sample("1_trouser.png")], dress: [sample("3_dress.png")], bag: [] });
    const r = vitlens(["eval", "--model", model, "--data", data]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /NaN/);
    assert.match(r.stdout, /^accuracy 100\.00% {2}top-5 100\.00% {2}loss \d\.\d{4} {2}\(3 images\)$/m);
    const table = r.stdout.split("\n");
    const perClass = table.slice(table.indexOf("per class (accuracy, images):") + 1, table.indexOf("per class (accuracy, images):") + 4);
    assert.deepEqual(perClass, ["  Trouser  100.00%  2", "  Dress    100.00%  1", "  Bag            –  0"]);
    const m = table.indexOf("confusion matrix (rows: true class, columns: predicted class):");
    assert.deepEqual(table.slice(m + 1, m + 5), [
      "  true \\ predicted  Trouser  Dress  Bag",
      "  Trouser                 2      0    0",
      "  Dress                   0      1    0",
      "  Bag                     0      0    0",
    ]);
  });

  it("one image is '1 image'; a model of 5 classes or fewer shows no top-5 (it would always be 100%)", () => {
    const data = classFolders("one", { cat: [join(root, "samples", "cat.jpg")] });
    const r = vitlens(["eval", "--model", fixture("hf-tiny"), "--data", data]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^accuracy [\d.]+% {2}loss \d\.\d{4} {2}\(1 image\)$/m);
    const p = vitlens(["predict", "--top-k", "9", "--model", fixture("hf-tiny"), join(root, "samples", "cat.jpg")]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout.trim().split("\n").length, 1 + 5, "five classes shown");
    assert.match(p.stderr, /note: --top-k 9: the model has 5 classes; showing 5/);
  });
});

describe("other tables and counts", () => {
  it("pointing's table is aligned; train says '1 epoch'", () => {
    const source = writeIdxPair(dir, "items", 10, 28, 28, (i) => i, (i, k) => ((k % 28) > 6 && (k % 28) < 22 && k > 150 && k < 650 ? 120 + 10 * i : 0));
    const objects = join(dir, "objects");
    assert.equal(vitlens(["data", "objects", "--source", source, "--out", objects, "--count", "4", "--size", "56"]).code, 0);
    const r = vitlens(["pointing", "--model", model, "--data", objects]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").slice(2);
    assert.equal(rows.length, 4);
    const ends = rows.map((l) => l.length);
    assert.ok(ends.every((e) => e === ends[0]), `percentages end in one column:\n${rows.join("\n")}`);
    assert.match(r.stdout, /^4 images, classification accuracy [\d.]+%$/m);

    const data = writeIdxPair(dir, "task", 12, 8, 8, (i) => i % 3, (i, k) => (i * 37 + k * 11) % 256);
    const t = vitlens(["train", "--model", "vit-ti16", "--patch-size", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2", "--mlp-size", "32",
      "--image-size", "8", "--data", data, "--val-split", "0", "--batch-size", "4", "--epochs", "1", "--out", join(dir, "run")]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr, /all layers trainable, 1 epoch, batch 4/);
  });
});
