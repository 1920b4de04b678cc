/**
 * How a decoded image is brought to the model's input, for the checkpoints vitlens reads:
 * - "exact": straight to (height, width) (HF ViTImageProcessor, timm with crop_pct 1)
 * - "shorter-then-crop": shorter side to round(side / cropPct), then a centre crop of (height, width)
 *   (timm's crop_pct, torchvision's 256 -> 224)
 * - "longer": long side to `longest`, aspect kept, short side rounded down (CATR: 299); the
 *   pixels then vary in size per image.
 */
export type ResizePolicy =
  | { kind: "exact" }
  | { kind: "shorter-then-crop"; cropPct: number }
  | { kind: "longer"; longest: number };

/** How images become pixels for a model, like HF's ViTImageProcessor. */
export interface PreprocessConfig {
  size: [number, number]; // (height, width) of the model input
  resize: ResizePolicy;
  resample: "nearest" | "bilinear" | "bicubic" | "lanczos";
  rescaleFactor: number; // 1/255
  mean: [number, number, number];
  std: [number, number, number];
  /** where each setting came from (config / family convention / flag / default), for `inspect` */
  origin?: PreprocessOrigin;
}

export interface PreprocessOrigin {
  size: string;
  resize: string;
  resample: string;
  normalize: string;
}

/** One line per setting, as `inspect` prints them. */
export function describePreprocess(p: PreprocessConfig): string[] {
  const o = p.origin ?? { size: "default", resize: "default", resample: "default", normalize: "default" };
  const resize = p.resize.kind === "exact" ? "straight to the input size"
    : p.resize.kind === "shorter-then-crop" ? `shorter side to size / ${p.resize.cropPct}, then a centre crop`
      : `longer side to ${p.resize.longest}, aspect kept`;
  const f = (v: number[]) => `[${v.map((x) => +x.toFixed(4)).join(", ")}]`;
  return [
    `  size          ${p.size[0]}x${p.size[1]}  (${o.size})`,
    `  resize        ${resize}  (${o.resize})`,
    `  interpolation ${p.resample}  (${o.resample})`,
    `  rescale       ${p.rescaleFactor === 1 / 255 ? "1/255" : p.rescaleFactor}, mean ${f(p.mean)}, std ${f(p.std)}  (${o.normalize})`,
  ];
}

export function defaultPreprocess(size: [number, number]): PreprocessConfig {
  return {
    size, resize: { kind: "exact" }, resample: "bilinear", rescaleFactor: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
    origin: { size: "the model's config", resize: "default", resample: "default", normalize: "default: mean = std = 0.5, ViT's [-1, 1] inputs" },
  };
}
