/*
 * Ctrl-C. By default it ends the command at once: `vitlens: interrupted`, exit 130. A command with
 * work worth keeping (predict's rows, attention's maps, a training run's state) claims the first
 * Ctrl-C instead: it stops at the next safe point, saves what is done, says in one line what was
 * kept, and still exits 130. A second Ctrl-C quits at once; every file is written atomically, so
 * what is on disk stays whole. A command that handles SIGINT itself (serve) is left alone.
 */

let requested = false;
let claimed = false;
let ack: string | undefined;

/** Installs the handler (main.ts, once per process). */
export function watchInterrupt(): void {
  process.on("SIGINT", () => {
    if (!claimed && process.listenerCount("SIGINT") > 1) return; // the command stops itself
    if (requested || !claimed) {
      process.stderr.write(`\nvitlens: interrupted${claimed ? " (a second Ctrl-C: nothing more saved)" : ""}\n`);
      process.exit(130);
    }
    requested = true;
    if (ack) process.stderr.write(`\nvitlens: interrupt: ${ack} (Ctrl-C again to quit now)\n`);
  });
}

/**
 * The command saves what is done on Ctrl-C: from now on the first one only sets the flag this
 * returns (checked between images, steps, ...). `acknowledge`: said at once when the stop may take
 * a while (training finishes its step first).
 */
export function catchInterrupt(acknowledge?: string): () => boolean {
  claimed = true;
  ack = acknowledge;
  return () => requested;
}

let completed = false;

/** The command completed all its work although a Ctrl-C came (after its last safe point): it exits 0. */
export function finishedAnyway(): void {
  completed = true;
}

/**
 * After a command's loop over `total` items: whether a Ctrl-C stopped it before the last one was
 * done (it says what it kept and exits 130). A Ctrl-C after the last item stopped nothing: exit 0.
 */
export function stoppedEarly(done: number, total: number): boolean {
  if (!requested) return false;
  if (done >= total) finishedAnyway();
  return done < total;
}

/** Whether a claimed Ctrl-C stopped the command early: it has saved what it could and exits 130. */
export const wasInterrupted = (): boolean => requested && !completed;
