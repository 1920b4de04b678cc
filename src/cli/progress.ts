import cliProgress from "cli-progress";
import type { DownloadProgress } from "../hub/download.js";
import type { TrainReporter } from "../train/run-loop.js";
import { writeOut } from "./stdio.js";

/*
 * Progress on stderr, the same everywhere: a live bar (cli-progress) when stderr is a terminal,
 * otherwise a plain line at every 10% of the work; `--quiet` silences both. Results go to stdout.
 */

let quiet = false;

/** --quiet: no bars and no progress lines (warnings, notes and errors still print). */
export function setQuiet(on: boolean): void {
  quiet = on;
}

/** A task of `total` items: `update(done)` as they finish, `print` for a result line, `stop` at the end. */
export interface TaskProgress {
  update(done: number): void;
  /** Writes `text` to stdout without tearing a live bar on the terminal. */
  print(text: string): void;
  stop(): void;
}

/**
 * Progress of `total` items of `unit` ("images", "captions", "runs"), labelled `label`. On a
 * terminal a bar with the rate and ETA; otherwise `label done/total unit (p%), rate, ETA` at each
 * 10% (nothing for a single item). Nothing with --quiet.
 */
export function taskProgress(label: string, total: number, unit: string): TaskProgress {
  const started = Date.now();
  let bar: cliProgress.SingleBar | null = null;
  let nextLine = 1; // the next tenth that gets a line
  const rate = (done: number) => done / Math.max((Date.now() - started) / 1000, 1e-3);
  if (!quiet && process.stderr.isTTY === true && total > 0) {
    bar = new cliProgress.SingleBar({
      format: `${label} {bar} {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      stream: process.stderr, hideCursor: true, barsize: 24, etaBuffer: 20, clearOnComplete: true,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { rate: "-" });
  }
  return {
    update: (done) => {
      if (bar) {
        bar.update(done, { rate: rate(done).toFixed(1) });
        return;
      }
      if (quiet || total <= 1) return;
      if (done * 10 < nextLine * total && done < total) return;
      nextLine = Math.floor((done * 10) / total) + 1;
      const left = done < total ? `, ${formatSeconds((total - done) / rate(done))} left` : "";
      process.stderr.write(`${label} ${done}/${total} ${unit} (${Math.floor((100 * done) / total)}%), ${rate(done).toFixed(1)} ${unit}/s${left}\n`);
    },
    print: (text) => {
      if (bar) process.stderr.write("\r\x1b[K");
      writeOut(text);
      bar?.render();
    },
    stop: () => {
      bar?.stop();
      bar = null;
    },
  };
}

/** A task whose total is known only when the first report comes (a callback's `(done, total)`). */
export function lazyProgress(label: string, unit: string): { update(done: number, total: number): void; stop(): void } {
  let task: TaskProgress | null = null;
  return {
    update: (done, total) => (task ??= taskProgress(label, total, unit)).update(done),
    stop: () => {
      task?.stop();
      task = null;
    },
  };
}

/** "<1 s", "about 12 s", "about 3 min", "about 1.5 h". */
function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 1) return "<1 s";
  if (s < 90) return `about ${Math.ceil(s)} s`;
  if (s < 5400) return `about ${Math.round(s / 60)} min`;
  return `about ${(s / 3600).toFixed(1)} h`;
}

/**
 * Training progress on stderr: a live bar on a terminal (epoch, step, loss, running accuracy,
 * images/s, ETA); when not a TTY, a plain line every 10% of an epoch.
 */
export function progressReporter(): TrainReporter {
  const tty = process.stderr.isTTY === true && !quiet;
  let bar: cliProgress.SingleBar | null = null;
  let steps = 0;
  let epochLabel = "";
  let nextQuiet = 0;
  const validation = lazyProgress("validation", "images");
  return {
    log: (line) => {
      if (bar) bar.stop();
      process.stderr.write(`${line}\n`);
      bar = null;
    },
    startEpoch: (epoch, total, start) => {
      steps = total;
      epochLabel = `epoch ${epoch + 1}`;
      nextQuiet = start + Math.ceil(total / 10);
      if (tty) {
        bar = new cliProgress.SingleBar({
          format: `${epochLabel} {bar} {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | lr {lr} | ETA {eta_formatted}`,
          stream: process.stderr, hideCursor: true, barsize: 24, etaBuffer: 50,
        }, cliProgress.Presets.shades_classic);
        bar.start(total, start, { loss: "-", acc: "-", ips: "-", lr: "-" });
      }
    },
    step: ({ step, loss, accuracy, imagesPerSecond, lr }) => {
      const payload = { loss: loss.toFixed(4), acc: `${(100 * accuracy).toFixed(1)}%`, ips: imagesPerSecond.toFixed(1), lr: lr.toExponential(1) };
      if (bar) bar.update(step, payload);
      else if (!tty && !quiet && (step >= nextQuiet || step === steps)) {
        process.stderr.write(`${epochLabel} step ${step}/${steps} loss ${payload.loss} acc ${payload.acc} ${payload.ips} img/s lr ${payload.lr}\n`);
        nextQuiet = step + Math.ceil(steps / 10);
      }
    },
    endEpoch: () => {
      bar?.stop();
      bar = null;
    },
    evalProgress: (done, total) => {
      validation.update(done, total);
      if (done >= total) validation.stop();
    },
  };
}

/**
 * Download progress on stderr: a bar with bytes and speed on a terminal; otherwise a line when a
 * file starts and ends, and one at every 10% of a file over 10 MB. Nothing with --quiet.
 */
export function downloadProgress(): DownloadProgress {
  const tty = process.stderr.isTTY === true && !quiet;
  let nextTenth = 1;
  let bar: cliProgress.SingleBar | null = null;
  let done = 0;
  let name = "";
  let total = 0;
  let resumed = 0;
  let startedAt = 0;
  return {
    start: (filename, totalBytes, resumedAt) => {
      [name, total, done, resumed, startedAt] = [filename, totalBytes, resumedAt, resumedAt, Date.now()];
      const resumeNote = resumedAt ? `, resuming at ${megabytes(resumedAt)}` : "";
      nextTenth = Math.floor((10 * resumedAt) / Math.max(totalBytes, 1)) + 1;
      if (quiet) return;
      if (!tty) {
        process.stderr.write(`downloading ${filename} (${totalBytes ? megabytes(totalBytes) : "size unknown"}${resumeNote})\n`);
        return;
      }
      bar = new cliProgress.SingleBar({
        format: `${filename} {bar} {percentage}% | {got}/{size} | {speed} | ETA {eta_formatted}`,
        stream: process.stderr, hideCursor: true, barsize: 24, etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      bar.start(Math.max(totalBytes, 1), resumedAt, { got: megabytes(resumedAt), size: megabytes(totalBytes), speed: "-" });
    },
    advance: (bytes) => {
      done += bytes;
      const seconds = (Date.now() - startedAt) / 1000;
      const speed = seconds > 0 ? `${megabytes((done - resumed) / seconds)}/s` : "-";
      bar?.update(done, { got: megabytes(done), speed });
      if (!bar && !quiet && total >= 10e6 && done < total && done * 10 >= nextTenth * total) {
        nextTenth = Math.floor((10 * done) / total) + 1;
        process.stderr.write(`${name} ${megabytes(done)}/${megabytes(total)} (${Math.floor((100 * done) / total)}%), ${speed}\n`);
      }
    },
    stop: () => {
      if (bar) bar.stop();
      else if (!tty && !quiet && total && done >= total) process.stderr.write(`downloaded ${name}\n`);
      bar = null;
    },
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
