/**
 * The L2 norm of every token of one image in a (B*N, D) stream: (N). Darcet et al. ("Vision
 * Transformers Need Registers", 2024) find a few patch tokens with norms far above the rest in
 * large ViTs without registers — the artifacts that show in their attention maps.
 */
export function tokenNorms(stream: Float32Array, N: number, D: number, image: number): Float32Array {
  const out = new Float32Array(N);
  for (let t = 0; t < N; t++) {
    let s = 0;
    const base = (image * N + t) * D;
    for (let d = 0; d < D; d++) s += stream[base + d] ** 2;
    out[t] = Math.sqrt(s);
  }
  return out;
}
