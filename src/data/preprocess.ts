import { existsSync } from "node:fs";
import sharp from "sharp";
import { VitlensError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { PreprocessConfig } from "./preprocess-config.js";

const KERNELS = { nearest: "nearest", bilinear: "linear", bicubic: "cubic", lanczos: "lanczos3" } as const;

/**
 * One image file -> pixels (3, H, W) like HF's ViTImageProcessor: decode (JPEG, PNG, WebP,
 * ...), drop alpha, grayscale to RGB, resize to the model size, rescale, normalize.
 */
export async function loadImage(path: string, pre: PreprocessConfig): Promise<Tensor> {
  if (!existsSync(path)) throw new VitlensError(`${path}: no such image file`);
  const [height, width] = pre.size;
  let raw: Buffer;
  try {
    raw = await sharp(path)
      .removeAlpha()
      .toColourspace("srgb")
      .resize(width, height, { fit: "fill", kernel: KERNELS[pre.resample] })
      .raw()
      .toBuffer();
  } catch (e) {
    throw new VitlensError(`${path}: not a readable image (${(e as Error).message.split("\n")[0]})`);
  }
  if (raw.length !== height * width * 3) {
    throw new VitlensError(`${path}: decoded to ${raw.length} bytes, expected ${height}x${width}x3 RGB`);
  }
  return { data: hwcToNormalizedChw(raw, height, width, pre), shape: [3, height, width] };
}

/** uint8 (H, W, 3) -> float32 (3, H, W), (v * rescale - mean) / std per channel. */
export function hwcToNormalizedChw(raw: Uint8Array, height: number, width: number, pre: PreprocessConfig): Float32Array {
  const out = new Float32Array(3 * height * width);
  const plane = height * width;
  for (let c = 0; c < 3; c++) {
    // Same operation order as HF: rescale, then normalize.
    const mean = pre.mean[c];
    const std = pre.std[c];
    for (let i = 0; i < plane; i++) out[c * plane + i] = (raw[i * 3 + c] * pre.rescaleFactor - mean) / std;
  }
  return out;
}

/** Several images -> one batch (B, 3, H, W). */
export async function loadBatch(paths: string[], pre: PreprocessConfig): Promise<Tensor> {
  const images = await Promise.all(paths.map((p) => loadImage(p, pre)));
  const [, h, w] = images[0].shape;
  const data = new Float32Array(images.length * 3 * h * w);
  images.forEach((img, i) => data.set(img.data, i * img.data.length));
  return { data, shape: [images.length, 3, h, w] };
}
