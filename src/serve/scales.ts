// Colour scales shared by several maps: the page's canvases and the PNG export use these, so a
// map has the same colours in both. No Node and no DOM: both tsconfigs compile this file.
import type { ScaleMode } from "./contract.js";

/** The values' range; with `zero`, from 0 (a near-uniform map then looks near-uniform). */
export function rangeOf(values: ArrayLike<number>, zero: boolean): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = 0; i < values.length; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  if (lo === Infinity) return [0, 1];
  return [zero ? Math.min(0, lo) : lo, hi];
}

const merge = (a: [number, number], b: [number, number]): [number, number] => [Math.min(a[0], b[0]), Math.max(a[1], b[1])];

/**
 * One range per map: its own ("map"), its layer's (the maps sharing `layer`), or one over
 * every map ("view").
 */
export function sharedRanges(maps: Array<{ layer: number | null; values: ArrayLike<number> }>, mode: ScaleMode, zero: boolean): Array<[number, number]> {
  const own = maps.map((m) => rangeOf(m.values, zero));
  if (mode === "map") return own;
  if (mode === "view") {
    const all = own.reduce(merge, own[0] ?? [0, 1]);
    return own.map(() => all);
  }
  const byLayer = new Map<number | null, [number, number]>();
  own.forEach((r, i) => byLayer.set(maps[i].layer, byLayer.has(maps[i].layer) ? merge(byLayer.get(maps[i].layer)!, r) : r));
  return maps.map((m) => byLayer.get(m.layer)!);
}

/** A value on a range as a position in [0, 1] (a flat range is all 0). */
export function unit(v: number, [lo, hi]: [number, number]): number {
  return Math.min(Math.max((v - lo) / (hi - lo || 1), 0), 1);
}

/** Short text for a value, fixed to the range's magnitude (colour bars and hover read-outs). */
export function formatValue(v: number, [lo, hi]: [number, number]): string {
  const span = Math.max(Math.abs(lo), Math.abs(hi));
  if (span === 0 || v === 0) return "0";
  if (span < 1e-3 || span >= 1e5) return v.toExponential(2);
  const digits = Math.max(0, 3 - Math.floor(Math.log10(span)));
  return v.toFixed(digits);
}
