/** Bilinear upsampling of a (h, w) map to (H, W), align_corners=False (F.interpolate's default). */
export function upsampleBilinear(map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (h / H) - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (w / W) - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const wx = fx - x0;
      out[y * W + x] =
        (1 - wy) * ((1 - wx) * map[y0 * w + x0] + wx * map[y0 * w + x1]) + wy * ((1 - wx) * map[y1 * w + x0] + wx * map[y1 * w + x1]);
    }
  }
  return out;
}

/** Nearest upsampling of a (h, w) map to (H, W): each patch a solid block (DINO draws its masks so). */
export function upsampleNearest(map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(Math.floor((y * h) / H), h - 1);
    for (let x = 0; x < W; x++) out[y * W + x] = map[sy * w + Math.min(Math.floor((x * w) / W), w - 1)];
  }
  return out;
}
