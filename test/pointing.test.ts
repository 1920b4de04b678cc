// The known-answer generator and the pointing-game scoring.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { openDataset } from "../src/data/datasets.js";
import { writeObjects } from "../src/data/objects.js";
import { pointingHit, randomPointingRate } from "../src/explain/pointing.js";
import { writeIdxPair } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-obj-"));

describe("pointing game", () => {
  it("hits when the arg-max patch centre is inside the box", () => {
    // 4x4 grid over a 32x32 image: patch (row 2, col 1) has centre (12, 20).
    const map = new Float32Array(16);
    map[2 * 4 + 1] = 1;
    assert.equal(pointingHit(map, 4, 4, [32, 32], [8, 16, 8, 8]), true);
    assert.equal(pointingHit(map, 4, 4, [32, 32], [16, 16, 8, 8]), false);
    assert.equal(randomPointingRate([0, 0, 16, 8], [32, 32]), 0.125);
  });

  it("the generator pastes each item inside the canvas at its recorded box, labelled by its class", async () => {
    // Source: 6 IDX items of 8x8, item i fully at value 200+i, label i % 3.
    const source = writeIdxPair(dir, "src", 6, 8, 8, (i) => i % 3, (i) => 200 + i);
    const out = join(dir, "objects");
    await writeObjects(openDataset(source), out, { count: 5, size: 24, distractors: 2, seed: 3 });
    const { canvas, boxes } = JSON.parse(readFileSync(join(out, "boxes.json"), "utf8"));
    assert.deepEqual(canvas, [24, 24]);
    for (const [file, [x, y, w, h]] of Object.entries(boxes) as Array<[string, number[]]>) {
      assert.ok(x >= 0 && y >= 0 && x + w <= 24 && y + h <= 24, `${file} box inside the canvas`);
      const { data, info } = await sharp(join(out, file)).raw().toBuffer({ resolveWithObject: true });
      const value = data[((y + 3) * 24 + x + 3) * info.channels];
      assert.ok(value >= 200, `${file}: the item is at its box`);
      assert.equal(Number(file.split("_")[0]), (value - 200) % 3, `${file}: labelled by the pasted item's class`);
    }
    assert.equal(openDataset(out).size, 5, "the folder reads back as a <label>_ dataset");
  });
});
