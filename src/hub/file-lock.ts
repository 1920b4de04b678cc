import lockfile from "proper-lockfile";
import { VitlensError } from "../errors.js";

/**
 * One download of a cache file at a time, across processes: two runs fetching the same checkpoint
 * would otherwise append to the same partial file. The lock is `<path>.lock` (a directory,
 * proper-lockfile's), refreshed while held and taken over once stale (its holder died), so a
 * killed run never blocks the next one for long. A waiting run says so once, then waits.
 */
export interface FileLockOptions {
  /** Names the file in the waiting line and the error. */
  label: string;
  /** Give up after this long (default 30 minutes: a multi-GB download on a slow line). */
  waitMs?: number;
  /** Told once when another process holds the lock. */
  onWait?: (line: string) => void;
}

const POLL_MS = 500;
const STALE_MS = 20_000; // a lock not refreshed for this long is a dead holder's

export async function withFileLock<T>(path: string, o: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + (o.waitMs ?? 30 * 60_000);
  let told = false;
  for (;;) {
    let release: () => Promise<void>;
    try {
      // A lock lost midway (another process judged it stale) must not throw from a timer: the
      // download's size and sha256 checks still guard what lands in the cache.
      release = await lockfile.lock(path, { realpath: false, stale: STALE_MS, retries: 0, onCompromised: () => {} });
    } catch (e) {
      if ((e as { code?: string }).code !== "ELOCKED") throw e;
      if (Date.now() >= deadline) {
        throw new VitlensError(`${o.label}: another process has been downloading it for too long (lock ${path}.lock); run again when it is done, or delete the lock if no download is running`);
      }
      if (!told) o.onWait?.(`${o.label}: another process is downloading it; waiting (lock ${path}.lock)`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      continue;
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => {}); // already released or taken over as stale: nothing to undo
    }
  }
}
