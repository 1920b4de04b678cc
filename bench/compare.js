#!/usr/bin/env node
// vitlens vs PyTorch (Debian python3-torch) on the same ViT shapes, alternating the two engines
// in one run so machine drift hits both; prints each engine's median and the ratio.
//
//   node bench/compare.js [--preset vit-b16] [--batch 8] [--rounds 3] [--iters 3] [--threads 2]
import { execFileSync } from "node:child_process";
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
    train: { type: "boolean", default: false },
  },
});

const run = (cmd, args, env = {}) =>
  JSON.parse(execFileSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: "utf8" }).trim().split("\n").pop());

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const common = ["--batch", o.batch, "--iters", o.iters, ...(o.train ? ["--train"] : [])];
const results = { vitlens: [], pytorch: [] };
let info = {};
for (let r = 0; r < Number(o.rounds); r++) {
  const v = run(process.execPath, [join(root, "bin", "vitlens.js"), "bench", "--model", o.preset, ...common, "--json"], { VITLENS_THREADS: o.threads });
  const p = run(o.python, [join(root, "bench", "pytorch_bench.py"), "--preset", o.preset, ...common, "--threads", o.threads]);
  results.vitlens.push(v);
  results.pytorch.push(p);
  info = { backend: v.backend, threads: v.threads, torch: p.engine };
  const steps = o.train ? `; train step vitlens ${v.train_step_s.toFixed(3)} s, pytorch ${p.train_step_s.toFixed(3)} s` : "";
  process.stderr.write(`round ${r + 1}: forward vitlens ${v.forward_s.toFixed(3)} s, pytorch ${p.forward_s.toFixed(3)} s${steps}\n`);
}

const summary = (rs) => ({
  forward_s: median(rs.map((x) => x.forward_s)),
  train_step_s: o.train ? median(rs.map((x) => x.train_step_s)) : null,
  peak_rss_mb: Math.max(...rs.map((x) => x.peak_rss_mb)),
});
const v = summary(results.vitlens);
const p = summary(results.pytorch);
const imgs = Number(o.batch);
console.log(`${o.preset} forward, batch ${o.batch}, fp32, ${o.threads} threads (vitlens ${info.backend} backend; ${info.torch})`);
console.log(`engine     forward_s  images/s${o.train ? "  train_step_s" : ""}  peak RSS`);
for (const [name, s] of [["vitlens", v], ["pytorch", p]]) {
  const step = o.train ? `  ${s.train_step_s.toFixed(3).padStart(12)}` : "";
  console.log(`${name.padEnd(9)}  ${s.forward_s.toFixed(3).padStart(9)}  ${(imgs / s.forward_s).toFixed(2).padStart(8)}${step}  ${String(s.peak_rss_mb).padStart(5)} MB`);
}
console.log(`ratio (pytorch / vitlens forward time): ${(p.forward_s / v.forward_s).toFixed(2)}x`);
if (o.train) {
  console.log(`ratio (pytorch / vitlens train step): ${(p.train_step_s / v.train_step_s).toFixed(2)}x`);
  console.log(`peak RSS ratio (vitlens / pytorch): ${(v.peak_rss_mb / p.peak_rss_mb).toFixed(2)}`);
}
