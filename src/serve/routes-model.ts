import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { VitlensError } from "../errors.js";
import { gridSize } from "../models/vit-config.js";
import { softmax, topK } from "../models/scores.js";
import { colormapLut } from "../render/colormap.js";
import { parseAttentionRequest } from "./attention-request.js";
import type { ServerContext } from "./context.js";
import type { StoredImage } from "./image-store.js";
import { jsonBody, requestImage } from "./upload.js";

/** The cached JSON answer for `key`, or `compute`'s through the model queue (then cached). */
export async function cachedAnswer(ctx: ServerContext, key: string, compute: () => Promise<unknown>): Promise<string> {
  const hit = ctx.answers.get(key);
  if (hit !== undefined) return hit;
  const json = JSON.stringify(await compute());
  ctx.answers.set(key, json);
  return json;
}

/** Images, predict, attention, position embeddings, and what the page needs to know about the model. */
export function modelRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { config, labels, preprocess } = ctx.vit.info;
  const [gh, gw] = gridSize(config);
  const input = async (s: StoredImage) => ({ key: s.id, pixels: await ctx.images.pixels(s, preprocess) });

  app.get("/api/info", async () => ({
    model: {
      source: ctx.vit.info.source, backend: ctx.vit.info.backend, notes: ctx.vit.info.notes, labels, numClasses: config.numClasses,
      layers: config.numLayers, heads: config.numHeads, grid: [gh, gw], imageSize: config.imageSize, patchSize: config.patchSize,
    },
    captioner: ctx.captioner ? ctx.captioner.info : { error: ctx.captionerError },
    queue: ctx.opts.queue, maxUpload: ctx.opts.maxUpload,
  }));

  app.get("/api/colormap", async () => ({ name: "inferno", lut: Array.from(colormapLut("inferno")) }));

  app.post("/api/images", async (req) => {
    const s = await requestImage(ctx, req, false);
    return { id: s.id, width: s.image.width, height: s.image.height };
  });

  // The image as the classifier sees it (resized / cropped by its preprocessing), as PNG.
  app.get<{ Params: { id: string } }>("/api/images/:id", async (req, reply) => {
    const s = ctx.images.get(req.params.id);
    const { data, shape: [, , H, W] } = await ctx.images.pixels(s, preprocess);
    const rgb = Buffer.alloc(H * W * 3);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < H * W; i++) rgb[i * 3 + c] = Math.round((data[c * H * W + i] * preprocess.std[c] + preprocess.mean[c]) / preprocess.rescaleFactor);
    }
    const png = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    return reply.type("image/png").header("cache-control", "private, max-age=3600").send(png);
  });

  app.post("/api/predict", async (req, reply) => {
    if (config.numClasses === 0) throw new VitlensError(`${ctx.vit.info.source}: the model has no classification head; nothing to predict`);
    const s = await requestImage(ctx, req, true);
    const json = await cachedAnswer(ctx, `predict/${s.id}`, async () => {
      const logits = await ctx.vitQueue.run(async () => ctx.vit.call<number[]>("predict", await input(s)));
      const top = topK(softmax(logits), Math.min(5, config.numClasses)).map(({ index, score }) => ({ index, label: labels[index], score }));
      return { image: s.id, logits, top };
    });
    return reply.type("application/json").send(json);
  });

  app.post("/api/attention", async (req, reply) => {
    const body = jsonBody(req);
    const request = parseAttentionRequest(body, config);
    const s = ctx.images.get(body.image);
    const json = await cachedAnswer(ctx, `attention/${s.id}/${JSON.stringify(request)}`, async () => {
      const out = await ctx.vitQueue.run(async () => ctx.vit.call<{ map: Float32Array; cls?: number }>("attention", { input: await input(s), request }));
      return { image: s.id, ...request, shape: [gh, gw], map: Array.from(out.map), ...(out.cls !== undefined ? { cls: out.cls } : {}) };
    });
    return reply.type("application/json").send(json);
  });

  app.get<{ Querystring: { patch?: string } }>("/api/posemb", async (req, reply) => {
    const P = gh * gw;
    const patch = req.query.patch;
    if (patch !== undefined && !(/^\d+$/.test(patch) && Number(patch) < P)) throw new VitlensError(`patch ${JSON.stringify(patch)}: expected a patch index 0..${P - 1} (row-major over the ${gh}x${gw} grid)`);
    const whole = await cachedAnswer(ctx, "posemb", async () => {
      const sim = await ctx.vitQueue.run(() => ctx.vit.call<Float32Array>("posemb", {}));
      return { shape: [gh, gw], similarity: Array.from(sim) };
    });
    if (patch === undefined) return reply.type("application/json").send(whole);
    const k = Number(patch);
    return reply.type("application/json").send(await cachedAnswer(ctx, `posemb/${k}`, async () => {
      const { similarity } = JSON.parse(whole) as { similarity: number[] };
      return { shape: [gh, gw], patch: k, map: similarity.slice(k * P, (k + 1) * P) };
    }));
  });
}
