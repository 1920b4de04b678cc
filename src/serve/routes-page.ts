import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { NotFoundError } from "./api-errors.js";
import type { ServerContext } from "./context.js";
import { paths, type SamplesAnswer } from "./contract.js";
import { PAGE_HTML } from "./page-html.js";
import { IMAGE_TYPES, sampleFiles, sampleSets, samplesFor } from "./samples.js";

const require = createRequire(import.meta.url);

/** The page's compiled scripts (tsconfig in src/serve/page/ writes them to page-js/), by path under /app/. */
function pageScripts(): Map<string, Buffer> {
  const root = join(dirname(fileURLToPath(import.meta.url)), "page-js");
  const out = new Map<string, Buffer>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) walk(path);
      else if (f.endsWith(".js")) out.set(relative(root, path).split(sep).join("/"), readFileSync(path));
    }
  };
  walk(root);
  if (!out.has("page/app.js")) throw new Error(`the explorer page is not built (${root}): run npm run build`);
  return out;
}

/**
 * The page: its HTML, its scripts, Chart.js from node_modules, and the sample images. Every
 * file is on a list made at start; no request path is ever joined onto a folder.
 */
export function pageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const scripts = pageScripts();
  const chart = readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"));
  const sets = sampleSets();
  const files = sampleFiles(sets);
  const { config, labels, source } = ctx.vit.info;
  const samples: SamplesAnswer = samplesFor(sets, { labels, imageSize: config.imageSize, source }, ctx.captionerInfo);

  app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").header("cache-control", "no-cache").send(PAGE_HTML));
  app.get("/favicon.ico", async (_req, reply) => reply.code(204).send());
  app.get("/vendor/chart.umd.min.js", async (_req, reply) => reply.type("text/javascript").send(chart));
  app.get<{ Params: { "*": string } }>("/app/*", async (req, reply) => {
    const js = scripts.get(req.params["*"]);
    if (!js) throw new NotFoundError(`no such page file ${req.params["*"]}`);
    return reply.type("text/javascript").header("cache-control", "no-cache").send(js);
  });
  app.get(paths.samples, async () => samples);
  app.get<{ Params: { "*": string } }>("/samples/*", async (req, reply) => {
    const path = files.get(req.params["*"]);
    if (!path) throw new NotFoundError(`no such sample ${req.params["*"]}`);
    return reply.type(IMAGE_TYPES[extname(path).toLowerCase()]).header("cache-control", "max-age=3600").send(readFileSync(path));
  });
}
