import { VitlensError } from "../errors.js";
import type { Backend } from "./backend.js";
import { jsBackend } from "./js.js";
import { loadNativeBackend } from "./native.js";

export type { Backend } from "./backend.js";
export { jsBackend } from "./js.js";

let selected: Backend | undefined;

/**
 * The backend to compute on: `VITLENS_BACKEND=native|js` picks one explicitly; unset, native
 * when the addon loads, else js with one warning (js is a reference, ~100x slower).
 */
export function getBackend(): Backend {
  if (selected) return selected;
  checkThreadsVariable();
  const wanted = process.env.VITLENS_BACKEND;
  if (wanted === "js") return (selected = jsBackend);
  if (wanted === "native") {
    try {
      return (selected = loadNativeBackend());
    } catch (e) {
      throw new VitlensError(`VITLENS_BACKEND=native: ${(e as Error).message}; rebuild with \`npm run build:native\` (needs libdnnl-dev, g++)`);
    }
  }
  if (wanted !== undefined && wanted !== "") {
    throw new VitlensError(`VITLENS_BACKEND=${wanted}: expected "native" or "js"`);
  }
  try {
    selected = loadNativeBackend();
  } catch (e) {
    process.stderr.write(
      `vitlens: warning: running on the slow js reference backend (${(e as Error).message}). ` +
        "Install libdnnl-dev and run `npm run build:native` for the native engine.\n",
    );
    selected = jsBackend;
  }
  return selected;
}

/** VITLENS_THREADS: a whole number of threads (0, empty or unset: all cores); anything else is refused, never ignored. */
export function checkThreadsVariable(value = process.env.VITLENS_THREADS): void {
  if (value === undefined || /^\s*\d*\s*$/.test(value)) return;
  throw new VitlensError(`VITLENS_THREADS=${value}: expected a whole number of threads (0 or unset: all cores)`);
}

/** The native backend, or null when it is not available: for tests that compare the two. */
export function tryNativeBackend(): ReturnType<typeof loadNativeBackend> | null {
  try {
    return loadNativeBackend();
  } catch {
    return null;
  }
}
