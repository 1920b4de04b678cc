/** How images become pixels for a model, like HF's ViTImageProcessor. */
export interface PreprocessConfig {
  size: [number, number]; // (height, width) after resize
  resample: "nearest" | "bilinear" | "bicubic" | "lanczos";
  rescaleFactor: number; // 1/255
  mean: [number, number, number];
  std: [number, number, number];
}

export function defaultPreprocess(size: [number, number]): PreprocessConfig {
  return { size, resample: "bilinear", rescaleFactor: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
}
