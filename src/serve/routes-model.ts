import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { VitlensError } from "../errors.js";
import { queryName } from "../explain/attention-maps.js";
import { NO_POSITION_EMBEDDING } from "../explain/posemb.js";
import { gridSize, prefixNames, tokenLayout } from "../models/vit-config.js";
import { colormapLut } from "../render/colormap.js";
import { attentionAnswer, cachedAnswer, dinoAnswer, gridAnswer, predictAnswer } from "./answers.js";
import { parseAttentionRequest, parseDinoRequest, parseGridRequest } from "./attention-request.js";
import { NotFoundError } from "./api-errors.js";
import type { ServerContext } from "./context.js";
import { paths, type ImageAnswer, type InfoAnswer, type PosembAnswer, type PosembPatchAnswer } from "./contract.js";
import { intField } from "./fields.js";
import { modelView, rawPng } from "./model-view.js";
import { requestFields, requestImage } from "./upload.js";

const json = (reply: FastifyReply, text: string) => reply.type("application/json").send(text);

/** Images, predict, attention (one map, a layers x heads grid, DINO's per-head view), position embeddings, model facts. */
export function modelRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { config, labels } = ctx.vit.info;
  const [gh, gw] = gridSize(config);

  app.get(paths.info, async (): Promise<InfoAnswer> => ({
    model: {
      source: ctx.vit.info.source, backend: ctx.vit.info.backend, notes: ctx.vit.info.notes, labels, numClasses: config.numClasses,
      layers: config.numLayers, heads: config.numHeads, grid: [gh, gw], imageSize: config.imageSize, patchSize: config.patchSize, prefix: prefixNames(config),
      query: queryName(tokenLayout(config)),
    },
    captioner: ctx.captionerInfo ?? { error: ctx.captionerError ?? "no captioner" },
    queue: ctx.opts.queue, maxUpload: ctx.opts.maxUpload,
  }));

  app.get(paths.colormap, async () => ({ name: "inferno", lut: Array.from(colormapLut("inferno")) }));

  app.post(paths.images, async (req): Promise<ImageAnswer> => {
    const s = await requestImage(ctx, req, false);
    return { id: s.id, width: s.image.width, height: s.image.height };
  });

  // The image as the classifier sees it (resized / cropped by its preprocessing), as PNG.
  app.get<{ Params: { id: string } }>("/api/images/:id", async (req, reply) => {
    const png = await rawPng(await modelView(ctx, ctx.images.get(req.params.id)));
    return reply.type("image/png").header("cache-control", "private, max-age=3600").send(png);
  });

  app.post("/api/predict", async (req, reply) => {
    if (config.numClasses === 0) throw new VitlensError(`${ctx.vit.info.source}: the model has no classification head; nothing to predict`);
    return json(reply, await predictAnswer(ctx, await requestImage(ctx, req)));
  });

  // Fields in the query string (POST /api/attention?method=cls&layer=0&head=mean) or, for scripts, beside "image" in a JSON body.
  app.post("/api/attention", async (req, reply) => {
    const request = parseAttentionRequest(requestFields(req), config);
    return json(reply, await attentionAnswer(ctx, await requestImage(ctx, req), request));
  });

  const grid = async (req: FastifyRequest, reply: FastifyReply) => {
    const g = parseGridRequest(requestFields(req), config);
    return json(reply, await gridAnswer(ctx, await requestImage(ctx, req), g));
  };
  app.get("/api/attention/grid", grid);
  app.post("/api/attention/grid", grid);
  const dino = async (req: FastifyRequest, reply: FastifyReply) => {
    const d = parseDinoRequest(requestFields(req), config);
    return json(reply, await dinoAnswer(ctx, await requestImage(ctx, req), d));
  };
  app.get("/api/attention/dino", dino);
  app.post("/api/attention/dino", dino);

  app.get("/api/posemb", async (req, reply) => {
    if (ctx.vit.info.config.posEmbedTokens === "none") throw new NotFoundError(NO_POSITION_EMBEDDING); // as `vitlens posemb` says
    const P = gh * gw;
    const fields = requestFields(req);
    const whole = await cachedAnswer(ctx, "posemb", async () => {
      const sim = await ctx.vitQueue.run(() => ctx.vit.call("posemb", undefined));
      return { shape: [gh, gw], similarity: Array.from(sim) } satisfies PosembAnswer;
    });
    if (fields.patch === undefined) return json(reply, whole);
    const k = intField(fields, "patch", 0, P - 1, `a patch index 0..${P - 1} (row-major over the ${gh}x${gw} grid)`);
    return json(reply, await cachedAnswer(ctx, `posemb/${k}`, async () => {
      const { similarity } = JSON.parse(whole) as PosembAnswer;
      return { shape: [gh, gw], patch: k, map: similarity.slice(k * P, (k + 1) * P) } satisfies PosembPatchAnswer;
    }));
  });
}
