import multipart from "@fastify/multipart";
import Fastify, { type FastifyInstance } from "fastify";
import { VitlensError } from "../errors.js";
import { createContext, type ServeOptions, type ServerContext } from "./context.js";
import { ApiError } from "./api-errors.js";
import type { ErrorAnswer, ErrorCode } from "./contract.js";
import { exportRoutes } from "./routes-export.js";
import { QueueFullError } from "./queue.js";
import { captionRoutes } from "./routes-caption.js";
import { modelRoutes } from "./routes-model.js";
import { pageRoutes } from "./routes-page.js";
import { runRoutes } from "./routes-runs.js";
import { allowedHosts, refusal, SECURITY_HEADERS } from "./security.js";

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  ctx: ServerContext;
  close(): Promise<void>;
}

const sizeText = (n: number) => (n >= 1024 * 1024 ? `${+(n / 1024 / 1024).toFixed(1)} MB` : `${n} bytes`);

/** Loads the models (in threads), builds the routes and listens; `port` 0 picks a free port. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const ctx = await createContext(options);
  const app = Fastify({ bodyLimit: ctx.opts.maxUpload, forceCloseConnections: true });
  let hosts = new Set<string>();

  const fail = (code: ErrorCode, error: string): ErrorAnswer => ({ error, code });
  app.addHook("onRequest", async (req, reply) => {
    reply.headers(SECURITY_HEADERS);
    const why = refusal(req, hosts);
    if (why) return reply.code(403).send(fail("forbidden", why));
  });
  // Any body that is not JSON or multipart is taken as image bytes; decoding decides (400 if not an image).
  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  await app.register(multipart, { limits: { fileSize: ctx.opts.maxUpload, files: 1, fields: 4 } });

  // Every error is one line with a code (contract.ts): the page acts on the code, people read the line.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof QueueFullError) return reply.code(503).header("retry-after", "1").send(fail("queue-full", err.message));
    if (err instanceof ApiError) return reply.code(err.status).send(fail(err.code, err.message));
    if (err instanceof VitlensError) return reply.code(400).send(fail("bad-request", err.message));
    if (err.statusCode === 413 || err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply.code(413).send(fail("too-large", `the upload is larger than ${sizeText(ctx.opts.maxUpload)} (--max-upload)`));
    }
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send(fail(err.statusCode === 404 ? "not-found" : "bad-request", err.message));
    reply.log.error(err);
    return reply.code(500).send(fail("internal", `internal error: ${err.message}`));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(fail("not-found", `no such endpoint: ${req.method} ${req.url.split("?")[0]}`)));

  pageRoutes(app, ctx);
  modelRoutes(app, ctx);
  exportRoutes(app, ctx);
  captionRoutes(app, ctx);
  runRoutes(app, ctx);

  const closeThreads = async () => {
    await ctx.vit.close();
    await ctx.captioner?.close();
  };
  try {
    await app.listen({ host: ctx.opts.host, port: ctx.opts.port });
  } catch (e) {
    await closeThreads();
    const code = (e as { code?: string }).code;
    if (code === "EADDRINUSE") throw new VitlensError(`--port ${ctx.opts.port}: the port is in use (pick another, or 0 for any free port)`);
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new VitlensError(`--host ${ctx.opts.host}: not an address of this machine`);
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : ctx.opts.port;
  hosts = allowedHosts(ctx.opts.host, port);
  const shown = ctx.opts.host === "0.0.0.0" || ctx.opts.host === "::" ? "127.0.0.1" : ctx.opts.host.includes(":") ? `[${ctx.opts.host}]` : ctx.opts.host;
  return {
    url: `http://${shown}:${port}/`, app, ctx,
    close: async () => {
      await app.close();
      await closeThreads();
    },
  };
}
