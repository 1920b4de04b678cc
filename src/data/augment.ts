import type { Rng } from "../random.js";
import { imagePixels, type CropBox } from "./preprocess.js";
import type { PreprocessConfig } from "./preprocess-config.js";
import type { RawImage } from "./raw-image.js";

export interface AugmentOptions {
  /** Random resized crop: area share in [minScale, 1], aspect ratio in [3/4, 4/3] (torchvision). */
  minScale: number;
  flip: boolean;
}

const [MIN_RATIO, MAX_RATIO] = [3 / 4, 4 / 3];

/**
 * torchvision's RandomResizedCrop.get_params: 10 tries at a random area and log-uniform aspect
 * ratio, rounded to whole pixels; else a centre crop clamped to the ratio range.
 */
export function randomCropBox(height: number, width: number, minScale: number, rng: Rng): CropBox {
  const area = height * width;
  for (let i = 0; i < 10; i++) {
    const target = area * (minScale + (1 - minScale) * rng.next());
    const ratio = Math.exp(Math.log(MIN_RATIO) + (Math.log(MAX_RATIO) - Math.log(MIN_RATIO)) * rng.next());
    const w = Math.round(Math.sqrt(target * ratio));
    const h = Math.round(Math.sqrt(target / ratio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = Math.floor(rng.next() * (height - h + 1));
      const left = Math.floor(rng.next() * (width - w + 1));
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  const [h, w] = inRatio < MIN_RATIO ? [Math.round(width / MIN_RATIO), width] : inRatio > MAX_RATIO ? [height, Math.round(height * MAX_RATIO)] : [height, width];
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * Training view: a random resized crop and a flip (rng decides), resized straight to the model
 * size by the same path as inference (the crop replaces the preprocessor's resize policy).
 */
export async function augmentedPixels(img: RawImage, pre: PreprocessConfig, opts: AugmentOptions, rng: Rng, out: Float32Array): Promise<void> {
  const source = opts.minScale < 1 ? randomCropBox(img.height, img.width, opts.minScale, rng) : undefined;
  const flip = opts.flip && rng.next() < 0.5;
  await imagePixels(img, pre, { source, policy: { kind: "exact" }, flip }, out);
}
