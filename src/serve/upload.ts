import type { FastifyRequest } from "fastify";
import { VitlensError } from "../errors.js";
import type { ServerContext } from "./context.js";
import type { Fields } from "./fields.js";
import type { StoredImage } from "./image-store.js";

const isJson = (body: unknown): body is Record<string, unknown> => typeof body === "object" && body !== null && !Buffer.isBuffer(body) && !Array.isArray(body);

/**
 * The image a request is about: the raw body (any image content type), the multipart field
 * `image`, a JSON {"image": id} naming one uploaded before, or ?image=id; with `allowId` false,
 * only uploads.
 */
export async function requestImage(ctx: ServerContext, req: FastifyRequest, allowId = true): Promise<StoredImage> {
  if (req.isMultipart()) {
    const part = await req.file({ limits: { fileSize: ctx.opts.maxUpload, files: 1 } });
    if (!part) throw new VitlensError("multipart upload without a file: send the image in a field named image");
    if (part.fieldname !== "image") {
      part.file.resume();
      throw new VitlensError(`multipart upload: the file is in field "${part.fieldname}", expected a field named image`);
    }
    return ctx.images.add(await part.toBuffer());
  }
  if (Buffer.isBuffer(req.body) && req.body.length > 0) return ctx.images.add(req.body);
  if (!allowId) {
    if (Buffer.isBuffer(req.body)) return ctx.images.add(req.body); // empty: add() says so
    throw new VitlensError("expected an image as the request body or a multipart field named image");
  }
  if (isJson(req.body) && "image" in req.body) return ctx.images.get(req.body.image);
  const query = req.query as Record<string, unknown>;
  if (query.image !== undefined) return ctx.images.get(query.image);
  if (Buffer.isBuffer(req.body)) return ctx.images.add(req.body); // an empty body: add() says so
  return ctx.images.get(undefined);
}

/** The request's fields: the query string's, then a JSON body's (which win); never the image. */
export function requestFields(req: FastifyRequest): Fields {
  const fields: Fields = { ...((req.query ?? {}) as Fields), ...(isJson(req.body) ? req.body : {}) };
  delete fields.image;
  return fields;
}
