// The ViT thread: loads the model once, then answers predict / attention / posemb calls.
import { workerData } from "node:worker_threads";
import { loadModel, type LoadOptions } from "../checkpoint/load.js";
import { attribution, clsAttention, fuseHeads, rollout } from "../explain/attention-maps.js";
import { positionSimilarity } from "../explain/posemb.js";
import { posEmbedPrefix, prefixTokens } from "../models/vit-config.js";
import { backward, forwardTrain, zeroGrads } from "../models/vit-train.js";
import { Rng } from "../random.js";
import type { Tensor } from "../tensor.js";
import type { AttentionRequest } from "./attention-request.js";
import { LruCache } from "./cache.js";
import type { Precision } from "../backend/precision.js";
import { serveThread, threadBackend } from "../worker/thread-server.js";

interface Input {
  key: string; // image id: forwards are kept per image, so a hover re-uses them
  pixels: Tensor; // (1, 3, H, W)
}

const { spec, options, cacheBytes, threads, precision } = workerData as { threads: number; precision?: Precision; spec: string; options: LoadOptions; cacheBytes: number };

serveThread(() => {
  const { model, labels, preprocess, notes, source } = loadModel(spec, options);
  const be = threadBackend(threads, precision);
  // One forward before the first request: the backend's first call sets things up (oneDNN primitives, page faults).
  const [H, W] = model.config.imageSize;
  const prefix = prefixTokens(model.config); // tokens before the patches: left out of every map
  const warm = model.forward({ data: new Float32Array(3 * H * W), shape: [1, 3, H, W] }, be);
  clsAttention(warm.attentions[0], 0, "mean");
  // Every layer's attention (1, H, N, N) of the last few images.
  const forwards = new LruCache<{ attentions: Tensor[]; logits: Tensor | null }>(cacheBytes, (f) => f.attentions.reduce((n, a) => n + a.data.byteLength, 0));
  const forward = (input: Input) => {
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
    info: { config: model.config, labels, preprocess, notes, source, backend: be.name },
    handlers: {
      predict: (input: Input) => ({ value: Array.from(forward(input).logits?.data ?? []) }),
      attention: ({ input, request: r }: { input: Input; request: AttentionRequest }) => {
        if (r.method === "attribution") {
          const fwd = forwardTrain(model, input.pixels, be, new Rng(0), false);
          const dlogits = new Float32Array(model.config.numClasses);
          dlogits[r.class!] = 1;
          const grads = backward(model, fwd, dlogits, zeroGrads(model.params), be).attentionGrads;
          return { value: { map: attribution(fwd.attentions, grads, 0, prefix) } };
        }
        const { attentions } = forward(input);
        if (r.method === "cls") return { value: { map: clsAttention(attentions[r.layer], 0, r.head, prefix) } };
        if (r.method === "rollout") return { value: { map: rollout(attentions, 0, r.head, r.discardRatio, prefix) } };
        const N = attentions[r.layer].shape[2];
        const row = fuseHeads(attentions[r.layer], 0, r.head).subarray((prefix + r.query!) * N, (prefix + r.query! + 1) * N); // (N): the query's row, CLS first
        return { value: { map: Float32Array.from(row.subarray(prefix)), cls: row[0] } };
      },
      posemb: () => {
        similarity ??= positionSimilarity(model.params.get("pos_embed")!, posEmbedPrefix(model.config)); // (P, P)
        return { value: similarity.data };
      },
    },
  };
});
