/** A dense row-major float32 array with its shape. The only tensor type vitlens uses. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** Named tensors: a model's parameters, their gradients, or optimizer state. */
export type Params = Map<string, Tensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function zeros(shape: number[]): Tensor {
  return { data: new Float32Array(numel(shape)), shape };
}

export function shapeString(shape: readonly number[]): string {
  return `(${shape.join(", ")})`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Tensors stacked along their first dimension (q, k, v -> a fused qkv). */
export function concatRows(parts: Tensor[]): Tensor {
  const data = new Float32Array(parts.reduce((n, t) => n + t.data.length, 0));
  let offset = 0;
  for (const t of parts) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return { data, shape: [parts.reduce((n, t) => n + t.shape[0], 0), ...parts[0].shape.slice(1)] };
}
