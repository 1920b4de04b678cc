import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ServerResponse } from "node:http";
import { stringify } from "csv-stringify/sync";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { readJson } from "../io/read-json.js";
import { readMetrics } from "../train/metrics.js";
import { NotFoundError } from "./api-errors.js";
import { cachedAnswer } from "./answers.js";
import type { ServerContext } from "./context.js";
import { METRIC_EVENT, paths, RESET_EVENT, RUNS_EVENT, type RunAnswer, type RunReportAnswer, type RunsAnswer } from "./contract.js";
import { BoundedQueue } from "./queue.js";
import type { ReportHandlers } from "./report-thread.js";
import { TypedThread } from "./rpc.js";
import { runSummary } from "./run-summary.js";
import { listRuns, MetricsTail, resolveRun } from "./runs.js";
import { SECURITY_HEADERS } from "./security.js";

/** Opens a Server-Sent Events stream; `poll` runs now and every `ms` until the client goes. */
function eventStream(req: FastifyRequest, reply: FastifyReply, ms: number, poll: (res: ServerResponse) => Promise<void>): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await poll(res);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), ms);
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
  req.raw.on("close", () => {
    clearInterval(timer);
    clearInterval(keepAlive);
  });
}

const send = (res: ServerResponse, event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

/** Runs under --runs: the list (live), one run's run.json and metrics (live), its CSV, and vitlens report's evaluation. */
export function runRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const dir = resolve(ctx.opts.runs);
  const run = (name: string) => {
    const path = resolveRun(dir, name);
    if (!path) throw new NotFoundError(`run ${JSON.stringify(name)}: no such run under ${ctx.opts.runs}`);
    return path;
  };
  const list = (): RunsAnswer => ({ dir: ctx.opts.runs, exists: existsSync(dir), runs: listRuns(dir).map((n) => runSummary(n, join(dir, n))) });

  // vitlens report's evaluation and gallery, computed in a thread started on first use.
  let reporter: Promise<TypedThread<ReportHandlers, unknown>> | null = null;
  const reportQueue = new BoundedQueue(2, "report");
  app.addHook("onClose", async () => {
    if (reporter) await (await reporter).close();
  });
  app.get<{ Params: { name: string } }>("/api/runs/:name/report", async (req, reply) => {
    const path = run(req.params.name);
    const best = ["best", "last"].map((d) => join(path, d, "model.safetensors")).find((f) => existsSync(f));
    const version = best ? `${best}@${statSync(best).mtimeMs}` : "none";
    const json = await cachedAnswer(ctx, `report/${path}/${version}`, () => reportQueue.run(async () => {
      reporter ??= TypedThread.start<ReportHandlers, unknown>(new URL("./report-thread.js", import.meta.url), { threads: ctx.opts.threads, precision: ctx.opts.precision });
      return (await reporter).call("report", { run: path }) satisfies Promise<RunReportAnswer>;
    }));
    return reply.type("application/json").send(json);
  });

  app.get(paths.runs, async () => list());

  // The list again whenever a run appears, goes, or changes status, epochs, steps or model.
  app.get(paths.runsEvents, (req, reply) => {
    let last = "";
    eventStream(req, reply, ctx.opts.pollMs, async (res) => {
      const now = JSON.stringify(list());
      if (now !== last) send(res, RUNS_EVENT, JSON.parse(now));
      last = now;
    });
  });

  app.get<{ Params: { name: string } }>("/api/runs/:name", async (req): Promise<RunAnswer> => {
    const path = run(req.params.name);
    const info = existsSync(join(path, "run.json")) ? readJson(join(path, "run.json")) : null;
    return { name: req.params.name, run: info, metrics: readMetrics(join(path, "metrics.jsonl")), summary: runSummary(req.params.name, path) };
  });

  // Every record as a CSV row: the union of the records' fields as columns, lists as JSON.
  app.get<{ Params: { name: string } }>("/api/runs/:name/metrics.csv", async (req, reply) => {
    const records = readMetrics(join(run(req.params.name), "metrics.jsonl"));
    const columns = [...new Set(records.flatMap((r) => Object.keys(r)))];
    const rows = records.map((r) => columns.map((c) => (r[c] === undefined || r[c] === null ? "" : typeof r[c] === "object" ? JSON.stringify(r[c]) : r[c])));
    return reply.type("text/csv; charset=utf-8").header("content-disposition", `attachment; filename="${req.params.name}.metrics.csv"`)
      .send(stringify(rows, { header: true, columns }));
  });

  // First a "reset" event with every record so far, then one "metric" event per new line; "reset"
  // again when the file is replaced by another (a resumed run rewrites it shorter).
  app.get<{ Params: { name: string } }>("/api/runs/:name/events", (req, reply) => {
    const tail = new MetricsTail(join(run(req.params.name), "metrics.jsonl"));
    let first = true;
    eventStream(req, reply, ctx.opts.pollMs, async (res) => {
      const update = await tail.poll();
      if (first || update?.reset) send(res, RESET_EVENT, update?.records ?? []);
      else if (update) for (const r of update.records) send(res, METRIC_EVENT, r);
      first = false;
    });
  });
}
