import { VitlensError } from "../errors.js";
import type { Params, Tensor } from "../tensor.js";
import { fromHf, toHf, type MappedState } from "./keymap-hf.js";

/**
 * HF VisionEncoderDecoderModel names (ViT encoder + GPT-2 decoder, modeling_gpt2.py) <-> vitlens
 * names: `encoder.*` is a bare ViTModel (keymap-hf), `decoder.transformer.*` GPT-2, mapped onto
 * the captioner decoder's layout (decoder-config.ts). GPT-2's Conv1D stores weights (in, out):
 * they are transposed to PyTorch's (out, in) here, and back when saving.
 */
const DECODER: Array<[RegExp, string, boolean]> = [
  // [HF name, vitlens name, Conv1D (transposed)]
  [/^decoder\.transformer\.wte\.weight$/, "decoder.embed_tokens.weight", false],
  [/^decoder\.transformer\.wpe\.weight$/, "decoder.embed_positions.weight", false],
  [/^decoder\.transformer\.h\.(\d+)\.ln_1\.(weight|bias)$/, "decoder.layers.$1.norm1.$2", false],
  [/^decoder\.transformer\.h\.(\d+)\.attn\.c_attn\.(weight|bias)$/, "decoder.layers.$1.self_attn.qkv.$2", true],
  [/^decoder\.transformer\.h\.(\d+)\.attn\.c_proj\.(weight|bias)$/, "decoder.layers.$1.self_attn.proj.$2", true],
  [/^decoder\.transformer\.h\.(\d+)\.ln_cross_attn\.(weight|bias)$/, "decoder.layers.$1.norm2.$2", false],
  [/^decoder\.transformer\.h\.(\d+)\.crossattention\.q_attn\.(weight|bias)$/, "decoder.layers.$1.cross_attn.q.$2", true],
  [/^decoder\.transformer\.h\.(\d+)\.crossattention\.c_attn\.(weight|bias)$/, "decoder.layers.$1.cross_attn.kv.$2", true],
  [/^decoder\.transformer\.h\.(\d+)\.crossattention\.c_proj\.(weight|bias)$/, "decoder.layers.$1.cross_attn.proj.$2", true],
  [/^decoder\.transformer\.h\.(\d+)\.ln_2\.(weight|bias)$/, "decoder.layers.$1.norm3.$2", false],
  [/^decoder\.transformer\.h\.(\d+)\.mlp\.c_fc\.(weight|bias)$/, "decoder.layers.$1.mlp.fc1.$2", true],
  [/^decoder\.transformer\.h\.(\d+)\.mlp\.c_proj\.(weight|bias)$/, "decoder.layers.$1.mlp.fc2.$2", true],
  [/^decoder\.transformer\.ln_f\.(weight|bias)$/, "decoder.norm.$1", false],
  [/^enc_to_dec_proj\.(weight|bias)$/, "decoder.enc_to_dec_proj.$1", false],
];
/** Older checkpoints' causal-mask buffers: not parameters. */
const BUFFERS = /^decoder\.transformer\.h\.\d+\.(attn|crossattention)\.(bias|masked_bias)$/;

export interface MappedCaptioner {
  encoder: MappedState; // ViT names
  decoder: MappedState; // decoder.* names
  /** decoder.lm_head.weight as stored (transformers writes it into .bin files, not into safetensors). */
  lmHead: Tensor | null;
}

export function isVisionEncoderDecoderStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (k.startsWith("decoder.transformer.")) return true;
  return false;
}

/** Transposes a (rows, cols) matrix; a 1-D bias is returned as is. */
export function transpose2d(t: Tensor): Tensor {
  if (t.shape.length !== 2) return t;
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { data: out, shape: [c, r] };
}

export function fromVisionEncoderDecoder(state: Map<string, Tensor>, file: string): MappedCaptioner {
  const encoderState = new Map<string, Tensor>();
  const decoder: MappedState = { params: new Map(), origin: new Map(), ignored: [] };
  let lmHead: Tensor | null = null;
  for (const [key, t] of state) {
    if (key.startsWith("encoder.")) {
      encoderState.set(key.slice("encoder.".length), t);
      continue;
    }
    if (key === "decoder.lm_head.weight") {
      lmHead = t;
      continue;
    }
    if (BUFFERS.test(key)) {
      decoder.ignored.push(key);
      continue;
    }
    const hit = DECODER.find(([re]) => re.test(key));
    if (!hit) throw new VitlensError(`${file}: unexpected key "${key}" for a ViT + GPT-2 VisionEncoderDecoder checkpoint`);
    const name = key.replace(hit[0], hit[1]);
    decoder.params.set(name, hit[2] ? transpose2d(t) : t);
    decoder.origin.set(name, key);
  }
  const encoder = fromHf(encoderState, file);
  for (const [name, key] of encoder.origin) encoder.origin.set(name, `encoder.${key}`);
  encoder.ignored = encoder.ignored.map((k) => `encoder.${k}`);
  return { encoder, decoder, lmHead };
}

/** vitlens captioner params (encoder under `encoder.`, decoder under `decoder.`) -> HF VisionEncoderDecoder names. */
export function toVisionEncoderDecoder(encoder: Params, decoder: Params, tied: boolean): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, t] of toHf(encoder)) out.set(`encoder.${k}`, t);
  const inverse: Array<[RegExp, string, boolean]> = DECODER.map(([re, name, conv]) => [new RegExp(`^${name.replace(/\./g, "\\.").replace(/\$\d/g, "(\\w+)")}$`), hfTemplate(re), conv]);
  for (const [name, t] of decoder) {
    if (name === "decoder.lm_head.weight") {
      if (!tied) out.set(name, t);
      continue;
    }
    const hit = inverse.find(([re]) => re.test(name));
    if (!hit) throw new Error(`toVisionEncoderDecoder: no HF name for ${name}`);
    out.set(name.replace(hit[0], hit[1]), hit[2] ? transpose2d(t) : t);
  }
  return out;
}

/** An HF-name regex turned into a replacement template: `h\.(\d+)\.ln_1\.(weight|bias)` -> `h.$1.ln_1.$2`. */
function hfTemplate(re: RegExp): string {
  let n = 0;
  return re.source.replace(/^\^|\$$/g, "").replace(/\([^)]*\)/g, () => `$${++n}`).replace(/\\\./g, ".");
}
