import type { Tensor } from "../tensor.js";

/** How the patch grid's position embeddings are resized: torch's bicubic, without or with antialias. */
export type PosEmbedResample = "bicubic" | "bicubic-antialias";

/**
 * Resamples the patch part of a position embedding (1, prefix+gh*gw, D) to a new grid as
 * `F.interpolate(mode="bicubic", align_corners=False)` does: plain (A = -0.75, four taps: HF ViT,
 * DeiT, DINOv2, CLIP) or with `antialias=True` (A = -0.5, the kernel widened by the shrink factor
 * and normalised, PIL's scheme: timm's resample_abs_pos_embed, HF DINOv2 with registers). The
 * `prefix` rows (CLS, distillation, registers) are kept as they are. `scale` overrides the
 * source-per-output step (torch's scale_factor path uses 1 / scale_factor, not in / out).
 */
export function resamplePosEmbed(
  pos: Tensor, from: [number, number], to: [number, number], prefix = 1, mode: PosEmbedResample = "bicubic", scale?: [number, number],
): Tensor {
  const D = pos.shape[2];
  const [gh, gw] = from;
  const [nh, nw] = to;
  const taps = mode === "bicubic" ? bicubicTaps : antialiasTaps;
  const out = new Float32Array((prefix + nh * nw) * D);
  out.set(pos.data.subarray(0, prefix * D)); // the prefix tokens' positions
  const grid = pos.data.subarray(prefix * D); // (gh*gw, D)
  // Separable: rows first into (nh, gw, D), then columns.
  const rowsDone = new Float32Array(nh * gw * D);
  const wy = taps(gh, nh, scale?.[0]);
  for (let y = 0; y < nh; y++)
    for (const [src, w] of wy[y]) {
      for (let x = 0; x < gw; x++) {
        const o = (y * gw + x) * D;
        const s = (src * gw + x) * D;
        for (let d = 0; d < D; d++) rowsDone[o + d] += w * grid[s + d];
      }
    }
  const wx = taps(gw, nw, scale?.[1]);
  for (let y = 0; y < nh; y++)
    for (let x = 0; x < nw; x++)
      for (const [src, w] of wx[x]) {
        const o = (prefix + y * nw + x) * D;
        const s = (y * gw + src) * D;
        for (let d = 0; d < D; d++) out[o + d] += w * rowsDone[s + d];
      }
  return { data: out, shape: [1, prefix + nh * nw, D] };
}

type Taps = Array<Array<[number, number]>>; // per output index: (source index, weight) pairs

/** torch's upsample_bicubic2d: four taps, A = -0.75, indices clamped to the input. */
function bicubicTaps(inSize: number, outSize: number, scale = inSize / outSize): Taps {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  const taps: Taps = [];
  for (let i = 0; i < outSize; i++) {
    const real = scale * (i + 0.5) - 0.5;
    const base = Math.floor(real);
    const t = real - base;
    const weights = [far(t + 1), near(t), near(1 - t), far(2 - t)];
    taps.push(weights.map((w, k) => [Math.min(Math.max(base - 1 + k, 0), inSize - 1), w]));
  }
  return taps;
}

/** torch's _upsample_bicubic2d_aa (_compute_indices_weights_aa): A = -0.5, support 2 x max(scale, 1), weights normalised. */
function antialiasTaps(inSize: number, outSize: number, scale = inSize / outSize): Taps {
  const A = -0.5;
  const cubic = (x: number) => {
    const t = Math.abs(x);
    if (t < 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * A;
    return 0;
  };
  const support = scale >= 1 ? 2 * scale : 2;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const taps: Taps = [];
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    const w = Array.from({ length: n }, (_, j) => cubic((j + lo - center + 0.5) * invscale));
    const total = w.reduce((a, b) => a + b, 0);
    taps.push(w.map((v, j) => [lo + j, total !== 0 ? v / total : v]));
  }
  return taps;
}
