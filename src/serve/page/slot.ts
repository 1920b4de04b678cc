// One piece of the page that loads something: a newer load aborts the older one, an answer for an
// older state is dropped, and the piece shows it is busy when a load takes over 150 ms.
import { isAbort } from "./api.js";
import { observed } from "./observe.js";

export const BUSY_AFTER_MS = 150;

export class Slot {
  private ctl: AbortController | null = null;
  private seq = 0;
  /** The key of what is loading or shown; a render with the same key loads nothing. */
  key: string | null = null;

  constructor(readonly name: string, private readonly target: () => HTMLElement) {}

  /** Loads `key` (aborting any other load); the answer, or null when a newer load or cancel() came first. */
  async load<T>(key: string, fetcher: (signal: AbortSignal) => Promise<T>): Promise<T | null> {
    this.ctl?.abort();
    const ctl = new AbortController();
    this.ctl = ctl;
    const mine = ++this.seq;
    this.key = key;
    const el = this.target();
    const started = performance.now();
    let shownBusy = false;
    const timer = setTimeout(() => {
      if (mine !== this.seq) return;
      shownBusy = true;
      el.classList.add("busy");
      el.setAttribute("aria-busy", "true");
    }, BUSY_AFTER_MS);
    try {
      const value = await fetcher(ctl.signal);
      if (mine !== this.seq) {
        observed.requests.dropped++;
        return null;
      }
      return value;
    } catch (e) {
      if (mine !== this.seq || isAbort(e)) return null;
      throw e;
    } finally {
      clearTimeout(timer);
      if (mine === this.seq) {
        this.ctl = null;
        el.classList.remove("busy");
        el.removeAttribute("aria-busy");
      }
      if (shownBusy) observed.busy.push({ slot: this.name, ms: performance.now() - started });
    }
  }

  /** Stops any load; the next render loads again. */
  cancel(): void {
    this.ctl?.abort();
    this.ctl = null;
    this.seq++;
    this.key = null;
    const el = this.target();
    el.classList.remove("busy");
    el.removeAttribute("aria-busy");
  }
}
