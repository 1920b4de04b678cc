import type { Backend } from "./backend.js";
import { roundBf16 } from "./bf16.js";
import { count, dim, floats, number, positive, rangeError, windowFits } from "./checks.js";
import { convOutputSize, stepByStepConvNet } from "./conv-net.js";
import { logSumExp } from "../nn/log-softmax.js";

/** GELU's tanh approximation: sqrt(2/pi) and the cubic term's coefficient. */
const GELU_TANH_C = Math.sqrt(2 / Math.PI);
const GELU_TANH_A = 0.044715;

/**
 * Plain TypeScript reference of every backend function: slow, obvious, used to check `native`.
 * Every call's arguments are checked first as the addon checks them (checks.ts): the same calls
 * are refused with the same messages; zero-sized shapes give empty results.
 */
export const jsBackend: Backend = {
  name: "js",

  matmul(a, b, c, { m, n, k, transA = false, transB = false, bias = null, accumulate = false, bf16 = false, gelu = false, relu = false }) {
    const fn = "matmul";
    checkDims(fn, { M: m, N: n, K: k });
    checkFloats(fn, [["A", a, count(fn, "A", m, k)], ["B", b, count(fn, "B", k, n)], ["C", c, count(fn, "C", m, n)]]);
    floats(fn, "bias", bias, n, true);
    if (bf16) [a, b] = [roundedCopy(a, transA ? k * m : m * k), roundedCopy(b, k * n)];
    const row = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i] : a[i * k + p];
        if (transB) for (let j = 0; j < n; j++) row[j] += av * b[j * k + p];
        else for (let j = 0, o = p * n; j < n; j++) row[j] += av * b[o + j];
      }
      for (let j = 0; j < n; j++) {
        const v = row[j] + (bias ? bias[j] : 0);
        c[i * n + j] = accumulate ? c[i * n + j] + v : gelu ? 0.5 * v * (1 + erf(v / Math.SQRT2)) : relu ? Math.max(v, 0) : v;
      }
    }
  },

  batchMatmul(a, b, c, { batch, m, n, k, transA, transB, alpha = 1, accumulate = false, bf16 = false }) {
    const fn = "batchMatmul";
    checkDims(fn, { batch, M: m, N: n, K: k });
    checkFloats(fn, [["A", a, count(fn, "A", batch, m, k)], ["B", b, count(fn, "B", batch, k, n)], ["C", c, count(fn, "C", batch, m, n)]]);
    number(fn, "alpha", alpha);
    const out = new Float32Array(m * n);
    for (let t = 0; t < batch; t++) {
      const cv = c.subarray(t * m * n, (t + 1) * m * n);
      this.matmul(a.subarray(t * m * k, (t + 1) * m * k), b.subarray(t * k * n, (t + 1) * k * n), out, { m, n, k, transA, transB, bf16 });
      for (let i = 0; i < m * n; i++) cv[i] = alpha * out[i] + (accumulate ? cv[i] : 0);
    }
  },

  layernormForward(x, weight, bias, out, mean, rstd, rows, dim, eps) {
    const fn = "layernormForward";
    checkDims(fn, { rows, dim });
    const total = count(fn, "x", rows, dim);
    checkFloats(fn, [["x", x, total], ["weight", weight, dim], ["bias", bias, dim], ["out", out, total], ["mean", mean, rows], ["rstd", rstd, rows]]);
    number(fn, "eps", eps);
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let sum = 0;
      for (let i = 0; i < dim; i++) sum += x[o + i];
      const mu = sum / dim;
      let varSum = 0;
      for (let i = 0; i < dim; i++) varSum += (x[o + i] - mu) ** 2;
      const s = 1 / Math.sqrt(varSum / dim + eps);
      for (let i = 0; i < dim; i++) out[o + i] = (x[o + i] - mu) * s * weight[i] + bias[i];
      mean[r] = mu;
      rstd[r] = s;
    }
  },

  layernormBackward(dout, x, mean, rstd, weight, dx, dweight, dbias, rows, dim) {
    const fn = "layernormBackward";
    checkDims(fn, { rows, dim });
    const total = count(fn, "x", rows, dim);
    checkFloats(fn, [["dout", dout, total], ["x", x, total], ["mean", mean, rows], ["rstd", rstd, rows], ["weight", weight, dim],
      ["dx", dx, total], ["dweight", dweight, dim], ["dbias", dbias, dim]]);
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let meanDxhat = 0;
      let meanDxhatXhat = 0;
      for (let i = 0; i < dim; i++) {
        const xhat = (x[o + i] - mean[r]) * rstd[r];
        const dxhat = dout[o + i] * weight[i];
        meanDxhat += dxhat;
        meanDxhatXhat += dxhat * xhat;
        dweight[i] += dout[o + i] * xhat;
        dbias[i] += dout[o + i];
      }
      meanDxhat /= dim;
      meanDxhatXhat /= dim;
      for (let i = 0; i < dim; i++) {
        const xhat = (x[o + i] - mean[r]) * rstd[r];
        dx[o + i] = rstd[r] * (dout[o + i] * weight[i] - meanDxhat - xhat * meanDxhatXhat);
      }
    }
  },

  logSoftmaxForward(x, out, rows, cols) {
    checkRows("logSoftmaxForward", [["x", x], ["out", out]], rows, cols);
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * cols, (r + 1) * cols);
      const logZ = logSumExp(row);
      for (let i = 0; i < cols; i++) out[r * cols + i] = row[i] - logZ;
    }
  },

  softmaxForward(x, out, rows, cols) {
    checkRows("softmaxForward", [["x", x], ["out", out]], rows, cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let max = -Infinity;
      for (let i = 0; i < cols; i++) max = Math.max(max, x[o + i]);
      let sum = 0;
      for (let i = 0; i < cols; i++) sum += out[o + i] = Math.exp(x[o + i] - max);
      for (let i = 0; i < cols; i++) out[o + i] /= sum;
    }
  },

  softmaxBackward(dy, y, dx, rows, cols) {
    checkRows("softmaxBackward", [["dy", dy], ["y", y], ["dx", dx]], rows, cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let dot = 0;
      for (let i = 0; i < cols; i++) dot += dy[o + i] * y[o + i];
      for (let i = 0; i < cols; i++) dx[o + i] = y[o + i] * (dy[o + i] - dot);
    }
  },

  geluForward(x, out, n) {
    checkFlat("geluForward", n, [["x", x], ["out", out]]);
    for (let i = 0; i < n; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2));
  },

  geluBackward(dy, x, dx, n) {
    checkFlat("geluBackward", n, [["dy", dy], ["x", x], ["dx", dx]]);
    for (let i = 0; i < n; i++) {
      const cdf = 0.5 * (1 + erf(x[i] / Math.SQRT2));
      const pdf = Math.exp(-0.5 * x[i] * x[i]) / Math.sqrt(2 * Math.PI);
      dx[i] = dy[i] * (cdf + x[i] * pdf);
    }
  },

  geluTanhForward(x, out, n) {
    checkFlat("geluTanhForward", n, [["x", x], ["out", out]]);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      out[i] = 0.5 * v * (1 + Math.tanh(GELU_TANH_C * (v + GELU_TANH_A * v * v * v)));
    }
  },

  geluTanhBackward(dy, x, dx, n) {
    checkFlat("geluTanhBackward", n, [["dy", dy], ["x", x], ["dx", dx]]);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      const t = Math.tanh(GELU_TANH_C * (v + GELU_TANH_A * v * v * v));
      const dt = (1 - t * t) * GELU_TANH_C * (1 + 3 * GELU_TANH_A * v * v);
      dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * dt);
    }
  },

  add(a, b, out, n) {
    checkFlat("add", n, [["a", a], ["b", b], ["out", out]]);
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
  },

  scale(x, s, out, n) {
    checkFlat("scale", n, [["x", x], ["out", out]]);
    number("scale", "s", s);
    for (let i = 0; i < n; i++) out[i] = x[i] * s;
  },

  sumRows(x, out, rows, cols, accumulate) {
    const fn = "sumRows";
    checkDims(fn, { rows, cols });
    checkFloats(fn, [["x", x, count(fn, "x", rows, cols)], ["out", out, cols]]);
    for (let c = 0; c < cols; c++) {
      let s = accumulate ? out[c] : 0;
      for (let r = 0; r < rows; r++) s += x[r * cols + c];
      out[c] = s;
    }
  },

  sumSquares(x, n) {
    checkFlat("sumSquares", n, [["x", x]]);
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return s;
  },

  roundBf16(x, out, n) {
    checkFlat("roundBf16", n, [["x", x], ["out", out]]);
    roundBf16(x.subarray(0, n), out);
  },

  sgdStep(w, g, buf, { n, lr, momentum, dampening, nesterov, weightDecay, first }) {
    const fn = "sgdStep";
    dim(fn, "n", n);
    checkFloats(fn, [["w", w, n], ["g", g, n]]);
    floats(fn, "buf", buf, n, true);
    checkNumbers(fn, { lr, momentum, dampening, weightDecay });
    for (let i = 0; i < n; i++) {
      let d = g[i] + weightDecay * w[i];
      if (buf) {
        buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      w[i] -= lr * d;
    }
  },

  adamwStep(w, g, m, v, { n, lr, beta1, beta2, eps, weightDecay, t }) {
    const fn = "adamwStep";
    dim(fn, "n", n);
    positive(fn, "t", t);
    checkFloats(fn, [["w", w, n], ["g", g, n], ["m", m, n], ["v", v, n]]);
    checkNumbers(fn, { lr, beta1, beta2, eps, weightDecay });
    const c1 = 1 - beta1 ** t;
    const c2 = Math.sqrt(1 - beta2 ** t);
    for (let i = 0; i < n; i++) {
      w[i] *= 1 - lr * weightDecay;
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      w[i] -= (lr / c1) * (m[i] / (Math.sqrt(v[i]) / c2 + eps));
    }
  },

  splitHeads(src, dst, b, n, s, h, hd) {
    checkHeads("splitHeads", src, dst, [b, n, s, h, hd]);
    permuteHeads(src, dst, [b, n, s, h, hd], "toHeads");
  },

  mergeHeads(src, dst, b, n, s, h, hd) {
    checkHeads("mergeHeads", src, dst, [b, n, s, h, hd]);
    permuteHeads(src, dst, [b, n, s, h, hd], "toTokens");
  },

  patchify(img, out, b, c, h, w, p) {
    const fn = "patchify";
    checkDims(fn, { B: b, C: c, H: h, W: w, patch: p });
    if (p === 0 || h % p !== 0 || w % p !== 0) rangeError(fn, "image size must be a multiple of the patch size");
    const total = count(fn, "image", b, c, h, w);
    checkFloats(fn, [["image", img, total], ["out", out, total]]);
    const gh = h / p;
    const gw = w / p;
    const row = c * p * p;
    for (let n = 0; n < b; n++)
      for (let py = 0; py < gh; py++)
        for (let px = 0; px < gw; px++) {
          const dst = ((n * gh + py) * gw + px) * row;
          for (let ch = 0; ch < c; ch++)
            for (let y = 0; y < p; y++) {
              const src = ((n * c + ch) * h + py * p + y) * w + px * p;
              out.set(img.subarray(src, src + p), dst + (ch * p + y) * p);
            }
        }
  },

  conv2d(x, weight, out, { batch, inChannels, height, width, outChannels, kernel, stride = 1, padding = 0, dilation = 1, bias = null, accumulate = false, relu = false }) {
    const fn = "conv2d";
    checkDims(fn, { batch, inChannels, height, width, outChannels, kernel, stride, padding, dilation });
    if (kernel === 0 || stride === 0 || dilation === 0) rangeError(fn, "kernel, stride and dilation must be positive");
    if (!windowFits(height, padding, kernel, dilation) || !windowFits(width, padding, kernel, dilation)) rangeError(fn, "the input is smaller than the kernel");
    const oh = convOutputSize(height, kernel, stride, padding, dilation);
    const ow = convOutputSize(width, kernel, stride, padding, dilation);
    checkFloats(fn, [["x", x, count(fn, "x", batch, inChannels, height, width)], ["weight", weight, count(fn, "weight", outChannels, inChannels, kernel, kernel)],
      ["out", out, count(fn, "out", batch, outChannels, oh, ow)]]);
    floats(fn, "bias", bias, outChannels, true);
    const plane = new Float64Array(oh * ow);
    for (let n = 0; n < batch; n++)
      for (let o = 0; o < outChannels; o++) {
        plane.fill(bias ? bias[o] : 0);
        for (let c = 0; c < inChannels; c++) {
          const src = (n * inChannels + c) * height * width;
          for (let ky = 0; ky < kernel; ky++)
            for (let kx = 0; kx < kernel; kx++) {
              const wv = weight[((o * inChannels + c) * kernel + ky) * kernel + kx];
              for (let y = 0; y < oh; y++) {
                const iy = y * stride - padding + ky * dilation;
                if (iy < 0 || iy >= height) continue;
                for (let xo = 0; xo < ow; xo++) {
                  const ix = xo * stride - padding + kx * dilation;
                  if (ix >= 0 && ix < width) plane[y * ow + xo] += wv * x[src + iy * width + ix];
                }
              }
            }
        }
        const dst = (n * outChannels + o) * oh * ow;
        for (let i = 0; i < oh * ow; i++) {
          const v = plane[i] + (accumulate ? out[dst + i] : 0);
          out[dst + i] = relu ? Math.max(v, 0) : v;
        }
      }
  },

  maxPool2d(x, out, { batch, channels, height, width, kernel, stride, padding }) {
    const fn = "maxPool2d";
    checkDims(fn, { batch, channels, height, width, kernel, stride, padding });
    if (kernel === 0 || stride === 0) rangeError(fn, "kernel and stride must be positive");
    if (2 * padding > kernel) rangeError(fn, "padding must be at most half the kernel");
    if (!windowFits(height, padding, kernel, 1) || !windowFits(width, padding, kernel, 1)) rangeError(fn, "the input is smaller than the kernel");
    const oh = convOutputSize(height, kernel, stride, padding);
    const ow = convOutputSize(width, kernel, stride, padding);
    checkFloats(fn, [["x", x, count(fn, "x", batch, channels, height, width)], ["out", out, count(fn, "out", batch, channels, oh, ow)]]);
    for (let p = 0; p < batch * channels; p++)
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let max = -Infinity;
          for (let ky = 0; ky < kernel; ky++) {
            const iy = y * stride - padding + ky;
            if (iy < 0 || iy >= height) continue;
            for (let kx = 0; kx < kernel; kx++) {
              const ix = xo * stride - padding + kx;
              if (ix >= 0 && ix < width) max = Math.max(max, x[(p * height + iy) * width + ix]);
            }
          }
          out[(p * oh + y) * ow + xo] = max;
        }
  },

  convNet(steps) {
    return stepByStepConvNet(this, steps);
  },
};

/** Every dimension of a call, in the addon's order (objects keep their keys' order). */
function checkDims(fn: string, dims: Record<string, number>): void {
  for (const [name, v] of Object.entries(dims)) dim(fn, name, v);
}

function checkNumbers(fn: string, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) number(fn, name, v);
}

function checkFloats(fn: string, arrays: Array<[string, Float32Array, number]>): void {
  for (const [name, x, need] of arrays) floats(fn, name, x, need);
}

/** n, then buffers of n elements each. */
function checkFlat(fn: string, n: number, arrays: Array<[string, Float32Array]>): void {
  dim(fn, "n", n);
  for (const [name, x] of arrays) floats(fn, name, x, n);
}

/** rows, cols, then buffers of rows * cols elements each. */
function checkRows(fn: string, arrays: Array<[string, Float32Array]>, rows: number, cols: number): void {
  checkDims(fn, { rows, cols });
  const total = count(fn, arrays[0][0], rows, cols);
  for (const [name, x] of arrays) floats(fn, name, x, total);
}

function checkHeads(fn: string, src: Float32Array, dst: Float32Array, [b, n, s, h, hd]: number[]): void {
  checkDims(fn, { B: b, N: n, S: s, H: h, hd });
  const total = count(fn, "src", b, n, s, h, hd);
  checkFloats(fn, [["src", src, total], ["dst", dst, total]]);
}

/** The first n values of x rounded to bf16, in a new array (the js products' bf16 operands). */
function roundedCopy(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  roundBf16(x.subarray(0, n), out);
  return out;
}

/**
 * Copies every hd-long row between the token-major (B, N, S, H, hd) and the head-major
 * (S, B, H, N, hd) layouts, in the direction named.
 */
function permuteHeads(src: Float32Array, dst: Float32Array, [b, n, s, h, hd]: number[], direction: "toHeads" | "toTokens"): void {
  for (let i = 0; i < b; i++)
    for (let t = 0; t < n; t++)
      for (let part = 0; part < s; part++)
        for (let head = 0; head < h; head++) {
          const tokenMajor = (((i * n + t) * s + part) * h + head) * hd;
          const headMajor = (((part * b + i) * h + head) * n + t) * hd;
          const [from, to] = direction === "toHeads" ? [tokenMajor, headMajor] : [headMajor, tokenMajor];
          dst.set(src.subarray(from, from + hd), to);
        }
}

/** erf to ~1e-15 (Abramowitz-Stegun is too coarse for a float32 reference): series near 0, continued fraction outside. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz-free backward evaluation)
  let frac = 0;
  for (let n = 60; n >= 1; n--) frac = (n / 2) / (ax + frac);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + frac);
  return x < 0 ? erfc - 1 : 1 - erfc;
}
