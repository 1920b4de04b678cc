/**
 * GELU's tanh approximation (HF's "gelu_new", GPT-2's activation):
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Plain loops: it runs on the decoder's MLP
 * only, a small share of a caption's time.
 */
const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

export function geluTanhForward(x: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + Math.tanh(C * (v + A * v * v * v)));
  }
}

/** dx = dy * d/dx gelu_tanh(x); dx may be dy. */
export function geluTanhBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const t = Math.tanh(C * (v + A * v * v * v));
    const dt = (1 - t * t) * C * (1 + 3 * A * v * v);
    dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * dt);
  }
}
