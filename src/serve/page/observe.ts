// What the page shows, for tests and scripts (window.vitlens): read only, never read by the page.

export interface Shown {
  /** The state key the answer was made for. */
  key: string;
  data: unknown;
  /** performance.now() when it was drawn. */
  at: number;
}

export const observed = {
  state: null as unknown,
  /** Per view or piece (classify.map, classify.hover, classify.top, heads, dino, posemb, caption, runs.NAME): what is on screen. */
  shown: {} as Record<string, Shown>,
  timings: {} as Record<string, number>,
  /** Busy indicators shown (waits over 150 ms): which slot, for how long. */
  busy: [] as Array<{ slot: string; ms: number }>,
  requests: { started: 0, aborted: 0, dropped: 0 },
  /** Images uploaded again because the server no longer held them. */
  reuploads: 0,
};
(window as unknown as { vitlens: typeof observed }).vitlens = observed;

export function show(piece: string, key: string, data: unknown): void {
  observed.shown[piece] = { key, data, at: performance.now() };
}

export function forget(piece: string): void {
  delete observed.shown[piece];
}
