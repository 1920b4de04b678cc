import type { Tensor } from "../tensor.js";

/**
 * Resamples the patch part of a position embedding (1, prefix+gh*gw, D) to a new grid with
 * PyTorch's bicubic (A = -0.75, align_corners=False), as timm's resample_abs_pos_embed and
 * HF's interpolate_pos_encoding do. The `prefix` rows (CLS, distillation, registers) are kept as they are.
 */
export function resamplePosEmbed(pos: Tensor, from: [number, number], to: [number, number], prefix = 1): Tensor {
  const D = pos.shape[2];
  const [gh, gw] = from;
  const [nh, nw] = to;
  const out = new Float32Array((prefix + nh * nw) * D);
  out.set(pos.data.subarray(0, prefix * D)); // the prefix tokens' positions
  const grid = pos.data.subarray(prefix * D); // (gh*gw, D)
  // Separable: rows first into (nh, gw, D), then columns.
  const rowsDone = new Float32Array(nh * gw * D);
  const wy = bicubicWeights(gh, nh);
  for (let y = 0; y < nh; y++)
    for (let k = 0; k < 4; k++) {
      const [src, w] = wy[y][k];
      for (let x = 0; x < gw; x++) {
        const o = (y * gw + x) * D;
        const s = (src * gw + x) * D;
        for (let d = 0; d < D; d++) rowsDone[o + d] += w * grid[s + d];
      }
    }
  const wx = bicubicWeights(gw, nw);
  for (let y = 0; y < nh; y++)
    for (let x = 0; x < nw; x++)
      for (let k = 0; k < 4; k++) {
        const [src, w] = wx[x][k];
        const o = (prefix + y * nw + x) * D;
        const s = (y * gw + src) * D;
        for (let d = 0; d < D; d++) out[o + d] += w * rowsDone[s + d];
      }
  return { data: out, shape: [1, prefix + nh * nw, D] };
}

/** For each output index: four (source index, weight) taps, indices clamped to the input. */
function bicubicWeights(inSize: number, outSize: number): Array<Array<[number, number]>> {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  const scale = inSize / outSize;
  const taps: Array<Array<[number, number]>> = [];
  for (let i = 0; i < outSize; i++) {
    const real = scale * (i + 0.5) - 0.5;
    const base = Math.floor(real);
    const t = real - base;
    const weights = [far(t + 1), near(t), near(1 - t), far(2 - t)];
    taps.push(weights.map((w, k) => [Math.min(Math.max(base - 1 + k, 0), inSize - 1), w]));
  }
  return taps;
}
