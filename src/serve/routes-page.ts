import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { packageRoot } from "../package-root.js";
import { PAGE_HTML } from "./page-html.js";

const require = createRequire(import.meta.url);
const TYPES: Record<string, string> = { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp" };

/** The bundled sample images, by the name the page shows (fashion/0_t-shirt-top.png, cat.jpg, ...). */
export function sampleFiles(): Map<string, string> {
  const root = join(packageRoot(), "samples");
  const out = new Map<string, string>();
  for (const sub of ["fashion", ""]) {
    const dir = join(root, sub);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (TYPES[extname(f).toLowerCase()]) out.set(sub ? `${sub}/${f}` : f, join(dir, f));
  }
  return out;
}

/**
 * The page: its HTML, its scripts (compiled from src/serve/page/ next to this file), Chart.js
 * from node_modules, and the sample images. Every file is on a list made at start; no request
 * path is ever joined onto a folder.
 */
export function pageRoutes(app: FastifyInstance): void {
  const pageDir = join(dirname(fileURLToPath(import.meta.url)), "page");
  const scripts = new Map(readdirSync(pageDir).filter((f) => f.endsWith(".js")).map((f) => [f, readFileSync(join(pageDir, f))]));
  const chart = readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"));
  const samples = sampleFiles();

  app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").send(PAGE_HTML));
  app.get("/favicon.ico", async (_req, reply) => reply.code(204).send());
  app.get("/vendor/chart.umd.min.js", async (_req, reply) => reply.type("text/javascript").send(chart));
  app.get<{ Params: { file: string } }>("/app/:file", async (req, reply) => {
    const js = scripts.get(req.params.file);
    if (!js) return reply.code(404).send({ error: `no such page file ${req.params.file}` });
    return reply.type("text/javascript").send(js);
  });
  app.get("/api/samples", async () => ({ samples: [...samples.keys()] }));
  app.get<{ Params: { "*": string } }>("/samples/*", async (req, reply) => {
    const path = samples.get(req.params["*"]);
    if (!path) return reply.code(404).send({ error: `no such sample ${req.params["*"]}` });
    return reply.type(TYPES[extname(path).toLowerCase()]).send(readFileSync(path));
  });
}
