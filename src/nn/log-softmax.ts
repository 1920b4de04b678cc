/** log(sum(exp(row))) in float64, shifted by the row's max so no term overflows. */
export function logSumExp(row: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}

/** Each row (rows, cols) of `x` replaced by its log-probabilities. */
export function logSoftmaxRows(x: Float32Array, cols: number): void {
  for (let o = 0; o < x.length; o += cols) {
    const row = x.subarray(o, o + cols);
    const logZ = logSumExp(row);
    for (let i = 0; i < cols; i++) row[i] -= logZ;
  }
}
