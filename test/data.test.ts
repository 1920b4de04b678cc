// Datasets (class folders, <label>_ files, CSV, IDX), augmentation and the batch loader.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, it } from "node:test";
import sharp from "sharp";
import { augmentedPixels } from "../src/data/augment.js";
import { imagePixels } from "../src/data/preprocess.js";
import { openDataset } from "../src/data/datasets.js";
import { batches } from "../src/data/loader.js";
import { defaultPreprocess } from "../src/data/preprocess-config.js";
import { VitlensError } from "../src/errors.js";
import { Rng } from "../src/random.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-data-"));

async function png(path: string, value: number, size = 8) {
  await sharp(Buffer.alloc(size * size * 3, value), { raw: { width: size, height: size, channels: 3 } }).png().toFile(path);
}

/** An IDX file of `count` images (h x w) whose pixels all equal their index, and labels i % 3. */
function idx(name: string, count: number, h: number, w: number, gzip: boolean): string {
  const images = Buffer.alloc(16 + count * h * w);
  images.writeUInt32BE(0x803, 0);
  images.writeUInt32BE(count, 4);
  images.writeUInt32BE(h, 8);
  images.writeUInt32BE(w, 12);
  for (let i = 0; i < count; i++) images.fill(i, 16 + i * h * w, 16 + (i + 1) * h * w);
  const labels = Buffer.alloc(8 + count);
  labels.writeUInt32BE(0x801, 0);
  labels.writeUInt32BE(count, 4);
  for (let i = 0; i < count; i++) labels[8 + i] = i % 3;
  const ext = gzip ? ".gz" : "";
  const path = join(dir, `${name}-images-idx3-ubyte${ext}`);
  writeFileSync(path, gzip ? gzipSync(images) : images);
  writeFileSync(join(dir, `${name}-labels-idx1-ubyte${ext}`), gzip ? gzipSync(labels) : labels);
  return path;
}

describe("datasets", () => {
  it("class folders: sorted class names, labels by folder", async () => {
    const root = join(dir, "folders");
    for (const [cls, v] of [["dog", 10], ["cat", 200]] as const) {
      mkdirSync(join(root, cls), { recursive: true });
      await png(join(root, cls, "a.png"), v);
      await png(join(root, cls, "b.jpg"), v);
    }
    const ds = openDataset(root);
    assert.deepEqual(ds.classNames, ["cat", "dog"]);
    assert.deepEqual([...ds.labels], [0, 0, 1, 1]);
    assert.equal((await ds.raw(0)).data[0], 200);
  });

  it("a flat folder of <label>_<id> files (the seed assignment's layout)", async () => {
    const root = join(dir, "flat");
    mkdirSync(root, { recursive: true });
    await png(join(root, "2_0001.png"), 1);
    await png(join(root, "0_0002.png"), 2);
    const ds = openDataset(root);
    assert.deepEqual(ds.classNames, ["0", "1", "2"]);
    assert.deepEqual([...ds.labels], [0, 2]);
    await png(join(root, "cat.png"), 3);
    assert.throws(() => openDataset(root), /cat\.png has no "<label>_" prefix/);
  });

  it("a CSV of filename,label with a header, names or integers", async () => {
    const root = join(dir, "csv");
    mkdirSync(root, { recursive: true });
    await png(join(root, "x.png"), 5);
    await png(join(root, "y.png"), 6);
    writeFileSync(join(root, "labels.csv"), "filename,label\nx.png,shirt\ny.png,bag\n");
    const ds = openDataset(join(root, "labels.csv"));
    assert.deepEqual(ds.classNames, ["bag", "shirt"]);
    assert.deepEqual([...ds.labels], [1, 0]);
    assert.equal((await ds.raw(1)).data[0], 6);
    writeFileSync(join(root, "bad.csv"), "x.png\n");
    assert.throws(() => openDataset(join(root, "bad.csv")), /row 1 is not filename,label|not a valid CSV/);
  });

  it("IDX files, gzipped or not; grayscale fed as 3 equal channels", async () => {
    for (const gz of [false, true]) {
      const ds = openDataset(idx(gz ? "gz" : "plain", 5, 4, 3, gz));
      assert.equal(ds.size, 5);
      assert.deepEqual([...ds.labels], [0, 1, 2, 0, 1]);
      const img = await ds.raw(4);
      assert.equal(img.height, 4);
      assert.equal(img.width, 3);
      assert.ok(img.data.every((v) => v === 4));
    }
    const broken = join(dir, "broken-images-idx3-ubyte");
    writeFileSync(broken, Buffer.from([0, 0, 8, 3, 0, 0, 0, 9]));
    writeFileSync(join(dir, "broken-labels-idx1-ubyte"), Buffer.alloc(9));
    assert.throws(() => openDataset(broken), /IDX header is truncated/);
  });

  it("empty or missing data: a clear error", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty, { recursive: true });
    assert.throws(() => openDataset(empty), (e: unknown) => e instanceof VitlensError && /no images and no class folders/.test(e.message));
    assert.throws(() => openDataset(join(dir, "nowhere")), /no such file or directory/);
  });
});

describe("augmentation and loading", () => {
  const pre = defaultPreprocess([4, 4]);
  const img = { data: Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 7) % 256), height: 8, width: 8 };

  it("the eval view at the native size is the exact normalized image", async () => {
    const same = { data: img.data.subarray(0, 4 * 4 * 3), height: 4, width: 4 };
    const out = new Float32Array(48);
    await imagePixels(same, pre, {}, out);
    for (let i = 0; i < 16; i++) assert.ok(Math.abs(out[i] - (same.data[i * 3] / 255 - 0.5) / 0.5) < 1e-6);
  });

  it("random crops are reproducible from the seed and differ across seeds", async () => {
    const a = new Float32Array(48);
    const b = new Float32Array(48);
    const c = new Float32Array(48);
    await augmentedPixels(img, pre, { minScale: 0.3, flip: true }, new Rng(5), a);
    await augmentedPixels(img, pre, { minScale: 0.3, flip: true }, new Rng(5), b);
    await augmentedPixels(img, pre, { minScale: 0.3, flip: true }, new Rng(6), c);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it("skips a corrupt image with a warning, or fails when strict", async () => {
    const root = join(dir, "corrupt");
    mkdirSync(join(root, "a"), { recursive: true });
    await png(join(root, "a", "ok.png"), 9);
    writeFileSync(join(root, "a", "zbad.png"), "not a png");
    const ds = openDataset(root);
    const skipped: string[] = [];
    const opts = { batchSize: 4, preprocess: pre, augment: null, seed: 0, epoch: 0, strict: false, onSkip: (n: string) => skipped.push(n) };
    const got = [];
    for await (const b of batches(ds, [0, 1], opts)) got.push(b);
    assert.equal(got[0].labels.length, 1);
    assert.match(skipped[0], /zbad\.png$/);
    await assert.rejects(async () => {
      for await (const _ of batches(ds, [0, 1], { ...opts, strict: true })) void _;
    }, /zbad\.png: not a readable image/);
  });
});
