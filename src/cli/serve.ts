import { spawn } from "node:child_process";
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { packageRoot } from "../package-root.js";
import { startServer } from "../serve/app.js";
import { DEFAULTS } from "../serve/context.js";
import { getBackend } from "../backend/index.js";
import { resolvePrecision } from "../backend/precision.js";
import { withExifFlag, MODEL_HELP, checkpointFlags, positiveInt, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";
import { resolveModel, resolveModelPath } from "./resolve-run.js";
import { existsSync, statSync } from "node:fs";
import { CATR_TOKENIZER } from "../caption/wordpiece-tokenizer.js";
import { downloadTokenizer } from "../hub/tokenizer-files.js";
import { hubOptionsFromEnv } from "../hub/download.js";
import { downloadProgress } from "./progress.js";

interface Options {
  model: string; captioner: string; tokenizer: string; port: number; host: string; open?: boolean; queue: number; maxUpload: number; maxPixels: number;
  runs: string; imageSize?: [number, number]; threads: number;
}

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port 0..65535 (0: any free port)");
  return n;
};
const megabytes = (v: string): number => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError("expected a size in MB, e.g. 20");
  return Math.round(n * 1024 * 1024);
};

export function serveCommand(): Command {
  const bundled = (name: string) => join(packageRoot(), "models", name);
  return withExifFlag(withPrecisionFlag(withCheckpointFlags(new Command("serve"))))
    .description("a local explorer in the browser: predictions, attention (hover a patch), layers x heads, DINO heads, position embeddings, captions, runs")
    .option("--model <spec>", `${MODEL_HELP} (default: the bundled Fashion-MNIST ViT)`, bundled("fashion-mnist-vit"))
    .option("--captioner <dir|none>", "captioner folder or train-captioner run, a CATR checkpoint (.pth), or none (default: the bundled one)", bundled("fashion-grid-captioner"))
    .option("--tokenizer <spec>", "a CATR captioner's WordPiece vocabulary: vocab.txt, tokenizer.json or Hub id", CATR_TOKENIZER)
    .option("--port <n>", "port (0: any free one)", port, DEFAULTS.port)
    .option("--host <address>", "address to listen on (loopback by default; 0.0.0.0 exposes it to the network)", DEFAULTS.host)
    .option("--open", "open the page in the default browser")
    .option("--queue <n>", "requests waiting per model before answering 503", positiveInt, DEFAULTS.queue)
    .addOption(new Option("--max-upload <MB>", "largest upload, in MB").argParser(megabytes).default(DEFAULTS.maxUpload, String(DEFAULTS.maxUpload / 1024 / 1024)))
    .option("--max-pixels <n>", "largest image, in pixels (checked before decoding)", positiveInt, DEFAULTS.maxPixels)
    .option("--runs <dir>", "folder of training runs for the runs view", DEFAULTS.runs)
    .option("--threads <n>", "OpenMP threads per model thread (the ViT, captioner and report threads share the cores; 0: all)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a thread count (0: the backend's default)");
      return n;
    }, DEFAULTS.threads)
    .action(async (o: Options & CheckpointFlagValues & PrecisionFlagValues) => {
      // Resolved here, once: the model threads get a precision, never "auto".
      const { precision, note } = resolvePrecision(o.precision ?? "fp32", getBackend());
      if (note) process.stderr.write(`vitlens: ${note}\n`);
      if (o.host !== "127.0.0.1" && o.host !== "localhost" && o.host !== "::1") {
        process.stderr.write(`vitlens: warning: --host ${o.host} makes the explorer reachable from other machines; it has no login (no write endpoints, no credentials, but anyone who can reach it can use it)\n`);
      }
      const server = await startServer({
        model: await resolveModel(o.model),
        loadOptions: checkpointFlags(o),
        captioner: o.captioner === "none" ? null : resolveModelPath(o.captioner),
        captionerTokenizer: isCatrFile(o.captioner) ? await tokenizerFile(o.tokenizer) : null,
        host: o.host, port: o.port, queue: o.queue, maxUpload: o.maxUpload, maxPixels: o.maxPixels, runs: o.runs, threads: o.threads, precision,
      });
      const info = server.ctx.vit.info;
      for (const n of info.notes) process.stderr.write(`vitlens: ${n}\n`);
      if (server.ctx.captionerError && o.captioner !== "none") process.stderr.write(`vitlens: warning: ${server.ctx.captionerError}\n`);
      process.stdout.write(`vitlens explorer: ${server.url}  (model ${info.source}, ${info.backend} backend; Ctrl-C stops it)\n`);
      if (o.open) spawn(process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open", [server.url], { stdio: "ignore", detached: true }).on("error", () => {}).unref();
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.stderr.write("vitlens: stopping\n");
          void server.close().then(resolve);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}

/** A CATR checkpoint is one file; a captioner folder is not. */
function isCatrFile(spec: string): boolean {
  return existsSync(spec) && statSync(spec).isFile();
}

/** --tokenizer as a local file for the captioner's thread: a path as given, a Hub id fetched into the cache. */
async function tokenizerFile(spec: string): Promise<string> {
  if (existsSync(spec)) return spec;
  return downloadTokenizer(spec, { ...hubOptionsFromEnv(), progress: downloadProgress() }, ["vocab.txt"]);
}
