/**
 * The compute interface every layer runs on: flat functions over Float32Array views,
 * row-major, shapes passed as integers. `native` (C++/oneDNN/OpenMP) and `js` (reference)
 * implement it one to one, so tests can compare them on the same inputs.
 *
 * Convention: activation outputs are overwritten; parameter gradients (layernorm dweight and
 * dbias, `sumRows` with accumulate, `matmul` with accumulate) are added to.
 */
/**
 * A matrix product's shape: C (M,N) = op(A) @ op(B), A stored (M,K) or (K,M) when transA,
 * B stored (K,N) or (N,K) when transB; with `accumulate`, C += the product (a residual, a gradient).
 */
export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  /**
   * bf16 operands: A and B rounded to bf16 (nearest even), products accumulated and written in
   * f32. Native runs it on oneDNN's bf16 kernels (only where the CPU has avx512_core_bf16 / AMX,
   * else it throws); js rounds copies of the operands (the emulation). See precision.ts.
   */
  bf16?: boolean;
}

/** One product with an optional bias row (N) added to every row of C. */
export interface Product extends MatmulShape {
  bias?: Float32Array | null;
  /** GELU (erf) of the result, bias included, as the product's post-op (not with accumulate). */
  gelu?: boolean;
  /** max(0, result), bias included, as the product's post-op (not with accumulate). */
  relu?: boolean;
}

/** `batch` independent products on contiguous blocks, each scaled by alpha (1 when omitted). */
export interface BatchProduct extends MatmulShape {
  batch: number;
  alpha?: number;
}

export interface SgdStep {
  n: number;
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  /** The momentum buffer's first step: it starts as the gradient (PyTorch). */
  first: boolean;
}

export interface AdamwStep {
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The optimizer's step count, from 1 (bias correction). */
  t: number;
}

/**
 * A 2-D convolution over NCHW activations with PyTorch's (out, in, k, k) weights (square kernels):
 * out (B, outChannels, oh, ow) = [relu]([out +] conv(x) [+ bias]); with `accumulate`, `out` holds
 * a residual that is added before the ReLU (oneDNN's sum then ReLU post-ops). Inference only.
 */
export interface Conv2d {
  batch: number;
  inChannels: number;
  height: number;
  width: number;
  outChannels: number;
  kernel: number;
  stride?: number; // 1 when omitted
  padding?: number; // 0
  dilation?: number; // 1 (PyTorch's convention: 1 is a plain convolution)
  bias?: Float32Array | null;
  accumulate?: boolean;
  relu?: boolean;
}

/** Max pooling over NCHW activations (padding counts as -infinity, as in PyTorch). */
export interface MaxPool2d {
  batch: number;
  channels: number;
  height: number;
  width: number;
  kernel: number;
  stride: number;
  padding: number;
}

/**
 * One step of a fixed convolutional network: its input and residual are earlier steps' outputs
 * by index (-1: the network's input); the network's output is the last step's.
 */
export type ConvStep =
  | {
      kind: "conv"; input: number; residual?: number; weight: Float32Array; bias: Float32Array | null;
      inChannels: number; outChannels: number; kernel: number; stride: number; padding: number; dilation: number; relu: boolean;
    }
  | { kind: "maxpool"; input: number; kernel: number; stride: number; padding: number };

/** A prepared network: weights laid out once; forward maps (B, C, H, W) NCHW to the last step's NCHW output. */
export interface ConvNet {
  /** out must hold convNetOutputShape(...)'s elements. */
  forward(x: Float32Array, out: Float32Array, b: number, h: number, w: number): void;
}

export interface Backend {
  readonly name: "native" | "js";
  /** The products' precision when wrapped by `withPrecision` (precision.ts); fp32 when absent. */
  readonly precision?: "fp32" | "bf16" | "bf16-emulated";

  /** C (M,N) = op(A) @ op(B) [+ bias (N)] [+ C if accumulate]. */
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, p: Product): void;
  /** C[i] (M,N) = alpha * op(A[i]) @ op(B[i]) [+ C[i] if accumulate], i < batch, batches contiguous. */
  batchMatmul(a: Float32Array, b: Float32Array, c: Float32Array, p: BatchProduct): void;

  /** out = (x - mean) * rstd * weight + bias over rows of `dim`; writes mean and rstd (rows). */
  layernormForward(
    x: Float32Array, weight: Float32Array, bias: Float32Array, out: Float32Array,
    mean: Float32Array, rstd: Float32Array, rows: number, dim: number, eps: number,
  ): void;
  /** dx = dL/dx (overwritten); dweight += sum(dout * xhat); dbias += sum(dout). */
  layernormBackward(
    dout: Float32Array, x: Float32Array, mean: Float32Array, rstd: Float32Array, weight: Float32Array,
    dx: Float32Array, dweight: Float32Array, dbias: Float32Array, rows: number, dim: number,
  ): void;

  softmaxForward(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** out = x - log(sum(exp(x))) per row (a decoder's next-token log-probabilities); `out` may be `x`. */
  logSoftmaxForward(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** dx = y * (dy - sum(dy * y)) per row. */
  softmaxBackward(dy: Float32Array, y: Float32Array, dx: Float32Array, rows: number, cols: number): void;

  /** GELU, exact erf form (PyTorch's default, HF's "gelu"). */
  geluForward(x: Float32Array, out: Float32Array, n: number): void;
  geluBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void;
  /** GELU's tanh approximation (HF's "gelu_new", GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
  geluTanhForward(x: Float32Array, out: Float32Array, n: number): void;
  /** dx = dy * d/dx gelu_tanh(x); dx may be dy. */
  geluTanhBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void;

  add(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;
  scale(x: Float32Array, s: number, out: Float32Array, n: number): void;
  /** out (cols) = [out +] column sums of x (rows, cols): a bias gradient. */
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number, accumulate: boolean): void;
  sumSquares(x: Float32Array, n: number): number;
  /** out = x rounded to the nearest bf16 (ties to even), kept as float32: bf16 operands' values. */
  roundBf16(x: Float32Array, out: Float32Array, n: number): void;

  /** One SGD update of n weights in place (PyTorch's rule); `momentumBuffer` null without momentum. */
  sgdStep(w: Float32Array, g: Float32Array, momentumBuffer: Float32Array | null, p: SgdStep): void;
  /** One AdamW update of n weights in place (PyTorch's rule, bias-corrected at step t). */
  adamwStep(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, p: AdamwStep): void;

  /** (B, N, S, H, hd) -> (S, B, H, N, hd): a fused projection (S=3 for qkv) into contiguous heads. */
  splitHeads(src: Float32Array, dst: Float32Array, b: number, n: number, s: number, h: number, hd: number): void;
  /** (S, B, H, N, hd) -> (B, N, S, H, hd): the inverse of splitHeads. */
  mergeHeads(src: Float32Array, dst: Float32Array, b: number, n: number, s: number, h: number, hd: number): void;
  /** Image (B,C,H,W) -> patches (B, H/p * W/p, C*p*p), each flattened like a Conv2d weight (C,p,p). */
  patchify(img: Float32Array, out: Float32Array, b: number, c: number, h: number, w: number, p: number): void;

  /** out (B, outChannels, oh, ow) = [relu]([out +] conv(x) + bias), NCHW; see Conv2d. */
  conv2d(x: Float32Array, weight: Float32Array, out: Float32Array, p: Conv2d): void;
  /** out (B, C, oh, ow) = max over each kernel window of x (B, C, H, W). */
  maxPool2d(x: Float32Array, out: Float32Array, p: MaxPool2d): void;
  /**
   * A chain of conv2d / maxPool2d steps prepared once (native: weights reordered to oneDNN's
   * chosen layout, activations kept in its blocked layout between steps; js: the steps one by one).
   */
  convNet(steps: ConvStep[]): ConvNet;
}
