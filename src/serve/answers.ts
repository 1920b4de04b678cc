import { keepMask } from "../explain/attention-maps.js";
import { gridSize, prefixTokens } from "../models/vit-config.js";
import { softmax, topK } from "../models/scores.js";
import type { AttentionRequest } from "./attention-request.js";
import type { ServerContext } from "./context.js";
import type { AttentionAnswer, DinoAnswer, GridAnswer, HeadFusion, PredictAnswer } from "./contract.js";
import type { StoredImage } from "./image-store.js";

/**
 * The model's answers as the routes send them and the export draws them, cached by (what,
 * image, request) as JSON text: a repeated request costs a lookup.
 */
export async function cachedAnswer(ctx: ServerContext, key: string, compute: () => Promise<unknown>): Promise<string> {
  const hit = ctx.answers.get(key);
  if (hit !== undefined) return hit;
  const json = JSON.stringify(await compute());
  ctx.answers.set(key, json);
  return json;
}

const input = async (ctx: ServerContext, s: StoredImage) => ({ key: s.id, pixels: await ctx.images.pixels(s, ctx.vit.info.preprocess) });

export async function predictAnswer(ctx: ServerContext, s: StoredImage): Promise<string> {
  const { config, labels } = ctx.vit.info;
  return cachedAnswer(ctx, `predict/${s.id}`, async () => {
    const logits = await ctx.vitQueue.run(async () => ctx.vit.call("predict", await input(ctx, s)));
    const top = topK(softmax(logits), Math.min(5, config.numClasses)).map(({ index, score }) => ({ index, label: labels[index], score }));
    return { image: s.id, logits, top } satisfies PredictAnswer;
  });
}

/** Rows of (layers x heads) for the CLS token or one query patch: maps (L, H, P) and prefix shares (L, H, prefix). */
async function rows(ctx: ServerContext, s: StoredImage, layers: number[], heads: HeadFusion[], query: number | null): Promise<{ maps: number[][][]; prefix: number[][][] }> {
  const P = gridSize(ctx.vit.info.config).reduce((a, b) => a * b);
  const K = prefixTokens(ctx.vit.info.config);
  const out = await ctx.vitQueue.run(async () => ctx.vit.call("rows", { input: await input(ctx, s), layers, heads, query }));
  const at = (i: number, j: number, n: number, data: Float32Array) => Array.from(data.subarray((i * heads.length + j) * n, (i * heads.length + j + 1) * n));
  return {
    maps: layers.map((_, i) => heads.map((_, j) => at(i, j, P, out.maps))),
    prefix: layers.map((_, i) => heads.map((_, j) => at(i, j, K, out.prefix))),
  };
}

export async function attentionAnswer(ctx: ServerContext, s: StoredImage, r: AttentionRequest): Promise<string> {
  const shape = gridSize(ctx.vit.info.config);
  let target = r.class;
  const classFrom = r.method !== "attribution" ? null : target === null ? "predicted" : "asked";
  if (r.method === "attribution" && target === null) target = (JSON.parse(await predictAnswer(ctx, s)) as PredictAnswer).top[0].index;
  const request = { ...r, class: target };
  return cachedAnswer(ctx, `attention/${s.id}/${JSON.stringify(request)}`, async () => {
    const base = { image: s.id, ...request, classFrom, shape } as const;
    if (r.method === "rollout" || r.method === "attribution") {
      const map = await ctx.vitQueue.run(async () => r.method === "rollout"
        ? ctx.vit.call("rollout", { input: await input(ctx, s), head: r.head, discardRatio: r.discardRatio })
        : ctx.vit.call("attribution", { input: await input(ctx, s), target: target! }));
      return { ...base, map: Array.from(map) } satisfies AttentionAnswer;
    }
    if (r.method === "norm") {
      const norms = await ctx.vitQueue.run(async () => ctx.vit.call("norms", { input: await input(ctx, s), layer: r.layer }));
      const K = prefixTokens(ctx.vit.info.config);
      return { ...base, map: Array.from(norms.subarray(K)), prefix: Array.from(norms.subarray(0, K)) } satisfies AttentionAnswer;
    }
    const got = await rows(ctx, s, [r.layer], [r.head], r.query);
    return { ...base, map: got.maps[0][0], prefix: got.prefix[0][0] } satisfies AttentionAnswer;
  });
}

export async function gridAnswer(ctx: ServerContext, s: StoredImage, g: { layers: number[]; heads: HeadFusion[]; query: number | null }): Promise<string> {
  return cachedAnswer(ctx, `grid/${s.id}/${JSON.stringify(g)}`, async () => {
    const got = await rows(ctx, s, g.layers, g.heads, g.query);
    return { image: s.id, ...g, shape: gridSize(ctx.vit.info.config), ...got } satisfies GridAnswer;
  });
}

/** DINO's view of one layer: every head's CLS map (and the mean), each with the mask of the patches holding `keep` of its mass. */
export async function dinoAnswer(ctx: ServerContext, s: StoredImage, d: { layer: number; keep: number }): Promise<string> {
  const heads: HeadFusion[] = [...[...Array(ctx.vit.info.config.numHeads).keys()], "mean"];
  return cachedAnswer(ctx, `dino/${s.id}/${JSON.stringify(d)}`, async () => {
    const got = await rows(ctx, s, [d.layer], heads, null);
    return {
      image: s.id, ...d, shape: gridSize(ctx.vit.info.config),
      heads: heads.map((head, j) => {
        const mask = Array.from(keepMask(Float32Array.from(got.maps[0][j]), d.keep));
        return { head, map: got.maps[0][j], mask, kept: mask.reduce((a, b) => a + b, 0), prefix: got.prefix[0][j] };
      }),
    } satisfies DinoAnswer;
  });
}
