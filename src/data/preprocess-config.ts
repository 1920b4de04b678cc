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
}

export function defaultPreprocess(size: [number, number]): PreprocessConfig {
  return { size, resize: { kind: "exact" }, resample: "bilinear", rescaleFactor: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
}
