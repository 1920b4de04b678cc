import { numel } from "../tensor.js";

/** A strided view of a flat array, in elements (PyTorch's storage offset, size and stride). */
export interface StridedView {
  offset: number;
  size: number[];
  stride: number[];
}

/** Row-major strides of a shape: (d0, d1, d2) -> (d1*d2, d2, 1). */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/** Column-major (Fortran) strides: (d0, d1, d2) -> (1, d0, d0*d1). */
export function fortranStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = 1; d < shape.length; d++) s[d] = s[d - 1] * shape[d - 1];
  return s;
}

/** The largest element index the view reaches plus one (0 for an empty view). */
export function viewExtent(view: StridedView): number {
  if (numel(view.size) === 0) return 0;
  let last = view.offset;
  view.size.forEach((d, i) => (last += (d - 1) * view.stride[i]));
  return last + 1;
}

/** Calls visit(storage index) for every element of the view, in row-major order of its shape. */
export function forEachStrided(view: StridedView, visit: (at: number) => void): void {
  const { offset, size, stride } = view;
  const n = numel(size);
  const idx = new Array<number>(size.length).fill(0);
  let at = offset;
  for (let k = 0; k < n; k++) {
    visit(at);
    for (let d = size.length - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) {
        at += stride[d];
        break;
      }
      at -= (size[d] - 1) * stride[d];
      idx[d] = 0;
    }
  }
}

/** The view's elements gathered into a fresh row-major array. */
export function gather(data: Float32Array, view: StridedView): Float32Array {
  const out = new Float32Array(numel(view.size));
  let k = 0;
  forEachStrided(view, (at) => (out[k++] = data[at]));
  return out;
}
