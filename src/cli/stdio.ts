/*
 * Pipes. Results go to stdout, everything else (progress, notes, warnings, errors) to stderr. A
 * stdout closed by its reader (`vitlens predict --json ... | head -1`) is no error: a command
 * whose results are only on stdout ends at once with exit 0; a command that also writes files
 * (declared through outputs.ts) finishes them first, its stdout lines dropped.
 */

let closed = false;
let writesFiles = false;

/** Installs the handlers (main.ts, once per process). */
export function watchPipes(): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE" && e.code !== "ERR_STREAM_DESTROYED") throw e;
    closed = true;
    if (!writesFiles) process.exit(0);
  });
  // A closed stderr leaves nobody to tell; the command goes on (its exit status still says how it ended).
  process.stderr.on("error", () => undefined);
}

/** The command writes files: a closed stdout must not stop it before they are written. */
export function finishFilesWhenStdoutCloses(): void {
  writesFiles = true;
}

/** A result line (or lines) on stdout; dropped once stdout is closed. */
export function writeOut(text: string): void {
  if (!closed) process.stdout.write(text);
}
