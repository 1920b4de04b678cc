import { existsSync } from "node:fs";
import { VitlensError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { PreprocessConfig, ResizePolicy } from "./preprocess-config.js";
import { decodeRaw, UnreadableImageError, type RawImage } from "./raw-image.js";
import { resizeLikePil } from "./resample.js";

/*
 * The one image -> pixels path. Every command that feeds a model (predict, eval, train's
 * validation, attention, report, pointing, caption, the worker) goes through `imagePixels`;
 * training augmentation (augment.ts) crops first and then comes here too. Decoding is sharp's;
 * resizing is Pillow's algorithm (resample.ts), since the Python tools vitlens is checked
 * against resize with Pillow; test/pixel-path.test.ts compares with PIL on real photos.
 */

/** A crop in integer source pixels. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** What `policy` does to a (height, width) image: resize to `resizeTo`, then take `crop` of it (or all). */
export interface ResizePlan {
  resizeTo: [number, number];
  crop: CropBox | null;
}

/** Python's round(): halves to even (torchvision's CenterCrop offsets use it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function planResize(policy: ResizePolicy, height: number, width: number, size: [number, number]): ResizePlan {
  const [H, W] = size;
  switch (policy.kind) {
    case "exact":
      return { resizeTo: [H, W], crop: null };
    case "shorter-then-crop": {
      // timm: scale = floor(size / crop_pct) on the shorter side; torchvision Resize(int): the long
      // side is int(scale * long / short). A non-square target scales so both sides cover it.
      const [th, tw] = [Math.floor(H / policy.cropPct + 1e-9), Math.floor(W / policy.cropPct + 1e-9)];
      let resizeTo: [number, number];
      if (th === tw) {
        resizeTo = height <= width ? [th, Math.trunc((th * width) / height)] : [Math.trunc((th * height) / width), th];
      } else {
        const s = Math.max(th / height, tw / width);
        resizeTo = [Math.max(th, Math.round(height * s)), Math.max(tw, Math.round(width * s))];
      }
      // torchvision CenterCrop: offsets int(round((in - out) / 2)).
      const top = roundHalfEven((resizeTo[0] - H) / 2);
      const left = roundHalfEven((resizeTo[1] - W) / 2);
      return { resizeTo, crop: { top, left, height: H, width: W } };
    }
    case "hf": {
      // transformers' get_resize_output_image_size: the short side to N, the long one int(N * long / short)
      let resizeTo: [number, number];
      if (Array.isArray(policy.resize)) resizeTo = policy.resize;
      else {
        const n = policy.resize.shortestEdge;
        resizeTo = height <= width ? [n, Math.trunc((n * width) / height)] : [Math.trunc((n * height) / width), n];
      }
      if (!policy.crop) return { resizeTo, crop: null };
      if (resizeTo[0] < H || resizeTo[1] < W) {
        throw new VitlensError(`a ${height}x${width} image resized to ${resizeTo.join("x")} is smaller than the ${H}x${W} centre crop`);
      }
      // image_transforms.center_crop: top = (in - out) // 2
      return { resizeTo, crop: { top: Math.floor((resizeTo[0] - H) / 2), left: Math.floor((resizeTo[1] - W) / 2), height: H, width: W } };
    }
    case "longer": {
      // CATR's under_max: scale = N / long side, new shape = (shape * scale).astype(int).
      const scale = policy.longest / Math.max(height, width);
      return { resizeTo: [Math.trunc(height * scale), Math.trunc(width * scale)], crop: null };
    }
  }
}

export interface PixelView {
  /** Cut this box out of the source first (training crops). */
  source?: CropBox;
  /** Resize policy for what remains (default: the preprocessor's). */
  policy?: ResizePolicy;
  flip?: boolean;
}

/**
 * RawImage -> normalized float pixels (3, h, w): optional source crop, resize by the policy with
 * the checkpoint's interpolation, optional centre crop, optional horizontal flip, rescale, normalize.
 * `out`, when given, receives the pixels (its length must match).
 */
export async function imagePixels(img: RawImage, pre: PreprocessConfig, view: PixelView = {}, out?: Float32Array): Promise<Tensor> {
  return pixelsSync(img, pre, view, out);
}

/** `imagePixels` without the promise: all of it is synchronous JS once the image is decoded. */
export function pixelsSync(img: RawImage, pre: PreprocessConfig, view: PixelView = {}, out?: Float32Array): Tensor {
  const src = view.source ? cropRaw(img, view.source) : img;
  const plan = planResize(view.policy ?? pre.resize, src.height, src.width, pre.size);
  const resized = resizeLikePil(src, plan.resizeTo[0], plan.resizeTo[1], pre.resample);
  const box = plan.crop ?? { top: 0, left: 0, height: resized.height, width: resized.width };
  const rgb = plan.crop || view.flip ? cropAndFlip(resized.data, resized.width, box, view.flip ?? false) : resized.data;
  const [h, w] = [box.height, box.width];
  const data = out ?? new Float32Array(3 * h * w);
  if (data.length !== 3 * h * w) throw new VitlensError(`pixels (3, ${h}, ${w}) do not fit a buffer of ${data.length}`);
  normalizeInto(rgb, h, w, pre, data);
  return { data, shape: [3, h, w] };
}

/** The box of an image as an image of its own. */
function cropRaw(img: RawImage, box: CropBox): RawImage {
  if (box.top === 0 && box.left === 0 && box.height === img.height && box.width === img.width) return img;
  return { data: cropAndFlip(img.data, img.width, box, false), height: box.height, width: box.width };
}

/** Rows of `rowWidth` RGB pixels -> the box of them, mirrored left-right when `flip`. Done in JS: exact, no resampling. */
function cropAndFlip(buf: Uint8Array, rowWidth: number, box: CropBox, flip: boolean): Uint8Array {
  const out = new Uint8Array(box.height * box.width * 3);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const sx = box.left + (flip ? box.width - 1 - x : x);
      const s = ((box.top + y) * rowWidth + sx) * 3;
      const d = (y * box.width + x) * 3;
      out[d] = buf[s];
      out[d + 1] = buf[s + 1];
      out[d + 2] = buf[s + 2];
    }
  }
  return out;
}

/** uint8 (H, W, 3) -> float32 (3, H, W), (v * rescale - mean) / std per channel, HF's operation order. */
export function normalizeInto(rgb: Uint8Array, height: number, width: number, pre: PreprocessConfig, out: Float32Array): void {
  const plane = height * width;
  for (let c = 0; c < 3; c++) {
    const mean = pre.mean[c];
    const std = pre.std[c];
    for (let i = 0; i < plane; i++) out[c * plane + i] = (rgb[i * 3 + c] * pre.rescaleFactor - mean) / std;
  }
}

/** One image file -> pixels (3, H, W): decode (JPEG, PNG, WebP, ...; alpha dropped, gray to RGB), then `imagePixels`. */
export async function loadImage(path: string, pre: PreprocessConfig): Promise<Tensor> {
  if (!existsSync(path)) throw new UnreadableImageError(path, "no such file");
  return imagePixels(await decodeRaw(path), pre);
}

/** Several images -> one batch (B, 3, H, W); they must come out the same size (not so under a "longer" policy). */
export async function loadBatch(paths: string[], pre: PreprocessConfig): Promise<Tensor> {
  return stackImages(paths, await Promise.all(paths.map((p) => loadImage(p, pre))));
}

/** Images (3, H, W) of `paths` -> one batch (B, 3, H, W). */
export function stackImages(paths: string[], images: Tensor[]): Tensor {
  const [, h, w] = images[0].shape;
  const data = new Float32Array(images.length * 3 * h * w);
  images.forEach((img, i) => {
    if (img.shape[1] !== h || img.shape[2] !== w) {
      throw new VitlensError(`${paths[i]}: pixels ${img.shape[1]}x${img.shape[2]} differ from ${paths[0]}'s ${h}x${w}; caption or predict them one at a time`);
    }
    data.set(img.data, i * img.data.length);
  });
  return { data, shape: [images.length, 3, h, w] };
}
