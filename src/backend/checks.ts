/**
 * The argument checks of the native addon (native/addon.cc), word for word, for the js backend:
 * both refuse the same calls with the same message, before any work. A dimension is a whole
 * number in [0, 2^53 - 1]; a buffer is a Float32Array holding at least the shape's elements.
 */

const MAX_DIM = Number.MAX_SAFE_INTEGER; // 2^53 - 1

const typeOf = (v: unknown): string => (v === null ? "null" : typeof v);

/** A dimension (non-negative integer), or a TypeError / RangeError naming `fn` and `name`. */
export function dim(fn: string, name: string, v: unknown): number {
  if (typeof v !== "number") throw new TypeError(`${fn}: ${name}: expected a number, got ${typeOf(v)}`);
  if (!(v >= 0 && v <= MAX_DIM && Number.isInteger(v))) throw new RangeError(`${fn}: ${name}: expected a non-negative integer, got ${v}`);
  return v;
}

/** A dimension of at least 1. */
export function positive(fn: string, name: string, v: unknown): number {
  if (dim(fn, name, v) < 1) throw new RangeError(`${fn}: ${name}: expected a positive integer, got 0`);
  return v as number;
}

/** A floating-point argument (any number, NaN included, as the addon takes it). */
export function number(fn: string, name: string, v: unknown): number {
  if (typeof v !== "number") throw new TypeError(`${fn}: ${name}: expected a number, got ${typeOf(v)}`);
  return v;
}

/** The element count of a shape, refused beyond 2^53 - 1. */
export function count(fn: string, name: string, ...dims: number[]): number {
  if (dims.includes(0)) return 0;
  const n = dims.reduce((a, b) => a * b, 1);
  if (n > MAX_DIM) throw new RangeError(`${fn}: ${name}: the shape needs more than 2^53 elements`);
  return n;
}

/** A Float32Array of at least `need` elements (null / undefined allowed when `optional`). */
export function floats(fn: string, name: string, x: unknown, need: number, optional = false): void {
  if (optional && (x === null || x === undefined)) return;
  if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: ${name}: expected a Float32Array`);
  if (x.length < need) {
    throw new RangeError(`${fn}: ${name}: Float32Array of length ${x.length} is shorter than the ${need} elements the shape needs`);
  }
}

/** A refusal of the call's shape as a whole, in the addon's words. */
export function rangeError(fn: string, message: string): never {
  throw new RangeError(`${fn}: ${message}`);
}

/** A convolution or pooling window (dilation * (kernel - 1) + 1) fits the padded input: PyTorch's output size is at least 1. */
export function windowFits(size: number, padding: number, kernel: number, dilation: number): boolean {
  return dilation * (kernel - 1) < size + 2 * padding;
}
