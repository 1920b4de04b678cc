import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jsBackend, tryNativeBackend, type Backend } from "../src/backend/index.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { packageRoot } from "../src/package-root.js";
import type { Tensor } from "../src/tensor.js";

export const root = packageRoot();
export const fixture = (...parts: string[]) => join(root, "test", "fixtures", ...parts);

/** Both backends when the addon is built; CI builds it, so a missing addon fails loudly there. */
export function backends(): Backend[] {
  const native = tryNativeBackend();
  if (!native && process.env.CI) throw new Error("CI: the native addon is not built");
  return native ? [jsBackend, native] : [jsBackend];
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Infinity : m;
}

export function expected(name: string): Map<string, Tensor> {
  return readSafetensors(fixture(name)).tensors;
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/**
 * Writes an IDX pair `<dir>/<name>-images-idx3-ubyte` + labels (MNIST format), with
 * `pixel(i, k)` giving image i's k-th byte (row-major h x w); returns the images path.
 */
export function writeIdxPair(dir: string, name: string, count: number, h: number, w: number, label: (i: number) => number, pixel: (i: number, k: number) => number): string {
  const images = Buffer.alloc(16 + count * h * w);
  images.writeUInt32BE(0x803, 0);
  images.writeUInt32BE(count, 4);
  images.writeUInt32BE(h, 8);
  images.writeUInt32BE(w, 12);
  const labels = Buffer.alloc(8 + count);
  labels.writeUInt32BE(0x801, 0);
  labels.writeUInt32BE(count, 4);
  for (let i = 0; i < count; i++) {
    labels[8 + i] = label(i);
    for (let k = 0; k < h * w; k++) images[16 + i * h * w + k] = pixel(i, k);
  }
  const path = join(dir, `${name}-images-idx3-ubyte`);
  writeFileSync(path, images);
  writeFileSync(join(dir, `${name}-labels-idx1-ubyte`), labels);
  return path;
}
