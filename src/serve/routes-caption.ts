import type { FastifyInstance } from "fastify";
import { VitlensError } from "../errors.js";
import type { ServerContext } from "./context.js";
import { cachedAnswer } from "./routes-model.js";
import { jsonBody } from "./upload.js";

const selector = (v: unknown, name: string, fallback: "last" | "mean", word: string): number | "last" | "mean" => {
  if (v === undefined || v === null || v === fallback) return fallback;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  throw new VitlensError(`${name} ${JSON.stringify(v)}: expected a ${word} index (0, 1, ...) or "${fallback}"`);
};

/** POST /api/caption: {image, beam, layer, head} -> caption --json's object, plus each word's map. */
export function captionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post("/api/caption", async (req, reply) => {
    const cap = ctx.captioner;
    if (!cap) throw new VitlensError(ctx.captionerError ?? "no captioner");
    const body = jsonBody(req);
    const s = ctx.images.get(body.image);
    const beam = body.beam ?? 1;
    if (typeof beam !== "number" || !Number.isInteger(beam) || beam < 1 || beam > 16) throw new VitlensError(`beam ${JSON.stringify(body.beam)}: expected a beam width 1..16 (1 is greedy)`);
    const layer = selector(body.layer, "layer", "last", "decoder layer") as number | "last";
    const head = selector(body.head, "head", "mean", "head") as number | "mean";
    const json = await cachedAnswer(ctx, `caption/${s.id}/${beam}/${layer}/${head}`, async () => {
      const out = await ctx.captionQueue.run(() => cap.call<Record<string, unknown>>("caption", { key: s.id, name: s.id, image: s.image, beam, layer, head }));
      return { ...out, image: s.id, beam };
    });
    return reply.type("application/json").send(json);
  });
}
