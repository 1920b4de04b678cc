import type { ElementAt } from "./elements.js";
import { forEachStrided, type StridedView } from "./strided.js";

export interface TensorStats {
  min: number;
  max: number;
  mean: number; // accumulated in float64
}

/**
 * min, max and mean of `count` elements read in place (no decoded copy), or of a strided view's
 * elements. NaN propagates as in numpy (any NaN makes all three NaN); an empty tensor has none.
 */
export function tensorStats(at: ElementAt, count: number, view?: StridedView): TensorStats | null {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let nan = false;
  const visit = (i: number) => {
    const x = at(i);
    if (x !== x) nan = true; // NaN
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    n++;
  };
  if (view) forEachStrided(view, visit);
  else for (let i = 0; i < count; i++) visit(i);
  if (n === 0) return null;
  return nan ? { min: NaN, max: NaN, mean: NaN } : { min, max, mean: sum / n };
}

/** The same over `count` elements of a typed array from `start`: the fast path for contiguous tensors. */
export function arrayStats(values: ArrayLike<number>, start: number, count: number): TensorStats | null {
  if (count === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let nan = false;
  for (let i = start; i < start + count; i++) {
    const x = values[i];
    if (x !== x) nan = true; // NaN
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  return nan ? { min: NaN, max: NaN, mean: NaN } : { min, max, mean: sum / count };
}
