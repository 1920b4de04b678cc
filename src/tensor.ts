/** A dense row-major float32 array with its shape. The only tensor type vitlens uses. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

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
