#!/usr/bin/env node
// vitlens vs PyTorch 2 (HF transformers' ViT on the current CPU wheel: fp32, bf16 autocast,
// torch.compile's forward — the anchor) vs PyTorch 1.13 (Debian python3-torch) vs onnxruntime-node on
// the same ViT shapes, the engines alternating in one run so machine drift hits all of them; prints
// each engine's median and the ratios side by side.
//
//   node bench/compare.js [--train] [--preset vit-b16] [--batch 8] [--rounds 3] [--iters 3] [--threads 2]
//                         [--precision fp32|bf16|auto|bf16-emulated] [--no-onnx] [--baseline DIR]
//                         [--modern-python /tmp/venv/bin/python | --no-modern] [--compile]
//
// PyTorch 2 runs bench/hf_pytorch_bench.py in a venv with torch==2.13.0+cpu and transformers (the
// machine's wheel mirror); its fp32 column compares with vitlens fp32, its bf16 autocast and
// torch.compile columns with `--precision bf16`.
//
// --baseline DIR adds another vitlens checkout (built, e.g. the main branch) as one more engine, for
// before/after numbers from one run.
//
// PyTorch fairly configured: Debian's OpenBLAS 0.3.21 picks slow Cooperlake kernels on Sapphire
// Rapids, so where the CPU has AVX-512 both OPENBLAS_CORETYPE unset and SkylakeX are probed and the
// faster is used (and named). onnxruntime-node (forward only) runs an ONNX export made on demand by
// scripts/reference/onnx_export.py into out/onnx/ (ignored by git; build/ is wiped by node-gyp rebuilds).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: o } = parseArgs({
  options: {
    preset: { type: "string", default: "vit-b16" },
    batch: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    iters: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    python: { type: "string", default: "/usr/bin/python3" },
    precision: { type: "string", default: "fp32" },
    train: { type: "boolean", default: false },
    "no-onnx": { type: "boolean", default: false },
    baseline: { type: "string" },
    "modern-python": { type: "string", default: "/tmp/venv/bin/python" },
    "no-modern": { type: "boolean", default: false },
    compile: { type: "boolean", default: false },
  },
});
const modern = !o["no-modern"] && existsSync(o["modern-python"]);
if (!o["no-modern"] && !modern) process.stderr.write(`note: no ${o["modern-python"]}: the PyTorch 2 anchor is left out (make a venv: pip install torch==2.13.0+cpu transformers)\n`);

const run = (cmd, args, env = {}) =>
  JSON.parse(execFileSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop());
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const common = ["--batch", o.batch, "--iters", o.iters];
const trainFlag = o.train ? ["--train"] : [];
const pytorch = (env, args = [...common, ...trainFlag]) =>
  run(o.python, [join(root, "bench", "pytorch_bench.py"), "--preset", o.preset, ...args, "--threads", o.threads], env);

// Debian's torch calls whatever libblas.so.3 points at: the reference BLAS makes it ~100x slower.
const blas = "/usr/lib/x86_64-linux-gnu/libblas.so.3";
if (existsSync(blas) && !/openblas|blis|mkl/i.test(realpathSync(blas))) {
  throw new Error(`${blas} is the reference BLAS (${realpathSync(blas)}): PyTorch would run ~100x slower; apt-get install libopenblas0-pthread`);
}

// PyTorch's BLAS kernels: probe OPENBLAS_CORETYPE where it matters (AVX-512 CPUs), keep the faster.
const avx512 = /\bavx512f\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
const coretypes = avx512 ? [undefined, "SkylakeX"] : [undefined];
let torchEnv = {};
let coretypeNote = "OPENBLAS_CORETYPE unset (no AVX-512 here: SkylakeX not probed)";
if (coretypes.length > 1) {
  const probes = coretypes.map((t) => {
    const env = t ? { OPENBLAS_CORETYPE: t } : {};
    const s = pytorch(env, ["--batch", o.batch, "--iters", "2"]).forward_s;
    process.stderr.write(`probe: PyTorch forward with OPENBLAS_CORETYPE=${t ?? "(unset)"}: ${s.toFixed(3)} s\n`);
    return { t, env, s };
  });
  const best = probes.reduce((a, b) => (b.s < a.s ? b : a));
  torchEnv = best.env;
  coretypeNote = `OPENBLAS_CORETYPE=${best.t ?? "(unset)"}, the faster of ${probes.map((p) => `${p.t ?? "unset"} ${p.s.toFixed(2)} s`).join(", ")}`;
}

// The ONNX export for onnxruntime-node, made once per preset and batch.
let onnx = null;
if (!o["no-onnx"]) {
  onnx = join(root, "out", "onnx", `${o.preset}-b${o.batch}.onnx`);
  if (!existsSync(onnx)) {
    process.stderr.write(`exporting ${onnx} (scripts/reference/onnx_export.py)\n`);
    execFileSync(o.python, [join(root, "scripts", "reference", "onnx_export.py"), "--preset", o.preset, "--batch", o.batch, "--out", onnx], { stdio: ["ignore", "ignore", "inherit"] });
  }
}

const results = { vitlens: [], ...(o.baseline ? { baseline: [] } : {}), ...(modern ? { pytorch2: [] } : {}), pytorch: [], onnxruntime: [] };
let info = {};
for (let r = 0; r < Number(o.rounds); r++) {
  const v = run(process.execPath, [join(root, "bin", "vitlens.js"), "bench", "--model", o.preset, ...common, ...trainFlag, "--precision", o.precision, "--json"], { VITLENS_THREADS: o.threads });
  if (o.baseline) {
    // An older checkout may not know --precision: it is only passed when not fp32.
    const precision = o.precision === "fp32" ? [] : ["--precision", o.precision];
    results.baseline.push(run(process.execPath, [join(o.baseline, "bin", "vitlens.js"), "bench", "--model", o.preset, ...common, ...trainFlag, ...precision, "--json"], { VITLENS_THREADS: o.threads }));
  }
  if (modern) results.pytorch2.push(run(o["modern-python"], [join(root, "bench", "hf_pytorch_bench.py"), "--preset", o.preset, ...common, ...trainFlag, ...(o.compile ? ["--compile"] : []), "--threads", o.threads]));
  const p = pytorch(torchEnv);
  const x = onnx ? run(process.execPath, [join(root, "bench", "onnxruntime_bench.js"), "--model", onnx, ...common, "--threads", o.threads]) : null;
  results.vitlens.push(v);
  results.pytorch.push(p);
  if (x) results.onnxruntime.push(x);
  info = { v, torch: p.engine, ort: x?.engine, modern: modern ? results.pytorch2[r].engine : null };
  const last = Object.entries(results).filter(([, rs]) => rs.length === r + 1).map(([name, rs]) => [name, rs[r]]);
  const fwd = last.map(([name, x]) => `${name} ${x.forward_s.toFixed(3)} s`).join(", ");
  const steps = o.train ? `; train step ${last.filter(([, x]) => x.train_step_s !== undefined).map(([name, x]) => `${name} ${x.train_step_s.toFixed(3)} s`).join(", ")}` : "";
  process.stderr.write(`round ${r + 1}: forward ${fwd}${steps}\n`);
}

const summary = (rs) => rs.length === 0 ? null : ({
  forward_s: median(rs.map((x) => x.forward_s)),
  train_step_s: o.train && rs[0].train_step_s !== undefined ? median(rs.map((x) => x.train_step_s)) : null,
  peak_rss_mb: Math.max(...rs.map((x) => x.peak_rss_mb)),
});
const s = Object.fromEntries(Object.entries(results).map(([k, rs]) => [k, summary(rs)]));
const v = info.v;
const gflop = v.gflop_per_image * Number(o.batch);
console.log(`${o.preset}, batch ${o.batch}, ${v.image_size.join("x")}, ${o.threads} threads; CPU ${v.cpu ?? cpus()[0].model} (oneDNN ${v.isa ?? "n/a"}, measured FMA peak ${v.peak_gflops ? v.peak_gflops.toFixed(0) : "n/a"} GFLOPS fp32)`);
console.log(`vitlens ${v.backend} backend, ${v.precision ?? "fp32"} products; ${info.torch} fp32 (${coretypeNote})${info.ort ? `; ${info.ort} fp32` : ""}`);
console.log(`engine        forward_s  GFLOPS  images/s${o.train ? "  train_step_s" : ""}  peak RSS`);
for (const [name, r] of Object.entries(s)) {
  if (!r) continue;
  const step = o.train ? `  ${r.train_step_s === null ? "—".padStart(12) : r.train_step_s.toFixed(3).padStart(12)}` : "";
  console.log(`${name.padEnd(12)}  ${r.forward_s.toFixed(3).padStart(9)}  ${(gflop / r.forward_s).toFixed(0).padStart(6)}  ${(Number(o.batch) / r.forward_s).toFixed(2).padStart(8)}${step}  ${String(r.peak_rss_mb).padStart(5)} MB`);
}
const ratios = [`pytorch/vitlens ${(s.pytorch.forward_s / s.vitlens.forward_s).toFixed(2)}x`];
if (s.baseline) ratios.push(`baseline/vitlens ${(s.baseline.forward_s / s.vitlens.forward_s).toFixed(2)}x (pytorch/baseline ${(s.pytorch.forward_s / s.baseline.forward_s).toFixed(2)}x)`);
if (s.onnxruntime) ratios.push(`onnxruntime/vitlens ${(s.onnxruntime.forward_s / s.vitlens.forward_s).toFixed(2)}x`);
if (s.pytorch2) ratios.unshift(`pytorch2/vitlens ${(s.pytorch2.forward_s / s.vitlens.forward_s).toFixed(2)}x`);
console.log(`forward time ratios (higher: vitlens faster): ${ratios.join(", ")}`);
if (modern) {
  // PyTorch 2's other columns: bf16 autocast and torch.compile, beside vitlens at --precision
  const col = (k) => median(results.pytorch2.map((x) => x[k]).filter((x) => x !== undefined));
  const cols = [["forward_bf16_s", "bf16 autocast forward"], ["compile_forward_s", "torch.compile forward"], ["compile_forward_bf16_s", "torch.compile bf16 forward"], ["train_step_bf16_s", "bf16 autocast train step"]];
  for (const [k, what] of cols) {
    const t = col(k);
    if (!Number.isFinite(t)) continue;
    const mine = k.startsWith("train") ? s.vitlens.train_step_s : s.vitlens.forward_s;
    console.log(`pytorch2 ${what}: ${t.toFixed(3)} s (vitlens ${v.precision ?? "fp32"} ${mine.toFixed(3)} s: ${(t / mine).toFixed(2)}x)`);
  }
  if (!results.pytorch2.some((x) => x.bf16_cpu)) console.log("pytorch2 bf16 autocast: not timed (no bf16 units on this CPU; vitlens refuses native bf16 here too)");
  console.log(`pytorch2: ${info.modern}`);
}
if (o.train) {
  console.log(`train step ratio pytorch/vitlens: ${(s.pytorch.train_step_s / s.vitlens.train_step_s).toFixed(2)}x (vitlens step = ${(s.vitlens.train_step_s / s.vitlens.forward_s).toFixed(2)}x its forward)`);
  if (s.pytorch2) console.log(`train step ratio pytorch2/vitlens: ${(s.pytorch2.train_step_s / s.vitlens.train_step_s).toFixed(2)}x`);
  if (s.baseline) console.log(`train step ratio baseline/vitlens: ${(s.baseline.train_step_s / s.vitlens.train_step_s).toFixed(2)}x (pytorch/baseline ${(s.pytorch.train_step_s / s.baseline.train_step_s).toFixed(2)}x)`);
  console.log(`peak RSS ratio (vitlens / pytorch): ${(s.vitlens.peak_rss_mb / s.pytorch.peak_rss_mb).toFixed(2)}`);
}
