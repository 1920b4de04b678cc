import { existsSync } from "node:fs";
import { join } from "node:path";

/** `--model RUN` means the run's best model; anything else is passed through to loadModel. */
export function resolveModelPath(spec: string): string {
  return existsSync(join(spec, "best", "config.json")) ? join(spec, "best") : spec;
}
