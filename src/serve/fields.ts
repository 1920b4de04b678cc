import { VitlensError } from "../errors.js";
import { FUSIONS, type HeadFusion } from "./contract.js";

/**
 * Request fields as they arrive, from a query string (text) or a JSON body (numbers): each
 * reader takes either, and names the field and what was expected when it cannot.
 */
export type Fields = Record<string, unknown>;

const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const asNumber = (v: unknown): unknown => (typeof v === "string" && NUMBER.test(v.trim()) ? Number(v) : v);
const shown = (v: unknown) => JSON.stringify(v) ?? String(v);

/** An integer in [lo, hi], or `fallback` when absent; `words` says what it is in the error. */
export function intField(f: Fields, name: string, lo: number, hi: number, words: string, fallback?: number): number {
  const raw = f[name];
  if ((raw === undefined || raw === "") && fallback !== undefined) return fallback;
  const v = asNumber(raw);
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw new VitlensError(`${name} ${shown(raw)}: expected ${words}`);
  return v;
}

/** A number in [lo, hi) (or [lo, hi] with `closed`), or `fallback` when absent. */
export function numberField(f: Fields, name: string, lo: number, hi: number, fallback: number, closed = false): number {
  const raw = f[name];
  if (raw === undefined || raw === "") return fallback;
  const v = asNumber(raw);
  if (typeof v !== "number" || !(v >= lo && (closed ? v <= hi : v < hi))) throw new VitlensError(`${name} ${shown(raw)}: expected a number in [${lo}, ${hi}${closed ? "]" : ")"}`);
  return v;
}

/** A layer index, "last" (the default) or absent. */
export function layerField(f: Fields, name: string, layers: number): number {
  const raw = f[name];
  if (raw === undefined || raw === "" || raw === "last") return layers - 1;
  return intField(f, name, 0, layers - 1, `a layer 0..${layers - 1} (the model has ${layers} layers) or "last"`);
}

/** One head: an index or a fusion. */
export function headValue(raw: unknown, name: string, heads: number): HeadFusion {
  const v = asNumber(raw);
  if (FUSIONS.includes(v as (typeof FUSIONS)[number])) return v as HeadFusion;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < heads) return v;
  throw new VitlensError(`${name} ${shown(raw)}: expected "mean", "max", "min" or a head index 0..${heads - 1}`);
}

/** A list given as an array or as comma-separated text ("0,1,2"); absent: null. */
export function listField(f: Fields, name: string): unknown[] | null {
  const raw = f[name];
  if (raw === undefined || raw === "") return null;
  if (Array.isArray(raw)) return raw;
  if (typeof raw === "string") return raw.split(",").map((s) => s.trim());
  return [raw];
}

/** Layers: "all" or indices; absent: every layer. */
export function layersField(f: Fields, name: string, layers: number): number[] {
  const list = listField(f, name);
  if (!list || (list.length === 1 && list[0] === "all")) return [...Array(layers).keys()];
  return list.map((v) => intField({ [name]: v }, name, 0, layers - 1, `"all" or layer indices 0..${layers - 1}`));
}

/** Heads: "all" (every index) and / or fusions and indices; absent: `fallback`. */
export function headsField(f: Fields, name: string, heads: number, fallback: Array<HeadFusion | "all">): HeadFusion[] {
  const list = listField(f, name) ?? fallback;
  const out: HeadFusion[] = [];
  for (const v of list) {
    if (v === "all") out.push(...Array(heads).keys());
    else out.push(headValue(v, name, heads));
  }
  return [...new Set(out)];
}

/** A flag: 1 / 0, true / false. */
export function boolField(f: Fields, name: string, fallback: boolean): boolean {
  const v = f[name];
  if (v === undefined || v === "") return fallback;
  if (v === true || v === "1" || v === "true" || v === 1) return true;
  if (v === false || v === "0" || v === "false" || v === 0) return false;
  throw new VitlensError(`${name} ${shown(v)}: expected 1 or 0`);
}

/** One of a list of words. */
export function choiceField<T extends string>(f: Fields, name: string, choices: readonly T[], fallback: T): T {
  const v = f[name];
  if (v === undefined || v === "") return fallback;
  if (!choices.includes(v as T)) throw new VitlensError(`${name} ${shown(v)}: expected one of ${choices.join(", ")}`);
  return v as T;
}
