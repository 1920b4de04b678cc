/**
 * How a decoded image is brought to the model's input, for the checkpoints vitlens reads:
 * - "exact": straight to (height, width) (HF ViTImageProcessor, timm with crop_pct 1)
 * - "shorter-then-crop": shorter side to round(side / cropPct), then a centre crop of (height, width)
 *   (timm's crop_pct, torchvision's 256 -> 224)
 * - "longer": long side to `longest`, aspect kept, short side rounded down (CATR: 299); the
 *   pixels then vary in size per image.
 * - "hf": as HF's PIL image processors: resize to (height, width) or the shortest edge to N (the
 *   long side truncated by int()), then a centre crop of `size` at offsets (in - out) // 2 when
 *   the processor crops (DeiT 256 -> 224, CLIP, DINOv2's BitImageProcessor).
 */
export type ResizePolicy =
  | { kind: "exact" }
  | { kind: "shorter-then-crop"; cropPct: number }
  | { kind: "longer"; longest: number }
  | { kind: "hf"; resize: [number, number] | { shortestEdge: number }; crop: boolean };

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
  const resize = describeResize(p.resize);
  const f = (v: number[]) => `[${v.map((x) => +x.toFixed(4)).join(", ")}]`;
  return [
    `  size          ${p.size[0]}x${p.size[1]}  (${o.size})`,
    `  resize        ${resize}  (${o.resize})`,
    `  interpolation ${p.resample}  (${o.resample})`,
    `  rescale       ${p.rescaleFactor === 1 / 255 ? "1/255" : p.rescaleFactor}, mean ${f(p.mean)}, std ${f(p.std)}  (${o.normalize})`,
  ];
}

function describeResize(r: ResizePolicy): string {
  switch (r.kind) {
    case "exact": return "straight to the input size";
    case "shorter-then-crop": return `shorter side to size / ${r.cropPct}, then a centre crop`;
    case "longer": return `longer side to ${r.longest}, aspect kept`;
    case "hf": return `${Array.isArray(r.resize) ? `to ${r.resize[0]}x${r.resize[1]}` : `shortest edge to ${r.resize.shortestEdge}`}${r.crop ? ", then a centre crop" : ""}`;
  }
}

export function defaultPreprocess(size: [number, number]): PreprocessConfig {
  return {
    size, resize: { kind: "exact" }, resample: "bilinear", rescaleFactor: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
    origin: { size: "the model's config", resize: "default", resample: "default", normalize: "default: mean = std = 0.5, ViT's [-1, 1] inputs" },
  };
}
