// native vs js on random inputs, odd sizes included: every Backend function, forward and backward.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsBackend, tryNativeBackend } from "../src/backend/index.js";
import { maxAbsDiff, randomArray } from "./helpers.js";

const native = tryNativeBackend();
if (!native && process.env.CI) throw new Error("CI: the native addon is not built");

const close = (a: Float32Array, b: Float32Array, tol: number, what: string) => {
  const d = maxAbsDiff(a, b);
  assert.ok(d <= tol, `${what}: native and js differ by ${d}`);
};

describe("native backend matches the js reference", { skip: native ? false : "native addon not built" }, () => {
  const nb = native!;
  const shapes = [[1, 1, 1], [7, 13, 5], [33, 17, 65], [64, 64, 64], [197, 96, 48]];

  for (const [m, n, k] of shapes) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      it(`matmul ${m}x${n}x${k} transA=${ta} transB=${tb}, bias and accumulate`, () => {
        const a = randomArray(m * k, 1);
        const b = randomArray(k * n, 2);
        const bias = randomArray(n, 3);
        for (const [withBias, acc] of [[false, false], [true, false], [false, true]] as const) {
          const start = randomArray(m * n, 4);
          const cj = start.slice();
          const cn = start.slice();
          jsBackend.matmul(a, b, cj, { m, n, k, transA: ta, transB: tb, bias: withBias ? bias : null, accumulate: acc });
          nb.matmul(a, b, cn, { m, n, k, transA: ta, transB: tb, bias: withBias ? bias : null, accumulate: acc });
          close(cn, cj, 1e-4 * Math.sqrt(k), `matmul bias=${withBias} acc=${acc}`);
        }
      });
    }
  }

  for (const [n, k] of [[515, 517], [256, 256]]) it(`matmul of a few rows by a ${n}x${k} weight (decoding's beams: the few-rows kernel), bias and accumulate`, () => {
    // k = 517: not a multiple of the 8-wide vectors; n = 515: an odd last weight row. 256 x 256: the smallest weight it takes.
    const w = randomArray(n * k, 50);
    const bias = randomArray(n, 51);
    for (let m = 1; m <= 9; m++) {
      const a = randomArray(m * k, 52 + m);
      for (const [withBias, acc] of [[false, false], [true, false], [true, true]] as const) {
        const start = randomArray(m * n, 70 + m);
        const cj = start.slice();
        const cn = start.slice();
        const p = { m, n, k, transB: true, bias: withBias ? bias : null, accumulate: acc };
        jsBackend.matmul(a, w, cj, p);
        nb.matmul(a, w, cn, p);
        close(cn, cj, 1e-4 * Math.sqrt(k), `${m} rows bias=${withBias} acc=${acc}`);
      }
    }
  });

  it("ReLU and GELU post-ops on the few-rows kernel (1, 4 rows) and on oneDNN's product (33 rows)", () => {
    const [n, k] = [515, 517];
    const w = randomArray(n * k, 80);
    const bias = randomArray(n, 81);
    for (const m of [1, 4, 33]) {
      const a = randomArray(m * k, 82 + m);
      for (const act of [{ relu: true }, { gelu: true }]) {
        const cj = new Float32Array(m * n);
        const cn = new Float32Array(m * n);
        const p = { m, n, k, transB: true, bias, ...act };
        jsBackend.matmul(a, w, cj, p);
        nb.matmul(a, w, cn, p);
        close(cn, cj, 1e-4 * Math.sqrt(k), `${m} rows ${Object.keys(act)[0]}`);
        if (act.relu) {
          const zeros = cn.filter((v) => v === 0).length;
          assert.ok(zeros > m * n * 0.3 && zeros === cj.filter((v) => v === 0).length, `${m} rows: ${zeros} zeros`);
        }
      }
    }
  });

  it("batched matmul with alpha, transposes and accumulate (attention shapes)", () => {
    for (const [batch, m, n, k] of [[3, 17, 17, 8], [12, 5, 9, 7], [1, 1, 1, 1]]) {
      for (const [ta, tb, alpha, acc] of [[false, true, 0.125, false], [false, false, 1, false], [true, false, 1, true]] as const) {
        const a = randomArray(batch * m * k, 5);
        const b = randomArray(batch * k * n, 6);
        const start = randomArray(batch * m * n, 7);
        const cj = start.slice();
        const cn = start.slice();
        jsBackend.batchMatmul(a, b, cj, { batch, m, n, k, transA: ta, transB: tb, alpha, accumulate: acc });
        nb.batchMatmul(a, b, cn, { batch, m, n, k, transA: ta, transB: tb, alpha, accumulate: acc });
        close(cn, cj, 1e-4, `batchMatmul ${batch}x${m}x${n}x${k}`);
      }
    }
  });

  it("layernorm forward and backward", () => {
    for (const [rows, dim] of [[1, 1], [5, 7], [31, 768], [2, 33]]) {
      const x = randomArray(rows * dim, 8, 3);
      const w = randomArray(dim, 9);
      const b = randomArray(dim, 10);
      const outs = [jsBackend, nb].map((be) => {
        const out = new Float32Array(rows * dim);
        const mean = new Float32Array(rows);
        const rstd = new Float32Array(rows);
        be.layernormForward(x, w, b, out, mean, rstd, rows, dim, 1e-6);
        const dout = randomArray(rows * dim, 11);
        const dx = new Float32Array(rows * dim);
        const dw = randomArray(dim, 12); // accumulated into
        const db = randomArray(dim, 13);
        be.layernormBackward(dout, x, mean, rstd, w, dx, dw, db, rows, dim);
        return { out, mean, rstd, dx, dw, db };
      });
      for (const key of ["out", "mean", "rstd", "dx", "dw", "db"] as const) close(outs[1][key], outs[0][key], 1e-4, `layernorm ${key} ${rows}x${dim}`);
    }
  });

  it("softmax, GELU (erf and tanh), add, scale, column sums, sum of squares", () => {
    const rows = 37;
    const cols = 29;
    const x = randomArray(rows * cols, 14, 8);
    const dy = randomArray(rows * cols, 15);
    const run = (be: typeof jsBackend) => {
      const sm = new Float32Array(rows * cols);
      be.softmaxForward(x, sm, rows, cols);
      const dsm = new Float32Array(rows * cols);
      be.softmaxBackward(dy, sm, dsm, rows, cols);
      const g = new Float32Array(rows * cols);
      be.geluForward(x, g, g.length);
      const dg = new Float32Array(rows * cols);
      be.geluBackward(dy, x, dg, dg.length);
      const gt = new Float32Array(rows * cols);
      be.geluTanhForward(x, gt, gt.length);
      const dgt = new Float32Array(rows * cols);
      be.geluTanhBackward(dy, x, dgt, dgt.length);
      const sum = new Float32Array(rows * cols);
      be.add(x, dy, sum, sum.length);
      const sc = new Float32Array(rows * cols);
      be.scale(x, -0.37, sc, sc.length);
      const cs = randomArray(cols, 16);
      be.sumRows(x, cs, rows, cols, true);
      return { sm, dsm, g, dg, gt, dgt, sum, sc, cs, sq: new Float32Array([be.sumSquares(x, x.length)]) };
    };
    const j = run(jsBackend);
    const n = run(nb);
    for (const key of Object.keys(j) as Array<keyof typeof j>) close(n[key], j[key], key === "sq" ? 1e-2 : 1e-5, key);
  });

  it("log-softmax (in place too) on rows as wide as GPT-2's vocabulary, shifted far from 0", () => {
    const [rows, cols] = [3, 50257];
    const x = randomArray(rows * cols, 19, 12).map((v, i) => v + (Math.floor(i / cols) - 1) * 3000);
    const j = new Float32Array(x.length);
    jsBackend.logSoftmaxForward(x, j, rows, cols);
    const n = x.slice();
    nb.logSoftmaxForward(n, n, rows, cols);
    close(n, j, 1e-5, "log-softmax");
  });

  it("splitHeads / mergeHeads and patchify on odd shapes", () => {
    const [B, N, S, H, hd] = [2, 5, 3, 3, 7];
    const src = randomArray(B * N * S * H * hd, 17);
    const a = new Float32Array(src.length);
    const b = new Float32Array(src.length);
    jsBackend.splitHeads(src, a, B, N, S, H, hd);
    nb.splitHeads(src, b, B, N, S, H, hd);
    assert.deepEqual(b, a);
    const back = new Float32Array(src.length);
    nb.mergeHeads(b, back, B, N, S, H, hd);
    assert.deepEqual(back, src, "merge inverts split");
    const img = randomArray(2 * 3 * 12 * 8, 18);
    const pj = new Float32Array(img.length);
    const pn = new Float32Array(img.length);
    jsBackend.patchify(img, pj, 2, 3, 12, 8, 4);
    nb.patchify(img, pn, 2, 3, 12, 8, 4);
    assert.deepEqual(pn, pj);
  });

  it("SGD (momentum, nesterov, weight decay) and AdamW steps", () => {
    const n = 1001;
    const g = randomArray(n, 30);
    for (const [momentum, nesterov, first] of [[0.9, false, true], [0.9, true, false], [0, false, false]] as const) {
      const [wj, wn] = [randomArray(n, 31), randomArray(n, 31)];
      const [bj, bn] = momentum ? [randomArray(n, 32), randomArray(n, 32)] : [null, null];
      jsBackend.sgdStep(wj, g, bj, { n, lr: 0.1, momentum, dampening: 0, nesterov, weightDecay: 1e-3, first });
      nb.sgdStep(wn, g, bn, { n, lr: 0.1, momentum, dampening: 0, nesterov, weightDecay: 1e-3, first });
      close(wn, wj, 1e-6, `sgd momentum=${momentum} nesterov=${nesterov}`);
      if (bj && bn) close(bn, bj, 1e-6, "momentum buffer");
    }
    const [wj, wn] = [randomArray(n, 33), randomArray(n, 33)];
    const [mj, mn] = [randomArray(n, 34, 0.1), randomArray(n, 34, 0.1)];
    const [vj, vn] = [randomArray(n, 35, 0.1).map(Math.abs), randomArray(n, 35, 0.1).map(Math.abs)];
    jsBackend.adamwStep(wj, g, mj, vj, { n, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, t: 3 });
    nb.adamwStep(wn, g, mn, vn, { n, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, t: 3 });
    close(wn, wj, 1e-6, "adamw weights");
    close(mn, mj, 1e-7, "adamw m");
    close(vn, vj, 1e-7, "adamw v");
  });

  it("small calls run on one thread and give the thread count back, even when they throw", () => {
    const before = nb.getThreads();
    nb.setThreads(2);
    try {
      // 4 rows (a beam's decoding step): below the serial threshold; then a rejected small call.
      const x = randomArray(4 * 768, 40);
      const [oj, on] = [new Float32Array(x.length), new Float32Array(x.length)];
      const stats = () => [new Float32Array(4), new Float32Array(4)] as const;
      const w = randomArray(768, 41);
      const b = randomArray(768, 42);
      jsBackend.layernormForward(x, w, b, oj, ...stats(), 4, 768, 1e-5);
      nb.layernormForward(x, w, b, on, ...stats(), 4, 768, 1e-5);
      close(on, oj, 1e-5, "layernorm of 4 rows");
      assert.equal(nb.getThreads(), 2);
      assert.throws(() => nb.softmaxForward(new Float32Array(4), new Float32Array(4), 2, 3), /shorter/);
      assert.equal(nb.getThreads(), 2);
    } finally {
      nb.setThreads(before);
    }
  });

  it("rejects buffers shorter than the shape says, instead of reading past them", () => {
    const small = new Float32Array(4);
    assert.throws(() => nb.matmul(small, small, small, { m: 3, n: 3, k: 3 }), /shorter than the 9 elements/);
    assert.throws(() => nb.softmaxForward(small, small, 2, 3), /shorter/);
    assert.throws(() => nb.matmul(new Float64Array(9) as unknown as Float32Array, small, small, { m: 1, n: 1, k: 1 }), /Float32Array/);
  });
});

describe("js reference backend, by hand", () => {
  it("splitHeads puts q, k, v of each head in contiguous (N, hd) blocks", () => {
    // B=1, N=2 tokens, S=3 (q,k,v), H=2 heads, hd=1: token t part s head h = 100t + 10s + h
    const src = Float32Array.from([0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121]);
    const dst = new Float32Array(12);
    jsBackend.splitHeads(src, dst, 1, 2, 3, 2, 1);
    assert.deepEqual([...dst], [0, 100, 1, 101, 10, 110, 11, 111, 20, 120, 21, 121]);
  });

  it("patchify lays each patch out like a Conv2d weight (C, p, p)", () => {
    // 1 image, 2 channels, 2x4 pixels, patch 2 -> 2 patches of 8 values.
    const img = Float32Array.from({ length: 16 }, (_, i) => i);
    const out = new Float32Array(16);
    jsBackend.patchify(img, out, 1, 2, 2, 4, 2);
    assert.deepEqual([...out], [0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15]);
  });

  it("log-softmax of [1, 2, 3] and of a row 1000 higher: log(e^x / (e + e^2 + e^3))", () => {
    const x = Float32Array.from([1, 2, 3, 1001, 1002, 1003]);
    const out = new Float32Array(6);
    jsBackend.logSoftmaxForward(x, out, 2, 3);
    const logZ = Math.log(Math.E + Math.E ** 2 + Math.E ** 3);
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(out[i] - ((i % 3) + 1 - logZ)) < 1e-6, `entry ${i}: ${out[i]}`);
  });

  it("matmul with transposes on a 2x3 example", () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // (2,3)
    const c = new Float32Array(4);
    jsBackend.matmul(a, a, c, { m: 2, n: 2, k: 3, transB: true, bias: Float32Array.from([10, 20]) }); // A A^T + bias
    assert.deepEqual([...c], [24, 52, 42, 97]);
  });
});
