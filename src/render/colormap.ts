import { interpolateInferno, interpolateRdBu, interpolateViridis } from "d3-scale-chromatic";

export type ColormapName = "inferno" | "viridis" | "rdbu";

const SOURCES: Record<ColormapName, (t: number) => string> = {
  inferno: interpolateInferno,
  viridis: interpolateViridis,
  rdbu: (t) => interpolateRdBu(1 - t), // red = high, blue = low
};
const luts = new Map<ColormapName, Uint8Array>();

/** A 256-entry RGB lookup table of a perceptual colormap (d3-scale-chromatic). */
export function colormapLut(name: ColormapName): Uint8Array {
  let lut = luts.get(name);
  if (!lut) {
    lut = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) {
      const css = SOURCES[name](i / 255);
      const m = /rgb\((\d+), ?(\d+), ?(\d+)\)/.exec(css) ?? /#(..)(..)(..)/.exec(css);
      const parse = (s: string) => (css.startsWith("#") ? parseInt(s, 16) : Number(s));
      lut.set(m ? [parse(m[1]), parse(m[2]), parse(m[3])] : [0, 0, 0], i * 3);
    }
    luts.set(name, lut);
  }
  return lut;
}

/** CSS colour of value t in [0, 1]. */
export function colorAt(name: ColormapName, t: number): string {
  const lut = colormapLut(name);
  const i = Math.round(Math.min(Math.max(t, 0), 1) * 255) * 3;
  return `rgb(${lut[i]},${lut[i + 1]},${lut[i + 2]})`;
}

/** values -> RGB bytes, scaled to [min, max] (default: the values' own range). */
export function colorize(values: ArrayLike<number>, name: ColormapName, range?: [number, number]): Uint8Array {
  let [lo, hi] = range ?? [Infinity, -Infinity];
  if (!range) {
    for (let i = 0; i < values.length; i++) {
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
  }
  const span = hi - lo || 1;
  const lut = colormapLut(name);
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const k = Math.round(Math.min(Math.max((values[i] - lo) / span, 0), 1) * 255) * 3;
    out[i * 3] = lut[k];
    out[i * 3 + 1] = lut[k + 1];
    out[i * 3 + 2] = lut[k + 2];
  }
  return out;
}
