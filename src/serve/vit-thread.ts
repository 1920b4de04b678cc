// The ViT thread: loads the model once, then answers predict / rows / rollout / attribution / norms / posemb calls.
import { workerData } from "node:worker_threads";
import { loadModel, type LoadOptions } from "../checkpoint/load.js";
import { attribution, clsAttention, fuseHeads, queryAttentionRow, rollout, type HeadFusion } from "../explain/attention-maps.js";
import { modelPositionSimilarity, NO_POSITION_EMBEDDING } from "../explain/posemb.js";
import { VitlensError } from "../errors.js";
import { tokenNorms } from "../explain/token-norms.js";
import type { ViT } from "../models/vit.js";
import { posEmbedPrefix, tokenLayout } from "../models/vit-config.js";
import { streamAfter, vitBackward, vitForward } from "../models/vit-pass.js";
import { zeroGrads } from "../models/vit-train.js";
import type { Tensor } from "../tensor.js";
import type { Backend } from "../backend/index.js";
import { LruCache } from "./cache.js";
import type { Precision } from "../backend/precision.js";
import { serveThread, threadBackend } from "../worker/thread-server.js";

export interface ThreadInput {
  key: string; // image id: forwards are kept per image, so a hover re-uses them
  pixels: Tensor; // (1, 3, H, W)
}

const { spec, options, cacheBytes, threads, precision } = workerData as { threads: number; precision?: Precision; spec: string; options: LoadOptions; cacheBytes: number };

/** The calls this thread answers (the server calls them through TypedThread<VitHandlers>). */
function vitHandlers(model: ViT, be: Backend, cacheBytes: number) {
  const layout = tokenLayout(model.config); // tokens before the patches (left out of every map); a CLS token or not
  const { prefix } = layout;
  // Every layer's attention (1, H, N, N) of the last few images.
  const forwards = new LruCache<{ attentions: Tensor[]; logits: Tensor | null }>(cacheBytes, (f) => f.attentions.reduce((n, a) => n + a.data.byteLength, 0));
  const forward = (input: ThreadInput) => {
    let out = forwards.get(input.key);
    if (!out) {
      const { attentions, logits } = model.forward(input.pixels, be);
      out = { attentions, logits };
      forwards.set(input.key, out);
    }
    return out;
  };
  let similarity: Tensor | null = null;
  return {
    predict: (input: ThreadInput) => ({ value: Array.from(forward(input).logits?.data ?? []) }),
    /**
     * Rows of the attention, per layer and head (or fusion): the CLS token's (query null; a model
     * without one: the mean of the patch rows, as explain/ reads it) or one patch's. maps:
     * (layers, heads, P) over the patches; prefix: (layers, heads, prefix) the rows' shares on the
     * prefix tokens (CLS, distillation, registers).
     */
    rows: ({ input, layers, heads, query }: { input: ThreadInput; layers: number[]; heads: HeadFusion[]; query: number | null }) => {
      const { attentions } = forward(input);
      const N = attentions[0].shape[2];
      const P = N - prefix;
      const maps = new Float32Array(layers.length * heads.length * P);
      const shares = new Float32Array(layers.length * heads.length * prefix);
      layers.forEach((l, i) => heads.forEach((h, j) => {
        // (N): prefix tokens first; a query patch's own row, else explain/'s query row
        const token = query === null ? null : prefix + query;
        const row = token === null ? queryAttentionRow(attentions[l], 0, h, layout) : fuseHeads(attentions[l], 0, h).subarray(token * N, (token + 1) * N);
        maps.set(row.subarray(prefix), (i * heads.length + j) * P);
        shares.set(row.subarray(0, prefix), (i * heads.length + j) * prefix);
      }));
      return { value: { maps, prefix: shares }, transfer: [maps.buffer, shares.buffer] };
    },
    rollout: ({ input, head, discardRatio }: { input: ThreadInput; head: HeadFusion; discardRatio: number }) => {
      const map = rollout(forward(input).attentions, 0, head, discardRatio, layout);
      return { value: map, transfer: [map.buffer as ArrayBuffer] };
    },
    attribution: ({ input, target }: { input: ThreadInput; target: number }) => {
      const fwd = vitForward(model, input.pixels, be, { keep: true });
      const dlogits = new Float32Array(model.config.numClasses);
      dlogits[target] = 1;
      const grads = vitBackward(model, fwd, dlogits, zeroGrads(model.params), be);
      const map = attribution(fwd.attentions, grads, 0, layout);
      return { value: map, transfer: [map.buffer as ArrayBuffer] };
    },
    /** Every token's L2 norm after layer `layer` (N): prefix tokens first, as `vitlens attention --method norm`. */
    norms: ({ input, layer }: { input: ThreadInput; layer: number }) => {
      const kept = vitForward(model, input.pixels, be, { output: "tokens", keep: true });
      const norms = tokenNorms(streamAfter(model.config, kept.acts, layer), kept.acts.dims.N, model.config.hiddenSize, 0);
      return { value: norms, transfer: [norms.buffer as ArrayBuffer] };
    },
    posemb: () => {
      similarity ??= modelPositionSimilarity(model.params, posEmbedPrefix(model.config)); // (P, P); the route refuses models without one
      if (!similarity) throw new VitlensError(NO_POSITION_EMBEDDING);
      return { value: similarity.data };
    },
  };
}

export type VitHandlers = ReturnType<typeof vitHandlers>;

serveThread(() => {
  const { model, labels, preprocess, notes, source } = loadModel(spec, options);
  const be = threadBackend(threads, precision);
  // One forward before the first request: the backend's first call sets things up (oneDNN primitives, page faults).
  const [H, W] = model.config.imageSize;
  const warm = model.forward({ data: new Float32Array(3 * H * W), shape: [1, 3, H, W] }, be);
  clsAttention(warm.attentions[0], 0, "mean", tokenLayout(model.config));
  return {
    info: { config: model.config, labels, preprocess, notes, source, backend: be.name },
    handlers: vitHandlers(model, be, cacheBytes),
  };
});
