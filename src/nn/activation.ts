/**
 * The MLP activations the ViT families use, by the names vitlens' flags and configs give them:
 * GELU's erf form (ViT, HF "gelu", timm's default), its tanh approximation (GPT-2, HF "gelu_new" /
 * "gelu_pytorch_tanh"), QuickGELU x·σ(1.702x) (OpenAI CLIP), SiLU x·σ(x), ReLU. GELU and GELU-tanh
 * run on the backend (native kernels, the product's post-op); the others are elementwise here.
 */
export const ACTIVATIONS = ["gelu", "gelu_tanh", "quick_gelu", "silu", "relu"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** The library spellings (HF `hidden_act`, timm `act_layer`) of each activation. */
const SPELLINGS: Record<string, Activation> = {
  gelu: "gelu", gelu_new: "gelu_tanh", gelu_pytorch_tanh: "gelu_tanh", gelu_tanh: "gelu_tanh", gelu_fast: "gelu_tanh",
  quick_gelu: "quick_gelu", quickgelu: "quick_gelu", silu: "silu", swish: "silu", relu: "relu",
};

/** What each library writes for an activation (HF `hidden_act`, timm `act_layer`). */
export const HF_ACTIVATION: Record<Activation, string> = { gelu: "gelu", gelu_tanh: "gelu_pytorch_tanh", quick_gelu: "quick_gelu", silu: "silu", relu: "relu" };
export const TIMM_ACTIVATION: Record<Activation, string> = { gelu: "gelu", gelu_tanh: "gelu_tanh", quick_gelu: "quick_gelu", silu: "silu", relu: "relu" };

/** How PyTorch prints the module: HF's activation classes, timm's nn modules. */
export const HF_ACTIVATION_MODULE: Record<Activation, string> = {
  gelu: "GELUActivation", gelu_tanh: "PytorchGELUTanh", quick_gelu: "QuickGELUActivation", silu: "SiLU", relu: "ReLU",
};
export const TIMM_ACTIVATION_MODULE: Record<Activation, [string, string | undefined]> = {
  gelu: ["GELU", "approximate='none'"], gelu_tanh: ["GELU", "approximate='tanh'"], quick_gelu: ["QuickGELU", undefined], silu: ["SiLU", undefined], relu: ["ReLU", undefined],
};

/** A config's activation name as vitlens' activation, or null when vitlens has none of that name. */
export function activationNamed(name: string): Activation | null {
  return SPELLINGS[name.toLowerCase()] ?? null;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

type Elementwise = Exclude<Activation, "gelu" | "gelu_tanh">;

export function elementwiseForward(a: Elementwise, x: Float32Array, out: Float32Array, n: number): void {
  if (a === "relu") for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
  else {
    const k = a === "quick_gelu" ? 1.702 : 1;
    for (let i = 0; i < n; i++) out[i] = x[i] * sigmoid(k * x[i]);
  }
}

/** dx = dy · act'(x); dx may be dy. */
export function elementwiseBackward(a: Elementwise, dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void {
  if (a === "relu") for (let i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
  else {
    // d/dx x·σ(kx) = σ(kx) + kx·σ(kx)(1 − σ(kx))
    const k = a === "quick_gelu" ? 1.702 : 1;
    for (let i = 0; i < n; i++) {
      const s = sigmoid(k * x[i]);
      dx[i] = dy[i] * (s + k * x[i] * s * (1 - s));
    }
  }
}
