import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { readJson } from "../io/read-json.js";
import { readMetrics } from "../train/metrics.js";
import type { ServerContext } from "./context.js";
import { BoundedQueue } from "./queue.js";
import { cachedAnswer } from "./routes-model.js";
import { ThreadClient } from "../worker/thread-client.js";
import { listRuns, MetricsTail, resolveRun } from "./runs.js";
import { SECURITY_HEADERS } from "./security.js";

class NotFound extends Error {
  statusCode = 404;
}

/** Runs under --runs: the list, one run's run.json and metrics, and its metrics live (Server-Sent Events). */
export function runRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const dir = resolve(ctx.opts.runs);
  const run = (name: string) => {
    const path = resolveRun(dir, name);
    if (!path) throw new NotFound(`run ${JSON.stringify(name)}: no such run under ${ctx.opts.runs}`);
    return path;
  };

  // vitlens report's evaluation and gallery, computed in a thread started on first use.
  let reporter: Promise<ThreadClient<unknown>> | null = null;
  const reportQueue = new BoundedQueue(2, "report");
  app.addHook("onClose", async () => {
    if (reporter) await (await reporter).close();
  });
  app.get<{ Params: { name: string } }>("/api/runs/:name/report", async (req, reply) => {
    const path = run(req.params.name);
    const best = ["best", "last"].map((d) => join(path, d, "model.safetensors")).find((f) => existsSync(f));
    const version = best ? `${best}@${statSync(best).mtimeMs}` : "none";
    const json = await cachedAnswer(ctx, `report/${path}/${version}`, () => reportQueue.run(async () => {
      reporter ??= ThreadClient.start<unknown>(new URL("./report-thread.js", import.meta.url), { threads: ctx.opts.threads, precision: ctx.opts.precision });
      return (await reporter).call("report", { run: path });
    }));
    return reply.type("application/json").send(json);
  });

  app.get("/api/runs", async () => ({ dir: ctx.opts.runs, exists: existsSync(dir), runs: listRuns(dir) }));

  app.get<{ Params: { name: string } }>("/api/runs/:name", async (req) => {
    const path = run(req.params.name);
    const info = existsSync(join(path, "run.json")) ? readJson(join(path, "run.json")) : null;
    return { name: req.params.name, run: info, metrics: readMetrics(join(path, "metrics.jsonl")) };
  });

  // First a "reset" event with every record so far, then one "metric" event per new line; "reset"
  // again when the file is replaced by another (a resumed run rewrites it shorter).
  app.get<{ Params: { name: string } }>("/api/runs/:name/events", (req, reply) => {
    const tail = new MetricsTail(join(run(req.params.name), "metrics.jsonl"));
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    let first = true;
    let busy = false;
    const send = async () => {
      if (busy) return;
      busy = true;
      try {
        const update = await tail.poll();
        if (first || update?.reset) res.write(`event: reset\ndata: ${JSON.stringify(update?.records ?? [])}\n\n`);
        else if (update) for (const r of update.records) res.write(`event: metric\ndata: ${JSON.stringify(r)}\n\n`);
        first = false;
      } finally {
        busy = false;
      }
    };
    void send();
    const timer = setInterval(() => void send(), ctx.opts.pollMs);
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    req.raw.on("close", () => {
      clearInterval(timer);
      clearInterval(keepAlive);
    });
  });
}
