/**
 * DETR's PositionEmbeddingSine(normalize=True, scale 2π, temperature 10000) of a feature grid,
 * honouring the padding mask: each unpadded cell's row (column) index is its count of unpadded
 * cells above (left of) it and itself, normalized by the column's (row's) count and scaled to 2π;
 * `feats` sine/cosine features per axis, y first then x. Float32 arithmetic as PyTorch's.
 *
 * Returns (B, gh*gw, 2*feats): token-major, the layout the transformer adds it to.
 */
export function sinePositionEncoding(mask: Uint8Array | null, B: number, gh: number, gw: number, feats: number, temperature = 10000): Float32Array {
  const f = Math.fround;
  const scale = f(2 * Math.PI);
  const eps = f(1e-6);
  // dim_t = temperature ** (2 * (i // 2) / feats)
  const dimT = Float32Array.from({ length: feats }, (_, i) => f(Math.pow(temperature, f(f(2 * Math.floor(i / 2)) / feats))));
  const N = gh * gw;
  const D = 2 * feats;
  const out = new Float32Array(B * N * D);
  const y = new Float32Array(N);
  const x = new Float32Array(N);
  for (let b = 0; b < B; b++) {
    const open = (r: number, c: number) => (mask && mask[b * N + r * gw + c] ? 0 : 1);
    for (let c = 0; c < gw; c++) for (let r = 0, sum = 0; r < gh; r++) y[r * gw + c] = sum += open(r, c); // cumsum down
    for (let r = 0; r < gh; r++) for (let c = 0, sum = 0; c < gw; c++) x[r * gw + c] = sum += open(r, c); // cumsum across
    for (let r = 0; r < gh; r++) {
      for (let c = 0; c < gw; c++) {
        const i = r * gw + c;
        const ye = f(f(y[i] / f(y[(gh - 1) * gw + c] + eps)) * scale);
        const xe = f(f(x[i] / f(x[r * gw + gw - 1] + eps)) * scale);
        const o = (b * N + i) * D;
        for (let k = 0; k < feats; k++) {
          // Even features: sin, odd: cos (stack of 0::2 sin and 1::2 cos, interleaved back by flatten).
          const py = f(ye / dimT[k]);
          const px = f(xe / dimT[k]);
          out[o + k] = k % 2 === 0 ? Math.sin(py) : Math.cos(py);
          out[o + feats + k] = k % 2 === 0 ? Math.sin(px) : Math.cos(px);
        }
      }
    }
  }
  return out;
}
