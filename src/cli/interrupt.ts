/**
 * Runs a training loop with Ctrl-C handling: the first interrupt asks the loop to save a
 * resumable state after its current step (exit code 130); a second one leaves at once — the
 * state on disk is still whole, since every write is atomic.
 */
export async function withInterrupt(run: (interrupted: () => boolean) => Promise<{ interrupted: boolean }>): Promise<void> {
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write("\nvitlens: interrupt: saving a resumable state after this step (Ctrl-C again to quit now)\n");
  };
  process.on("SIGINT", onSigint);
  try {
    if ((await run(() => interrupted)).interrupted) process.exitCode = 130;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
