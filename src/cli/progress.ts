import cliProgress from "cli-progress";
import type { DownloadProgress } from "../hub/download.js";
import type { TrainReporter } from "../train/run-loop.js";

/**
 * Training progress on stderr: a live bar on a terminal (epoch, step, loss, running accuracy,
 * images/s, ETA); when not a TTY, a plain line every 10% of an epoch.
 */
export function progressReporter(): TrainReporter {
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let steps = 0;
  let epochLabel = "";
  let nextQuiet = 0;
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
      else if (!tty && (step >= nextQuiet || step === steps)) {
        process.stderr.write(`${epochLabel} step ${step}/${steps} loss ${payload.loss} acc ${payload.acc} ${payload.ips} img/s lr ${payload.lr}\n`);
        nextQuiet = step + Math.ceil(steps / 10);
      }
    },
    endEpoch: () => {
      bar?.stop();
      bar = null;
    },
  };
}

/** Download progress on stderr: a bar with bytes and speed on a terminal, one line per file otherwise. */
export function downloadProgress(): DownloadProgress {
  const tty = process.stderr.isTTY === true;
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
      bar?.update(done, { got: megabytes(done), speed: seconds > 0 ? `${megabytes((done - resumed) / seconds)}/s` : "-" });
    },
    stop: () => {
      if (bar) bar.stop();
      else if (!tty && total && done >= total) process.stderr.write(`downloaded ${name}\n`);
      bar = null;
    },
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
