// bf16 mixed precision: the rounding and the emulated products against torch.bfloat16
// (scripts/reference/bf16.py), the policy on a whole ViT, the flag's rules, and the run state.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jsBackend, tryNativeBackend } from "../src/backend/index.js";
import { roundBf16 } from "../src/backend/bf16.js";
import { cpuFeatures, resolvePrecision, withPrecision } from "../src/backend/precision.js";
import { loadModel } from "../src/checkpoint/load.js";
import { train, type TrainOptions, type TrainReporter } from "../src/train/trainer.js";
import { backends, expected, fixture, maxAbsDiff, root, writeIdxPair } from "./helpers.js";

const ref = expected("bf16.expected.safetensors");
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const native = tryNativeBackend();
const nativeBf16 = native ? cpuFeatures(native)?.nativeBf16 ?? false : false;

describe("bf16 rounding (round to nearest even) against torch.bfloat16", () => {
  const input = ref.get("round.in")!.data;
  const want = ref.get("round.out")!.data;
  it("the js reference: every bit, ties, subnormals, overflow to infinity", () => {
    const out = new Float32Array(input.length);
    roundBf16(input, out);
    assert.deepEqual(bitsOf(out), bitsOf(want));
  });
  for (const be of backends()) {
    it(`${be.name} backend's roundBf16`, () => {
      const out = new Float32Array(input.length);
      be.roundBf16(input, out, input.length);
      assert.deepEqual(bitsOf(out), bitsOf(want));
    });
  }
  it("keeps NaN a NaN", () => {
    const out = new Float32Array(1);
    roundBf16(Float32Array.of(NaN), out);
    assert.ok(Number.isNaN(out[0]));
  });
});

describe("bf16-emulated products", () => {
  const a = ref.get("mm.a")!;
  const b = ref.get("mm.b")!;
  const want = ref.get("mm.emulated")!.data;
  const [m, k] = a.shape;
  const n = b.shape[1];
  for (const be of backends()) {
    it(`${be.name}: bf16 operands, f32 accumulation, as torch's rounding then a float64 product (1e-5)`, () => {
      const emulated = withPrecision(be, "bf16-emulated");
      assert.equal(emulated.precision, "bf16-emulated");
      const c = new Float32Array(m * n);
      emulated.matmul(a.data, b.data, c, { m, n, k });
      assert.ok(maxAbsDiff(c, want) < 1e-5, `differs by ${maxAbsDiff(c, want)}`);
      // The same product in fp32 is measurably different: the test sees the rounding.
      const plain = new Float32Array(m * n);
      be.matmul(a.data, b.data, plain, { m, n, k });
      assert.ok(maxAbsDiff(plain, want) > 1e-3, "fp32 and bf16 operands should differ");
      // Batched (attention's products) on the same data, as one batch of two.
      const c2 = new Float32Array(2 * m * n);
      const a2 = new Float32Array(2 * m * k); a2.set(a.data); a2.set(a.data, m * k);
      const b2 = new Float32Array(2 * k * n); b2.set(b.data); b2.set(b.data, k * n);
      emulated.batchMatmul(a2, b2, c2, { batch: 2, m, n, k, alpha: 0.5 });
      assert.ok(maxAbsDiff(c2.subarray(m * n), want.map((v) => 0.5 * v)) < 1e-5);
    });
  }
  it("the js backend's bf16 flag is the same emulation", () => {
    const c = new Float32Array(m * n);
    jsBackend.matmul(a.data, b.data, c, { m, n, k, bf16: true });
    assert.ok(maxAbsDiff(c, want) < 1e-5);
  });
  it("native bf16 kernels match the emulation within accumulation-order noise", { skip: nativeBf16 ? false : "this CPU has no avx512_core_bf16 / AMX: oneDNN has no bf16 matmul here" }, () => {
    const be = withPrecision(native!, "bf16");
    const c = new Float32Array(m * n);
    be.matmul(a.data, b.data, c, { m, n, k, transB: false });
    assert.ok(maxAbsDiff(c, want) < 1e-5, `differs by ${maxAbsDiff(c, want)}`);
    const { model } = loadModel(fixture("timm-tiny"));
    const pixels = expected("timm-tiny.expected.safetensors").get("pixels")!;
    const d = maxAbsDiff(model.forward(pixels, be).logits!.data, model.forward(pixels, withPrecision(native!, "bf16-emulated")).logits!.data);
    assert.ok(d < 2e-3, `native bf16 and emulated logits differ by ${d}`);
  });
});

describe("the bf16 policy on a ViT (timm-tiny)", () => {
  const pixels = expected("timm-tiny.expected.safetensors").get("pixels")!;
  const policy = ref.get("policy.logits")!.data;
  const fp32 = ref.get("fp32.logits")!.data;
  for (const be of backends()) {
    it(`${be.name}: logits equal the policy written in torch (1e-4; fp32 differs by ~7e-3)`, () => {
      const { model } = loadModel(fixture("timm-tiny"));
      const logits = model.forward(pixels, withPrecision(be, "bf16-emulated")).logits!.data;
      // Measured 2.4e-7 here. Operands are rounded from fp32 values that may differ in their last
      // bits between engines, so an operand can round the other way: 1e-4 leaves room for that.
      const d = maxAbsDiff(logits, policy);
      assert.ok(maxAbsDiff(fp32, policy) > 4e-3, "the fixture's policy and fp32 logits should differ");
      assert.ok(d < 1e-4, `logits differ from the torch policy by ${d}`);
      // PyTorch's autocast is another policy (bf16 outputs, bf16 layer norm inputs): a loose
      // sanity check only, 5e-2 on logits of ~2 (measured 8.5e-3).
      const auto = maxAbsDiff(logits, ref.get("autocast.logits")!.data);
      assert.ok(auto < 5e-2, `autocast logits differ by ${auto}`);
      // fp32 stays exactly fp32: the wrapper's fp32 is the backend itself.
      assert.equal(withPrecision(withPrecision(be, "bf16-emulated"), "fp32"), be);
    });
  }
});

describe("--precision rules", () => {
  const be = native ?? jsBackend;
  it("auto picks bf16 only where the CPU has bf16 units, and says so", () => {
    const r = resolvePrecision("auto", be);
    if (nativeBf16) {
      assert.equal(r.precision, "bf16");
      assert.match(r.note ?? "", /bf16/);
    } else assert.deepEqual(r, { precision: "fp32", note: null });
  });
  it("bf16 without the units is a one-line error naming the flag", { skip: nativeBf16 ? "this CPU has bf16 units" : false }, () => {
    assert.throws(() => resolvePrecision("bf16", be), (e: Error) => /^--precision bf16: needs a CPU with avx512_core_bf16 or AMX/.test(e.message) && !e.message.includes("\n"));
  });
  it("bf16-emulated runs anywhere", () => {
    assert.equal(resolvePrecision("bf16-emulated", be).precision, "bf16-emulated");
  });
});

describe("precision in the run state", () => {
  const dir = mkdtempSync(join(tmpdir(), "vitlens-precision-"));
  const data = writeIdxPair(dir, "task", 32, 8, 8, (i) => i % 2, (i, k) => ((i % 2 ? k >> 3 : k % 8) % 2) * 200);
  const options = (out: string): TrainOptions => ({
    model: "vit-ti16", data, val: null, valSplit: 0, out, optimizer: "sgd", lr: 0.01, momentum: 0.9, nesterov: false,
    weightDecay: 0, schedule: "constant", stepSize: 10, gamma: 0.5, warmupSteps: 0, epochs: 2, batchSize: 8, imageSize: [8, 8], seed: 1,
    labelSmoothing: 0, clipGrad: 0, freeze: "", headLrScale: 1, augment: false, flip: false, minScale: 0.8, hiddenDropout: 0,
    attentionDropout: 0, architecture: { patchSize: 4, hiddenSize: 16, numLayers: 1, numHeads: 2, mlpSize: 32 }, newHead: false, strict: false, recipe: null,
    precision: "bf16-emulated",
  });
  const savedOptions = (run: string) => {
    const state = JSON.parse(readFileSync(join(run, "state.json"), "utf8")).current;
    return { path: join(run, state, "progress.json"), saved: JSON.parse(readFileSync(join(run, state, "progress.json"), "utf8")) };
  };
  const quiet: TrainReporter = { log: () => {}, startEpoch: () => {}, step: () => {}, endEpoch: () => {} };

  it("records the precision; a bf16 run stops on a CPU without bf16 units unless --precision fp32 (warned, recorded)", { skip: nativeBf16 ? "this CPU has bf16 units" : false }, async () => {
    const run = join(dir, "run");
    let steps = 0;
    await train(options(run), jsBackend, { ...quiet, step: () => steps++ }, () => steps === 3);
    const { path, saved } = savedOptions(run);
    assert.equal(saved.options.precision, "bf16-emulated");
    // As if the run had trained on a CPU with bf16 units.
    writeFileSync(path, JSON.stringify({ ...saved, options: { ...saved.options, precision: "bf16" } }));
    await assert.rejects(train({ resume: run }, jsBackend, quiet, () => false), /this run trained with bf16 products, which this CPU cannot run .*--precision fp32/);
    const logs: string[] = [];
    const r = await train({ resume: run, precision: "fp32" }, jsBackend, { ...quiet, log: (l) => logs.push(l) }, () => false);
    assert.equal(r.interrupted, false);
    assert.ok(logs.some((l) => /warning: this run trained with bf16 products; continuing with fp32/.test(l)), logs.join("\n"));
    assert.equal(savedOptions(run).saved.options.precision, "fp32");
  });
});

describe("--precision on the command line", () => {
  const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } });
  const logits = (precision: string) => {
    const r = vitlens("predict", "--model", fixture("timm-tiny"), "--precision", precision, "--json", fixture("timm-tiny-0.png"));
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim()).logits as number[];
  };
  it("predict: bf16-emulated logits are near the fp32 ones but not equal; an unknown value is refused naming the choices", () => {
    const [a, b] = [logits("fp32"), logits("bf16-emulated")];
    const d = maxAbsDiff(a, b);
    assert.ok(d > 0 && d < 5e-2, `fp32 vs bf16-emulated logits differ by ${d}`);
    const bad = vitlens("predict", "--model", fixture("timm-tiny"), "--precision", "fp16", fixture("timm-tiny-0.png"));
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--precision.*'fp16' is invalid\. expected fp32, bf16, auto or bf16-emulated/);
  });
  it("bench --precision bf16 on a CPU without bf16 units: one line, no stack", { skip: nativeBf16 ? "this CPU has bf16 units" : false }, () => {
    const r = vitlens("bench", "--model", "vit-ti16", "--batch", "1", "--iters", "1", "--precision", "bf16");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^vitlens: error: --precision bf16: needs a CPU with avx512_core_bf16 or AMX/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  });
});
