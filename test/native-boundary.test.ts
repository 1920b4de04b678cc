// The native boundary: every Backend function called with zero-sized shapes and with a bad
// argument, on both backends, in a child process that must survive (a C++ exception escaping the
// addon, or one thrown inside an OpenMP region, aborts the process: exit 134). Zero sizes give
// empty results, bad arguments a JS Error naming the function and the argument — the same words
// from native and js. Also: forward on an empty batch, oneDNN 2.x calls kept in dnnl-compat.h,
// and CI refusing to run without the addon.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Backend, ConvStep } from "../src/backend/backend.js";
import { jsBackend, tryNativeBackend } from "../src/backend/index.js";
import { loadNativeBackend, nativeAddonPath } from "../src/backend/native.js";
import { ViT } from "../src/models/vit.js";
import { defaultConfig } from "../src/models/vit-config.js";
import { initParams } from "../src/models/vit-params.js";
import { root } from "./helpers.js";

const CHILD = "VITLENS_BOUNDARY_CHILD";
const f = (n: number, v = 0) => new Float32Array(n).fill(v);
const conv = (over: Partial<Extract<ConvStep, { kind: "conv" }>> = {}): ConvStep => ({
  kind: "conv", input: -1, inChannels: 3, outChannels: 4, kernel: 3, stride: 1, padding: 1, dilation: 1, relu: true,
  weight: f(4 * 3 * 9, 0.1), bias: f(4, 0.5), ...over,
});
const pool: ConvStep = { kind: "maxpool", input: 0, kernel: 2, stride: 2, padding: 0 };

/** A call that must return `expect` (its outputs as plain arrays). */
interface Zero { id: string; run: (be: Backend) => unknown; expect: unknown }
/** A call that must throw an Error matching `error`; `same`: native and js say it in the same words. */
interface Bad { id: string; run: (be: Backend) => unknown; error: RegExp; same?: boolean }

const out = (c: Float32Array) => Array.from(c);

// Zero-sized shapes, every Backend function; empty sums (K = 0, no input channels) give the bias.
const zeros: Zero[] = [
  { id: "matmul M=0", run: (be) => { const c = f(0); be.matmul(f(0), f(12), c, { m: 0, n: 3, k: 4 }); return out(c); }, expect: [] },
  { id: "matmul N=0", run: (be) => { const c = f(0); be.matmul(f(8), f(0), c, { m: 2, n: 0, k: 4, bias: f(0) }); return out(c); }, expect: [] },
  { id: "matmul K=0: C = bias", run: (be) => { const c = f(6, 7); be.matmul(f(0), f(0), c, { m: 2, n: 3, k: 0, bias: Float32Array.of(1, -2, 3) }); return out(c); }, expect: [1, -2, 3, 1, -2, 3] },
  { id: "matmul K=0, ReLU", run: (be) => { const c = f(6, 7); be.matmul(f(0), f(0), c, { m: 2, n: 3, k: 0, bias: Float32Array.of(1, -2, 3), relu: true }); return out(c); }, expect: [1, 0, 3, 1, 0, 3] },
  { id: "matmul K=0, accumulate", run: (be) => { const c = f(6, 7); be.matmul(f(0), f(0), c, { m: 2, n: 3, k: 0, bias: Float32Array.of(1, -2, 3), accumulate: true }); return out(c); }, expect: [8, 5, 10, 8, 5, 10] },
  { id: "matmul K=0, no bias, transposes", run: (be) => { const c = f(6, 7); be.matmul(f(0), f(0), c, { m: 2, n: 3, k: 0, transA: true, transB: true }); return out(c); }, expect: [0, 0, 0, 0, 0, 0] },
  { id: "batchMatmul batch=0", run: (be) => { const c = f(0); be.batchMatmul(f(0), f(0), c, { batch: 0, m: 4, n: 4, k: 8, alpha: 0.5 }); return out(c); }, expect: [] },
  { id: "batchMatmul K=0", run: (be) => { const c = f(4, 7); be.batchMatmul(f(0), f(0), c, { batch: 2, m: 1, n: 2, k: 0, alpha: 0.5 }); return out(c); }, expect: [0, 0, 0, 0] },
  { id: "batchMatmul K=0, accumulate", run: (be) => { const c = f(4, 7); be.batchMatmul(f(0), f(0), c, { batch: 2, m: 1, n: 2, k: 0, accumulate: true }); return out(c); }, expect: [7, 7, 7, 7] },
  { id: "layernormForward rows=0", run: (be) => { be.layernormForward(f(0), f(4, 1), f(4), f(0), f(0), f(0), 0, 4, 1e-5); return null; }, expect: null },
  { id: "layernormBackward rows=0: gradients unchanged", run: (be) => {
    const [dw, db] = [f(4, 1), f(4, 2)];
    be.layernormBackward(f(0), f(0), f(0), f(0), f(4, 1), f(0), dw, db, 0, 4);
    return [...dw, ...db];
  }, expect: [1, 1, 1, 1, 2, 2, 2, 2] },
  { id: "softmaxForward rows=0", run: (be) => { be.softmaxForward(f(0), f(0), 0, 5); return null; }, expect: null },
  { id: "softmaxForward cols=0", run: (be) => { be.softmaxForward(f(0), f(0), 3, 0); return null; }, expect: null },
  { id: "logSoftmaxForward rows=0", run: (be) => { be.logSoftmaxForward(f(0), f(0), 0, 5); return null; }, expect: null },
  { id: "softmaxBackward rows=0", run: (be) => { be.softmaxBackward(f(0), f(0), f(0), 0, 5); return null; }, expect: null },
  { id: "geluForward n=0", run: (be) => { be.geluForward(f(0), f(0), 0); return null; }, expect: null },
  { id: "geluBackward n=0", run: (be) => { be.geluBackward(f(0), f(0), f(0), 0); return null; }, expect: null },
  { id: "geluTanhForward n=0", run: (be) => { be.geluTanhForward(f(0), f(0), 0); return null; }, expect: null },
  { id: "geluTanhBackward n=0", run: (be) => { be.geluTanhBackward(f(0), f(0), f(0), 0); return null; }, expect: null },
  { id: "add n=0", run: (be) => { be.add(f(0), f(0), f(0), 0); return null; }, expect: null },
  { id: "scale n=0", run: (be) => { be.scale(f(0), 2, f(0), 0); return null; }, expect: null },
  { id: "sumRows rows=0: zero sums", run: (be) => { const o = f(3, 5); be.sumRows(f(0), o, 0, 3, false); return out(o); }, expect: [0, 0, 0] },
  { id: "sumRows rows=0, accumulate", run: (be) => { const o = f(3, 5); be.sumRows(f(0), o, 0, 3, true); return out(o); }, expect: [5, 5, 5] },
  { id: "sumSquares n=0", run: (be) => be.sumSquares(f(0), 0), expect: 0 },
  { id: "roundBf16 n=0", run: (be) => { be.roundBf16(f(0), f(0), 0); return null; }, expect: null },
  { id: "sgdStep n=0", run: (be) => { be.sgdStep(f(0), f(0), f(0), { n: 0, lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, first: true }); return null; }, expect: null },
  { id: "adamwStep n=0", run: (be) => { be.adamwStep(f(0), f(0), f(0), f(0), { n: 0, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 1 }); return null; }, expect: null },
  { id: "splitHeads B=0", run: (be) => { be.splitHeads(f(0), f(0), 0, 2, 3, 2, 4); return null; }, expect: null },
  { id: "mergeHeads hd=0", run: (be) => { be.mergeHeads(f(0), f(0), 1, 2, 3, 2, 0); return null; }, expect: null },
  { id: "patchify B=0", run: (be) => { be.patchify(f(0), f(0), 0, 3, 28, 28, 7); return null; }, expect: null },
  { id: "conv2d batch=0", run: (be) => { const o = f(0); be.conv2d(f(0), f(4 * 3 * 9), o, { batch: 0, inChannels: 3, height: 5, width: 5, outChannels: 4, kernel: 3 }); return out(o); }, expect: [] },
  { id: "conv2d outChannels=0", run: (be) => { const o = f(0); be.conv2d(f(75), f(0), o, { batch: 1, inChannels: 3, height: 5, width: 5, outChannels: 0, kernel: 3 }); return out(o); }, expect: [] },
  { id: "conv2d inChannels=0: relu(bias)", run: (be) => {
    const o = f(2 * 9, 7);
    be.conv2d(f(0), f(0), o, { batch: 1, inChannels: 0, height: 3, width: 3, outChannels: 2, kernel: 3, padding: 1, bias: Float32Array.of(1, -1), relu: true });
    return out(o);
  }, expect: [...Array(9).fill(1), ...Array(9).fill(0)] },
  { id: "maxPool2d batch=0", run: (be) => { const o = f(0); be.maxPool2d(f(0), o, { batch: 0, channels: 3, height: 4, width: 4, kernel: 2, stride: 2, padding: 0 }); return out(o); }, expect: [] },
  { id: "maxPool2d channels=0", run: (be) => { const o = f(0); be.maxPool2d(f(0), o, { batch: 2, channels: 0, height: 4, width: 4, kernel: 2, stride: 2, padding: 0 }); return out(o); }, expect: [] },
  { id: "convNet forward batch=0", run: (be) => { const o = f(0); be.convNet([conv(), pool]).forward(f(0), o, 0, 6, 6); return out(o); }, expect: [] },
];

// One bad argument per function: a negative, fractional, non-finite or non-number dimension, a
// short or mistyped buffer, a shape whose element count overflows 64 bits, a window larger than
// its input, a missing float.
const bad: Bad[] = [
  { id: "matmul M=-1", run: (be) => be.matmul(f(12), f(12), f(9), { m: -1, n: 3, k: 4 }), error: /^matmul: M: expected a non-negative integer, got -1$/, same: true },
  { id: "matmul short C", run: (be) => be.matmul(f(8), f(12), f(5), { m: 2, n: 3, k: 4 }), error: /^matmul: C: Float32Array of length 5 is shorter than the 6 elements the shape needs$/, same: true },
  { id: "batchMatmul K=1.5", run: (be) => be.batchMatmul(f(8), f(8), f(8), { batch: 2, m: 2, n: 2, k: 1.5 }), error: /^batchMatmul: K: expected a non-negative integer, got 1.5$/, same: true },
  { id: "layernormForward short weight", run: (be) => be.layernormForward(f(8), f(3), f(4), f(8), f(2), f(2), 2, 4, 1e-5), error: /^layernormForward: weight: .*length 3 is shorter than the 4/, same: true },
  { id: "layernormBackward rows=NaN", run: (be) => be.layernormBackward(f(8), f(8), f(2), f(2), f(4), f(8), f(4), f(4), NaN, 4), error: /^layernormBackward: rows: expected a non-negative integer, got NaN$/, same: true },
  { id: "softmaxForward cols as a string", run: (be) => be.softmaxForward(f(6), f(6), 2, "3" as unknown as number), error: /^softmaxForward: cols: expected a number, got string$/, same: true },
  { id: "logSoftmaxForward short out", run: (be) => be.logSoftmaxForward(f(6), f(5), 2, 3), error: /^logSoftmaxForward: out: .*shorter/, same: true },
  { id: "softmaxBackward dy a Float64Array", run: (be) => be.softmaxBackward(new Float64Array(6) as unknown as Float32Array, f(6), f(6), 2, 3), error: /^softmaxBackward: dy: expected a Float32Array$/, same: true },
  { id: "geluForward n=-1", run: (be) => be.geluForward(f(4), f(4), -1), error: /^geluForward: n: expected a non-negative integer, got -1$/, same: true },
  { id: "geluBackward short dx", run: (be) => be.geluBackward(f(4), f(4), f(3), 4), error: /^geluBackward: dx: .*shorter/, same: true },
  { id: "geluTanhForward n=2^53", run: (be) => be.geluTanhForward(f(4), f(4), 2 ** 53), error: /^geluTanhForward: n: expected a non-negative integer, got 9007199254740992$/, same: true },
  { id: "geluTanhBackward x=null", run: (be) => be.geluTanhBackward(f(4), null as unknown as Float32Array, f(4), 4), error: /^geluTanhBackward: x: expected a Float32Array$/, same: true },
  { id: "add n=Infinity", run: (be) => be.add(f(4), f(4), f(4), Infinity), error: /^add: n: expected a non-negative integer, got Infinity$/, same: true },
  { id: "scale s undefined", run: (be) => be.scale(f(4), undefined as unknown as number, f(4), 4), error: /^scale: s: expected a number, got undefined$/, same: true },
  { id: "sumRows short out", run: (be) => be.sumRows(f(6), f(2), 2, 3, false), error: /^sumRows: out: .*shorter/, same: true },
  { id: "sumSquares n=-0.5", run: (be) => be.sumSquares(f(4), -0.5), error: /^sumSquares: n: expected a non-negative integer, got -0.5$/, same: true },
  { id: "roundBf16 short out", run: (be) => be.roundBf16(f(4), f(1), 4), error: /^roundBf16: out: .*shorter/, same: true },
  { id: "splitHeads with 2^80 elements", run: (be) => be.splitHeads(f(4), f(4), 2 ** 40, 2 ** 40, 1, 1, 1), error: /^splitHeads: src: the shape needs more than 2\^53 elements$/, same: true },
  { id: "mergeHeads short dst", run: (be) => be.mergeHeads(f(24), f(23), 1, 2, 3, 2, 2), error: /^mergeHeads: dst: .*shorter/, same: true },
  { id: "patchify patch=0", run: (be) => be.patchify(f(12), f(12), 1, 3, 2, 2, 0), error: /^patchify: image size must be a multiple of the patch size$/, same: true },
  { id: "sgdStep lr missing", run: (be) => be.sgdStep(f(4), f(4), null, { n: 4, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, first: true } as unknown as Parameters<Backend["sgdStep"]>[3]), error: /^sgdStep: lr: expected a number, got undefined$/, same: true },
  { id: "adamwStep t=0", run: (be) => be.adamwStep(f(4), f(4), f(4), f(4), { n: 4, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 0 }), error: /^adamwStep: t: expected a positive integer, got 0$/, same: true },
  { id: "conv2d input smaller than the kernel", run: (be) => be.conv2d(f(8), f(18), f(8), { batch: 1, inChannels: 2, height: 2, width: 2, outChannels: 1, kernel: 3, stride: 2 }), error: /^conv2d: the input is smaller than the kernel$/, same: true },
  { id: "conv2d kernel=0", run: (be) => be.conv2d(f(8), f(0), f(8), { batch: 1, inChannels: 2, height: 2, width: 2, outChannels: 1, kernel: 0 }), error: /^conv2d: kernel, stride and dilation must be positive$/, same: true },
  { id: "maxPool2d padding over half the kernel", run: (be) => be.maxPool2d(f(16), f(64), { batch: 1, channels: 1, height: 4, width: 4, kernel: 3, stride: 1, padding: 2 }), error: /^maxPool2d: padding must be at most half the kernel$/, same: true },
  { id: "convNet step kernel=0", run: (be) => be.convNet([conv({ kernel: 0, weight: f(0) })]).forward(f(75), f(100), 1, 5, 5), error: /^convNet step 0: kernel: expected an integer of at least 1, got 0$/, same: true },
  { id: "convNet forward height=-2", run: (be) => be.convNet([conv(), pool]).forward(f(108), f(36), 1, -2, 6), error: /^convNet\.forward: height: expected a non-negative integer, got -2$/, same: true },
  // Passes the argument checks; oneDNN refuses the second convolution's channels (native) or the
  // shape walk does (js): an Error either way, not an abort.
  { id: "convNet with mismatched channels", run: (be) => be.convNet([conv(), conv({ input: 0, inChannels: 5, weight: f(4 * 5 * 9) })]).forward(f(75), f(100), 1, 5, 5), error: /convNet/ },
];

// A tiny ViT on an empty batch (B = 0): every output empty, shapes kept.
const vitConfig = defaultConfig({ hiddenSize: 32, numLayers: 2, numHeads: 2, mlpSize: 64, patchSize: 7, imageSize: [28, 28], numClasses: 5 });
function emptyForward(be: Backend) {
  const model = new ViT(vitConfig, initParams(vitConfig, 1));
  const o = model.forward({ data: f(0), shape: [0, 3, 28, 28] }, be);
  const t = (x: { data: Float32Array; shape: number[] } | null) => x && { shape: x.shape, length: x.data.length };
  return { logits: t(o.logits), features: t(o.features), attentions: o.attentions.map(t) };
}

type Outcome = { ok: true; value: unknown } | { ok: false; name: string; message: string };

// The child: runs every case on one backend and prints the outcomes as one JSON line.
if (process.env[CHILD]) {
  const be: Backend = process.env[CHILD] === "native" ? loadNativeBackend() : jsBackend;
  const outcomes: Record<string, Outcome> = {};
  const attempt = (id: string, run: () => unknown) => {
    try {
      outcomes[id] = { ok: true, value: run() };
    } catch (e) {
      outcomes[id] = { ok: false, name: (e as Error).name, message: (e as Error).message };
    }
  };
  for (const c of [...zeros, ...bad]) attempt(c.id, () => c.run(be));
  attempt("forward on an empty batch", () => emptyForward(be));
  process.stdout.write(`OUTCOMES ${JSON.stringify(outcomes)}\n`);
} else {
  const native = tryNativeBackend();
  const backends = native ? ["js", "native"] : ["js"];
  const self = fileURLToPath(import.meta.url);

  /** The child's outcomes on `name`; the child must exit 0 (a C++ exception escaping the addon aborts it). */
  const runs = new Map<string, { status: number | null; signal: string | null; stderr: string; outcomes: Record<string, Outcome> | null }>();
  const runChild = (name: string) => {
    if (!runs.has(name)) {
      const env: NodeJS.ProcessEnv = { ...process.env, [CHILD]: name, OMP_NUM_THREADS: "2" };
      delete env.NODE_TEST_CONTEXT; // a plain script, not a node:test subprocess
      const r = spawnSync(process.execPath, [self], { env, encoding: "utf8", timeout: 60_000 });
      const line = r.stdout.split("\n").find((l) => l.startsWith("OUTCOMES "));
      runs.set(name, { status: r.status, signal: r.signal, stderr: r.stderr, outcomes: line ? JSON.parse(line.slice("OUTCOMES ".length)) : null });
    }
    return runs.get(name)!;
  };
  const outcome = (name: string, id: string): Outcome => {
    const r = runChild(name);
    assert.ok(r.status === 0 && r.outcomes, `the ${name} child process died (exit ${r.status}, signal ${r.signal}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    assert.ok(id in r.outcomes!, `${id}: no outcome`);
    return r.outcomes![id];
  };

  for (const name of backends) {
    describe(`${name} backend at the boundary (a child process that must survive)`, () => {
      it("the child process runs every case and exits 0", () => {
        const r = runChild(name);
        assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.outcomes, "no outcomes printed");
      });
      for (const c of zeros) {
        it(`zero-sized: ${c.id}`, () => {
          const o = outcome(name, c.id);
          assert.ok(o.ok, `${c.id}: threw ${o.ok ? "" : `${o.name}: ${o.message}`}`);
          assert.deepEqual(o.value, c.expect);
        });
      }
      for (const c of bad) {
        it(`refused: ${c.id}`, () => {
          const o = outcome(name, c.id);
          assert.ok(!o.ok, `${c.id}: accepted`);
          assert.match(o.message, c.error);
          assert.ok(["Error", "TypeError", "RangeError"].includes(o.name), `${c.id}: ${o.name}`);
        });
      }
      it("model.forward on an empty batch returns empty outputs", () => {
        const o = outcome(name, "forward on an empty batch");
        assert.ok(o.ok, o.ok ? "" : `${o.name}: ${o.message}`);
        const [N, H] = [17, vitConfig.numHeads];
        assert.deepEqual(o.value, {
          logits: { shape: [0, 5], length: 0 },
          features: { shape: [0, vitConfig.hiddenSize], length: 0 },
          attentions: Array.from({ length: vitConfig.numLayers }, () => ({ shape: [0, H, N, N], length: 0 })),
        });
      });
    });
  }

  describe("native and js refuse the same calls in the same words", { skip: native ? false : "native addon not built" }, () => {
    for (const c of bad.filter((b) => b.same)) {
      it(c.id, () => {
        const [j, n] = [outcome("js", c.id), outcome("native", c.id)];
        assert.ok(!j.ok && !n.ok, `${c.id}: accepted by ${j.ok ? "js" : "native"}`);
        assert.equal(n.message, j.message);
        assert.equal(n.name, j.name);
      });
    }
  });

  describe("oneDNN 2.x calls live in native/dnnl-compat.h", () => {
    const nativeDir = join(root, "native");
    // Operation descriptors (3.x builds primitive descriptors directly), output scales,
    // logsoftmax_forward, append_eltwise's scale argument, the cpu_isa enum.
    const only2x = /\b(matmul|convolution_forward|pooling_forward|eltwise_forward|eltwise_backward|softmax_forward|logsoftmax_forward)::desc\b|set_output_scales|dnnl::logsoftmax_forward|\.append_eltwise\(|cpu_isa::|get_effective_cpu_isa|primitive_desc [a-z_]+\(\{/;

    it("no other native source uses them", () => {
      const offenders: string[] = [];
      for (const file of readdirSync(nativeDir)) {
        if (file === "dnnl-compat.h" || !/\.(cc|h|inc)$/.test(file)) continue;
        readFileSync(join(nativeDir, file), "utf8").split("\n").forEach((line, i) => {
          if (only2x.test(line)) offenders.push(`native/${file}:${i + 1}: ${line.trim()}`);
        });
      }
      assert.deepEqual(offenders, [], "oneDNN 2.x-only calls outside native/dnnl-compat.h");
    });

    const compile = (includeDirs: string[]) =>
      spawnSync("g++", ["-std=c++17", "-fsyntax-only", "-x", "c++", ...includeDirs.map((d) => `-I${d}`), join(nativeDir, "dnnl-compat.h")], { encoding: "utf8" });
    const haveCompiler = spawnSync("g++", ["--version"]).status === 0 && compile([]).status === 0;
    it("it refuses another oneDNN major version at compile time, naming the supported one", { skip: haveCompiler ? false : "no g++ or oneDNN headers" }, () => {
      const dir = mkdtempSync(join(tmpdir(), "vitlens-dnnl3-"));
      try {
        mkdirSync(join(dir, "oneapi", "dnnl"), { recursive: true });
        writeFileSync(join(dir, "oneapi", "dnnl", "dnnl_version.h"), "#define DNNL_VERSION_MAJOR 3\n#define DNNL_VERSION_MINOR 4\n");
        const r = compile([dir]);
        assert.notEqual(r.status, 0, "dnnl-compat.h compiled against a oneDNN 3.x version header");
        assert.match(r.stderr, /#error.*supports oneDNN 2\.x only.*port native\/dnnl-compat\.h/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("CI proves the addon builds", () => {
    it("with CI set, the native backend is loaded", { skip: process.env.CI ? false : "CI is not set" }, () => {
      assert.ok(nativeAddonPath(), "CI: build/Release/vitlens_native.node is missing: the addon did not build");
      assert.ok(tryNativeBackend(), "CI: the native addon is built but does not load");
    });

    const installEnv = (ci: boolean) => {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("npm_") && k !== "CI" && k !== "VITLENS_SKIP_NATIVE") env[k] = v;
      return ci ? { ...env, CI: "1" } : env; // no npm_* variables: node-gyp is not found, the build fails at once
    };
    const install = join(root, "scripts", "install-native.js");
    it("install-native.js fails the install when the build fails under CI", () => {
      const r = spawnSync(process.execPath, [install], { env: installEnv(true), encoding: "utf8" });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /the native addon did not build.*CI is set, so the install fails/);
    });
    it("... and only warns elsewhere (users fall back to the js backend)", () => {
      const r = spawnSync(process.execPath, [install], { env: installEnv(false), encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /installing anyway/);
    });
  });

  after(() => runs.clear());
}
