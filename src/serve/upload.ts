import type { FastifyRequest } from "fastify";
import { VitlensError } from "../errors.js";
import type { ServerContext } from "./context.js";
import type { StoredImage } from "./image-store.js";

/**
 * The image a request carries: the raw body (any image content type) or the multipart field
 * `image`; or, with `allowId`, a JSON {"image": id} naming one uploaded before.
 */
export async function requestImage(ctx: ServerContext, req: FastifyRequest, allowId: boolean): Promise<StoredImage> {
  if (req.isMultipart()) {
    const part = await req.file({ limits: { fileSize: ctx.opts.maxUpload, files: 1 } });
    if (!part) throw new VitlensError("multipart upload without a file: send the image in a field named image");
    if (part.fieldname !== "image") {
      part.file.resume();
      throw new VitlensError(`multipart upload: the file is in field "${part.fieldname}", expected a field named image`);
    }
    const bytes = await part.toBuffer();
    return ctx.images.add(bytes);
  }
  if (Buffer.isBuffer(req.body)) return ctx.images.add(req.body);
  if (allowId && typeof req.body === "object" && req.body !== null) return ctx.images.get((req.body as { image?: unknown }).image);
  throw new VitlensError(allowId ? 'expected JSON {"image": id} or an image as the request body' : "expected an image as the request body or a multipart field named image");
}

/** The JSON body as an object (empty for an upload). */
export function jsonBody(req: FastifyRequest): Record<string, unknown> {
  return typeof req.body === "object" && req.body !== null && !Buffer.isBuffer(req.body) ? (req.body as Record<string, unknown>) : {};
}
