// The report's validation gallery: right and wrong examples across the classes (issue 10: a
// validation set sorted by class gave twelve images, all of class 0).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { collectReport, pickGallery } from "../src/report/collect.js";
import { root, writeIdxPair } from "./helpers.js";

describe("report gallery", () => {
  it("takes the classes in turn, a right and a wrong one each, in dataset order", () => {
    const labels = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3];
    const predicted = new Map([[0, 0], [1, 2], [2, 0], [3, 1], [4, 1], [5, 1], [6, 1], [7, 0], [8, 0]]); // 9 not evaluated
    assert.deepEqual(pickGallery(labels, predicted, 5), [0, 1, 4, 7, 2]);
    assert.deepEqual(pickGallery(labels, predicted, 100), [0, 1, 4, 7, 2, 3, 5, 8, 6]);
    assert.deepEqual(pickGallery(labels, predicted, 0), []);
  });

  it("a run validated on data sorted by class shows every class, right and wrong where both exist", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vitlens-gallery-"));
    // 4 classes, 10 images each, sorted by class. Classes 2 and 3 share their images, so one of
    // them is always mispredicted; classes 0 and 1 are stripes the model can tell apart.
    const pixel = (i: number, k: number) => {
      const c = Math.floor(i / 10) % 4;
      return c === 0 ? ((k >> 3) % 2) * 200 : c === 1 ? ((k % 8) % 2) * 200 : 60 + ((i % 10) * 7 + k) % 50;
    };
    const write = (name: string) => writeIdxPair(dir, name, 40, 8, 8, (i) => Math.floor(i / 10), pixel);
    const run = join(dir, "run");
    const t = spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), "train", "--model", "vit-ti16", "--patch-size", "4", "--hidden-size", "16",
      "--layers", "1", "--heads", "2", "--mlp-size", "32", "--image-size", "8", "--data", write("train"), "--val", write("val"),
      "--optimizer", "adamw", "--lr", "0.005", "--epochs", "2", "--batch-size", "8", "--no-augment", "--out", run], { encoding: "utf8" });
    assert.equal(t.status, 0, t.stderr);

    const report = await collectReport(run, jsBackend, 6);
    const confusion = report.evaluation!.confusion;
    const classOf = (label: string) => report.classNames.indexOf(label);
    assert.equal(report.gallery.length, 12);
    for (let c = 0; c < 4; c++) {
      const shown = report.gallery.filter((g) => classOf(g.label) === c);
      const [right, wrong] = [confusion[c][c], confusion[c].reduce((a, b) => a + b, 0) - confusion[c][c]];
      assert.equal(shown.some((g) => g.correct), right > 0, `class ${c}: a right example iff it has one (${right})`);
      assert.equal(shown.some((g) => !g.correct), wrong > 0, `class ${c}: a wrong example iff it has one (${wrong})`);
    }
    assert.ok(report.gallery.some((g) => g.correct) && report.gallery.some((g) => !g.correct), "this data gives both right and wrong predictions");
    assert.ok(report.gallery.every((g) => g.correct === (g.label === g.predicted)));
  });
});
