import { existsSync } from "node:fs";
import sharp from "sharp";
import { VitlensError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { PreprocessConfig, ResizePolicy } from "./preprocess-config.js";
import { decodeRaw, type RawImage } from "./raw-image.js";

/*
 * The one image -> pixels path. Every command that feeds a model (predict, eval, train's
 * validation, attention, report, pointing, caption, the worker) goes through `imagePixels`;
 * training augmentation (augment.ts) crops first and then comes here too. Resizing is sharp's
 * (libvips), on the fully decoded image (no JPEG shrink-on-load), so it follows PIL's
 * antialiased resize as closely as sharp allows; test/preprocess.test.ts reports the remaining
 * difference against PIL.
 */

const KERNELS = { nearest: "nearest", bilinear: "linear", bicubic: "cubic", lanczos: "lanczos3" } as const;

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
  const src = view.source ?? { top: 0, left: 0, height: img.height, width: img.width };
  const plan = planResize(view.policy ?? pre.resize, src.height, src.width, pre.size);
  const [rh, rw] = plan.resizeTo;
  const [h, w] = plan.crop ? [plan.crop.height, plan.crop.width] : [rh, rw];
  let rgb: Uint8Array;
  const unchanged = !view.source && rh === img.height && rw === img.width && !plan.crop && !view.flip;
  if (unchanged) {
    rgb = img.data; // already the model size: no resampling at all (bit-exact pixels)
  } else {
    const resized = await resample(img, src, rh, rw, pre.resample);
    const needsCut = plan.crop || view.flip || resized.width !== rw || resized.data.length !== rh * rw * 3;
    rgb = needsCut ? cropAndFlip(resized.data, resized.width, plan.crop ?? { top: 0, left: 0, height: rh, width: rw }, view.flip ?? false) : resized.data;
  }
  if (rgb.length !== h * w * 3) throw new VitlensError(`resize produced ${rgb.length} bytes, expected ${h}x${w}x3 RGB`);
  const data = out ?? new Float32Array(3 * h * w);
  if (data.length !== 3 * h * w) throw new VitlensError(`pixels (3, ${h}, ${w}) do not fit a buffer of ${data.length}`);
  normalizeInto(rgb, h, w, pre, data);
  return { data, shape: [3, h, w] };
}

/**
 * The source box resampled to (rh, rw): RGB rows of `width` pixels whose top-left (rh, rw) is the
 * result. Shrinking: libvips' resize (antialiased, as PIL's). Enlarging: libvips' resize aligns
 * pixel corners where PIL aligns pixel centres (a half-pixel shift, up to 76 levels apart on a
 * 20 -> 28 digit), so an affine map with PIL's centre convention, out = s * (in + 0.5) - 0.5, is
 * used instead, on a copy padded with repeated edge pixels (the affine would blend the border
 * with black; PIL clamps its kernel to the image).
 */
async function resample(img: RawImage, src: CropBox, rh: number, rw: number, kernel: PreprocessConfig["resample"]): Promise<{ data: Uint8Array; width: number }> {
  const whole = src.top === 0 && src.left === 0 && src.height === img.height && src.width === img.width;
  const enlarge = rh >= src.height && rw >= src.width && (rh > src.height || rw > src.width) && kernel !== "lanczos";
  if (enlarge) {
    const pad = 2; // the bicubic kernel's support
    const padded = padEdges(img, src, pad);
    const [sy, sx] = [rh / src.height, rw / src.width];
    const interpolator = kernel === "nearest" ? "nearest" : kernel === "bicubic" ? "bicubic" : "bilinear";
    // With these offsets output pixel (0, 0) is the source's first centre-aligned sample (libvips starts the output at 0).
    const { data, info } = await sharp(padded.data, { raw: { width: padded.width, height: padded.height, channels: 3 } })
      .affine([[sx, 0], [0, sy]], { interpolator, odx: (sx - 1) / 2 - sx * pad, ody: (sy - 1) / 2 - sy * pad })
      .raw().toBuffer({ resolveWithObject: true });
    if (info.height < rh || info.width < rw) throw new VitlensError(`resize produced ${info.height}x${info.width}, expected ${rh}x${rw}`);
    return { data, width: info.width };
  }
  let pipeline = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (!whole) pipeline = pipeline.extract({ top: src.top, left: src.left, width: src.width, height: src.height });
  if (rh !== src.height || rw !== src.width) pipeline = pipeline.resize(rw, rh, { fit: "fill", kernel: KERNELS[kernel] });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.height !== rh || info.width !== rw) throw new VitlensError(`resize produced ${info.height}x${info.width}, expected ${rh}x${rw}`);
  return { data, width: info.width };
}

/** The source box with `pad` repeated edge pixels on every side: (h + 2 pad, w + 2 pad, 3). */
function padEdges(img: RawImage, src: CropBox, pad: number): RawImage {
  const [height, width] = [src.height + 2 * pad, src.width + 2 * pad];
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const sy = src.top + Math.min(Math.max(y - pad, 0), src.height - 1);
    for (let x = 0; x < width; x++) {
      const sx = src.left + Math.min(Math.max(x - pad, 0), src.width - 1);
      data.set(img.data.subarray((sy * img.width + sx) * 3, (sy * img.width + sx) * 3 + 3), (y * width + x) * 3);
    }
  }
  return { data, height, width };
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
  if (!existsSync(path)) throw new VitlensError(`${path}: no such image file`);
  return imagePixels(await decodeRaw(path), pre);
}

/** Several images -> one batch (B, 3, H, W); they must come out the same size (not so under a "longer" policy). */
export async function loadBatch(paths: string[], pre: PreprocessConfig): Promise<Tensor> {
  const images = await Promise.all(paths.map((p) => loadImage(p, pre)));
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
