import type { FastifyInstance } from "fastify";
import { ApiError } from "./api-errors.js";
import { cachedAnswer } from "./answers.js";
import type { ServerContext } from "./context.js";
import type { CaptionAnswer } from "./contract.js";
import { intField, type Fields } from "./fields.js";
import { requestFields, requestImage } from "./upload.js";

const selector = (f: Fields, name: string, fallback: "last" | "mean", word: string): number | "last" | "mean" => {
  if (f[name] === undefined || f[name] === null || f[name] === "" || f[name] === fallback) return fallback;
  return intField(f, name, 0, Number.MAX_SAFE_INTEGER, `a ${word} index (0, 1, ...) or "${fallback}"`);
};

/** POST /api/caption?beam=&layer=&head= with the image (body, multipart, {"image": id} or ?image=id) -> caption --json's object, plus each word's map. */
export function captionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post("/api/caption", async (req, reply) => {
    const cap = ctx.captioner;
    if (!cap) throw new ApiError(400, "no-captioner", ctx.captionerError ?? "no captioner");
    const f = requestFields(req);
    const beam = intField(f, "beam", 1, 16, "a beam width 1..16 (1 is greedy)", 1);
    const layer = selector(f, "layer", "last", "decoder layer") as number | "last";
    const head = selector(f, "head", "mean", "head") as number | "mean";
    const s = await requestImage(ctx, req);
    const json = await cachedAnswer(ctx, `caption/${s.id}/${beam}/${layer}/${head}`, async () => {
      const out = await ctx.captionQueue.run(() => cap.call("caption", { key: s.id, name: s.id, image: s.image, beam, layer, head }));
      return { ...out, image: s.id, beam } satisfies CaptionAnswer;
    });
    return reply.type("application/json").send(json);
  });
}
