#!/usr/bin/env node
// CATR captioning speed in one run: vitlens (`bench --captioner catr`, greedy and beam 3: the image
// encoded once, a key/value cache) beside CATR's own predict.py loop in PyTorch (bench/catr_reference.py:
// the whole model rerun for every token), random weights at CATR's real shapes, a 299 x 224 image,
// exactly 16 generated tokens with [SEP] ignored. Run it under the bench lock:
//
//   flock /tmp/vitlens-bench.lock node bench/catr-compare.js [--tokens 16] [--threads 2] [--iters 3]
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: o } = parseArgs({
  options: {
    tokens: { type: "string", default: "16" },
    threads: { type: "string", default: "2" },
    iters: { type: "string", default: "3" },
    python: { type: "string", default: "/usr/bin/python3" },
  },
});

const run = (cmd, args, env = {}) =>
  JSON.parse(execFileSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: "utf8" }).trim().split("\n").pop());
const vitlens = (beam) => run(process.execPath, [join(root, "bin", "vitlens.js"), "bench", "--captioner", "catr", "--beam", String(beam), "--tokens", o.tokens, "--iters", o.iters, "--json"], { VITLENS_THREADS: o.threads });

const greedy = vitlens(1);
const beam = vitlens(3);
const ref = run(o.python, [join(root, "bench", "catr_reference.py"), "--tokens", o.tokens, "--threads", o.threads]);
console.log(`CATR, random weights at real shapes (ResNet-101 dilated, 6+6 layers, hidden 256), 299x224, ${o.tokens} tokens, ${o.threads} threads, ${cpus()[0].model}`);
console.log("engine                          s/caption  encoder_s  search_s  vs reference");
const row = (name, s, e, d) => console.log(`${name.padEnd(32)}${s.toFixed(3).padStart(9)}  ${e}  ${d}  ${(ref.caption_s / s).toFixed(1).padStart(8)}x`);
row(`vitlens greedy (${greedy.backend})`, greedy.caption_s, greedy.encoder_s.toFixed(3).padStart(9), greedy.search_s.toFixed(3).padStart(8));
row(`vitlens beam 3 (${beam.backend})`, beam.caption_s, beam.encoder_s.toFixed(3).padStart(9), beam.search_s.toFixed(3).padStart(8));
row(`CATR's loop (${ref.engine})`, ref.caption_s, "        -", "       -");
console.log(`reference: ${ref.per_token_s.toFixed(3)} s per token (the whole model per token; its ResNet-101 alone ${ref.backbone_s.toFixed(3)} s)`);
