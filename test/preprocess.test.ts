// Image decoding and preprocessing like HF's ViTImageProcessor.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { loadImage } from "../src/data/preprocess.js";
import { defaultPreprocess } from "../src/data/preprocess-config.js";
import { VitlensError } from "../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-img-"));
const pre = defaultPreprocess([4, 6]);

async function save(name: string, raw: Buffer, w: number, h: number, channels: 1 | 2 | 3 | 4, format: "png" | "jpeg" | "webp") {
  const path = join(dir, name);
  const img = sharp(raw, { raw: { width: w, height: h, channels } });
  await (format === "png" ? img.png() : format === "jpeg" ? img.jpeg({ quality: 100 }) : img.webp({ lossless: true })).toFile(path);
  return path;
}

describe("preprocessing", () => {
  it("rescales and normalizes an RGB PNG at the model size exactly: (v/255 - 0.5)/0.5, channels first", async () => {
    const raw = Buffer.alloc(6 * 4 * 3);
    for (let i = 0; i < 24; i++) raw.set([i * 10, 255 - i * 10, 128], i * 3);
    const t = await loadImage(await save("rgb.png", raw, 6, 4, 3, "png"), pre);
    assert.deepEqual(t.shape, [3, 4, 6]);
    for (let i = 0; i < 24; i++) {
      assert.ok(Math.abs(t.data[i] - ((i * 10) / 255 - 0.5) / 0.5) < 1e-6);
      assert.ok(Math.abs(t.data[24 + i] - ((255 - i * 10) / 255 - 0.5) / 0.5) < 1e-6);
      assert.ok(Math.abs(t.data[48 + i] - (128 / 255 - 0.5) / 0.5) < 1e-6);
    }
  });

  it("feeds grayscale as three equal channels and drops alpha", async () => {
    const gray = Buffer.from(Array.from({ length: 24 }, (_, i) => i * 10));
    const g = await loadImage(await save("gray.png", gray, 6, 4, 1, "png"), pre);
    assert.deepEqual(g.shape, [3, 4, 6]);
    assert.deepEqual(g.data.subarray(0, 24), g.data.subarray(24, 48));
    assert.deepEqual(g.data.subarray(0, 24), g.data.subarray(48, 72));
    const rgba = Buffer.alloc(24 * 4);
    for (let i = 0; i < 24; i++) rgba.set([200, 100, 50, i * 10], i * 4);
    const a = await loadImage(await save("alpha.png", rgba, 6, 4, 4, "png"), pre);
    assert.ok(Math.abs(a.data[0] - (200 / 255 - 0.5) / 0.5) < 1e-6, "alpha dropped, colour kept (as PIL's convert('RGB'))");
  });

  it("decodes JPEG and WebP and resizes to the model size", async () => {
    const raw = Buffer.alloc(40 * 30 * 3, 90);
    for (const format of ["jpeg", "webp"] as const) {
      const t = await loadImage(await save(`big.${format}`, raw, 40, 30, 3, format), pre);
      assert.deepEqual(t.shape, [3, 4, 6]);
      assert.ok(t.data.every((v) => Math.abs(v - (90 / 255 - 0.5) / 0.5) < 0.02), `${format} flat colour survives`);
    }
  });

  it("names the file when it is missing or not an image", async () => {
    const text = join(dir, "notes.png");
    writeFileSync(text, "this is not a picture");
    await assert.rejects(loadImage(text, pre), (e: unknown) => e instanceof VitlensError && e.message.startsWith(`${text}: not a readable image`));
    await assert.rejects(loadImage(join(dir, "missing.jpg"), pre), /missing\.jpg: not a readable image \(no such file\)/);
  });
});
