/**
 * Named buffers a pass overwrites on every use: allocated once, then reused from layer to layer
 * (and from step to step when the caller keeps the Scratch). Contents are not cleared.
 */
export class Scratch {
  private readonly buffers = new Map<string, Float32Array>();

  get(name: string, length: number): Float32Array {
    let b = this.buffers.get(name);
    if (!b || b.length !== length) {
      b = new Float32Array(length);
      this.buffers.set(name, b);
    }
    return b;
  }
}

/** The three equal parts of a (3, ...) buffer: q, k, v. */
export function thirds(a: Float32Array): [Float32Array, Float32Array, Float32Array] {
  const n = a.length / 3;
  return [a.subarray(0, n), a.subarray(n, 2 * n), a.subarray(2 * n)];
}
