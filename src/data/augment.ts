import type { Rng } from "../random.js";
import type { PreprocessConfig } from "./preprocess-config.js";
import type { RawImage } from "./raw-image.js";

export interface AugmentOptions {
  /** Random resized crop: area share in [minScale, 1], aspect ratio in [3/4, 4/3] (torchvision). */
  minScale: number;
  flip: boolean;
}

/** A crop box in source pixels (float). */
interface Box {
  y: number;
  x: number;
  h: number;
  w: number;
}

/** torchvision's RandomResizedCrop box: 10 tries at a random area and log-uniform ratio, else a centre crop. */
function randomBox(img: RawImage, minScale: number, rng: Rng): Box {
  const area = img.height * img.width;
  for (let i = 0; i < 10; i++) {
    const target = area * (minScale + (1 - minScale) * rng.next());
    const ratio = Math.exp(Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * rng.next());
    const w = Math.sqrt(target * ratio);
    const h = Math.sqrt(target / ratio);
    if (w <= img.width && h <= img.height) {
      return { y: rng.next() * (img.height - h), x: rng.next() * (img.width - w), h, w };
    }
  }
  return { y: 0, x: 0, h: img.height, w: img.width };
}

/**
 * RawImage -> normalized pixels (3, H, W) at the model size: bilinear sampling of `box`
 * (align_corners=False), optional horizontal flip, then rescale and normalize.
 */
function sample(img: RawImage, box: Box, flip: boolean, pre: PreprocessConfig, out: Float32Array): void {
  const [H, W] = pre.size;
  const sy = box.h / H;
  const sx = box.w / W;
  const plane = H * W;
  for (let oy = 0; oy < H; oy++) {
    const fy = Math.min(Math.max(box.y + (oy + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let ox = 0; ox < W; ox++) {
      const fx = Math.min(Math.max(box.x + (ox + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      const dst = oy * W + (flip ? W - 1 - ox : ox);
      for (let c = 0; c < 3; c++) {
        const v00 = img.data[(y0 * img.width + x0) * 3 + c];
        const v01 = img.data[(y0 * img.width + x1) * 3 + c];
        const v10 = img.data[(y1 * img.width + x0) * 3 + c];
        const v11 = img.data[(y1 * img.width + x1) * 3 + c];
        const v = (1 - wy) * ((1 - wx) * v00 + wx * v01) + wy * ((1 - wx) * v10 + wx * v11);
        out[c * plane + dst] = (v * pre.rescaleFactor - pre.mean[c]) / pre.std[c];
      }
    }
  }
}

/** Training view: random resized crop and flip (rng decides), resized to the model size. */
export function augmentedPixels(img: RawImage, pre: PreprocessConfig, opts: AugmentOptions, rng: Rng, out: Float32Array): void {
  const box = opts.minScale < 1 ? randomBox(img, opts.minScale, rng) : { y: 0, x: 0, h: img.height, w: img.width };
  sample(img, box, opts.flip && rng.next() < 0.5, pre, out);
}

/** Evaluation view: the whole image resized to the model size, no randomness. */
export function evalPixels(img: RawImage, pre: PreprocessConfig, out: Float32Array): void {
  sample(img, { y: 0, x: 0, h: img.height, w: img.width }, false, pre, out);
}
