/*
 * Reading values out of JSON a checkpoint or tool wrote (config.json, pretrained_cfg, ...): a field
 * of the wrong type reads as absent, so the caller's default or its own error applies.
 */

/** A finite number, else undefined. */
export const finiteNumber = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** A size as configs write it: one number for both sides, or two; else undefined. */
export const numberPair = (v: unknown): [number, number] | undefined =>
  typeof v === "number" ? [v, v] : Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number") ? [v[0], v[1]] : undefined;

/** The object without its undefined fields (so a spread does not overwrite defaults with them). */
export function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
