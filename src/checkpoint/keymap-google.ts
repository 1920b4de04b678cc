import { VitlensError } from "../errors.js";
import type { Params } from "../tensor.js";
import { concatRows, shapeString, type Tensor } from "../tensor.js";
import type { MappedState } from "./keymap-hf.js";

/** Google's original JAX ViT checkpoints (ViT-B_16.npz, ...): names and layouts -> vitlens. */
export function isGoogleCheckpoint(keys: Iterable<string>): boolean {
  for (const k of keys) if (k === "embedding/kernel") return true;
  return false;
}

/** (rows, cols) -> (cols, rows). */
function transpose2d(t: Tensor, rows: number, cols: number): Tensor {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return { data: out, shape: [cols, rows] };
}

export function fromGoogle(state: Map<string, Tensor>, file: string): MappedState & { numHeads: number } {
  const params: Params = new Map();
  const origin = new Map<string, string>();
  const ignored: string[] = [];
  const take = (key: string): Tensor => {
    const t = state.get(key);
    if (!t) throw new VitlensError(`${file}: missing key ${key} for a Google ViT checkpoint`);
    return t;
  };
  const put = (name: string, key: string, t: Tensor) => {
    params.set(name, t);
    origin.set(name, key);
  };
  const kernel = take("embedding/kernel"); // (p, p, C, D)
  const [ph, pw, C, D] = kernel.shape;
  if (kernel.shape.length !== 4 || ph !== pw) throw new VitlensError(`${file}: embedding/kernel has shape ${shapeString(kernel.shape)}, expected (p, p, C, D)`);
  const conv = new Float32Array(kernel.data.length); // -> (D, C, p, p)
  for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) {
    conv[((d * C + c) * ph + y) * pw + x] = kernel.data[((y * pw + x) * C + c) * D + d];
  }
  put("patch_embed.proj.weight", "embedding/kernel", { data: conv, shape: [D, C, ph, pw] });
  put("patch_embed.proj.bias", "embedding/bias", take("embedding/bias"));
  put("cls_token", "cls", take("cls"));
  put("pos_embed", "Transformer/posembed_input/pos_embedding", take("Transformer/posembed_input/pos_embedding"));
  let numHeads = 0;
  for (let i = 0; state.has(`Transformer/encoderblock_${i}/LayerNorm_0/scale`); i++) {
    const b = `Transformer/encoderblock_${i}`;
    const t = `blocks.${i}`;
    put(`${t}.norm1.weight`, `${b}/LayerNorm_0/scale`, take(`${b}/LayerNorm_0/scale`));
    put(`${t}.norm1.bias`, `${b}/LayerNorm_0/bias`, take(`${b}/LayerNorm_0/bias`));
    put(`${t}.norm2.weight`, `${b}/LayerNorm_2/scale`, take(`${b}/LayerNorm_2/scale`));
    put(`${t}.norm2.bias`, `${b}/LayerNorm_2/bias`, take(`${b}/LayerNorm_2/bias`));
    const att = `${b}/MultiHeadDotProductAttention_1`;
    const qkvW: Tensor[] = [];
    const qkvB: Tensor[] = [];
    for (const part of ["query", "key", "value"]) {
      const k = take(`${att}/${part}/kernel`); // (D, heads, hd)
      if (k.shape.length !== 3) throw new VitlensError(`${file}: ${att}/${part}/kernel has shape ${shapeString(k.shape)}, expected (D, heads, head_dim)`);
      numHeads = k.shape[1];
      qkvW.push(transpose2d(k, k.shape[0], k.shape[1] * k.shape[2]));
      const bias = take(`${att}/${part}/bias`); // (heads, hd)
      qkvB.push({ data: bias.data, shape: [bias.data.length] });
    }
    put(`${t}.attn.qkv.weight`, `${att}/{query,key,value}/kernel`, concatRows(qkvW));
    put(`${t}.attn.qkv.bias`, `${att}/{query,key,value}/bias`, concatRows(qkvB));
    const out = take(`${att}/out/kernel`); // (heads, hd, D)
    put(`${t}.attn.proj.weight`, `${att}/out/kernel`, transpose2d(out, out.shape[0] * out.shape[1], out.shape[2]));
    put(`${t}.attn.proj.bias`, `${att}/out/bias`, take(`${att}/out/bias`));
    for (const [j, fc] of [[0, "fc1"], [1, "fc2"]] as const) {
      const dense = `${b}/MlpBlock_3/Dense_${j}`;
      const k = take(`${dense}/kernel`);
      put(`${t}.mlp.${fc}.weight`, `${dense}/kernel`, transpose2d(k, k.shape[0], k.shape[1]));
      put(`${t}.mlp.${fc}.bias`, `${dense}/bias`, take(`${dense}/bias`));
    }
  }
  put("norm.weight", "Transformer/encoder_norm/scale", take("Transformer/encoder_norm/scale"));
  put("norm.bias", "Transformer/encoder_norm/bias", take("Transformer/encoder_norm/bias"));
  if (state.has("pre_logits/kernel")) {
    throw new VitlensError(`${file}: has a pre_logits layer (an ImageNet-21k checkpoint); vitlens' ViT has no pre-logits layer yet`);
  }
  if (state.has("head/kernel")) {
    const k = take("head/kernel"); // (D, classes)
    put("head.weight", "head/kernel", transpose2d(k, k.shape[0], k.shape[1]));
    put("head.bias", "head/bias", take("head/bias"));
  }
  const used = new Set(origin.values());
  for (const key of state.keys()) {
    const covered = used.has(key) || [...used].some((u) => u.includes("{") && key.replace(/(query|key|value)/, "{query,key,value}") === u);
    if (!covered) ignored.push(key);
  }
  return { params, origin, ignored, numHeads };
}
