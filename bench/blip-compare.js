#!/usr/bin/env node
// BLIP captioning speed in one run: vitlens (`bench --captioner blip-base`: the image encoded once,
// a key/value cache, the beams sharing the image's keys and values) beside transformers' own
// BlipForConditionalGeneration.generate (bench/blip_reference.py), both at
// Salesforce/blip-image-captioning-base's shapes with random weights, one 384x384 image, exactly
// --tokens new tokens, greedy and beam 3, alternating the engines. Run it under the bench lock:
//
//   flock /tmp/vitlens-bench.lock node bench/blip-compare.js [--tokens 20] [--threads 2] [--iters 3] [--rounds 2] [--python /tmp/venv/bin/python]
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: o } = parseArgs({
  options: {
    tokens: { type: "string", default: "20" },
    threads: { type: "string", default: "2" },
    iters: { type: "string", default: "3" },
    rounds: { type: "string", default: "2" },
    python: { type: "string", default: "/tmp/venv/bin/python" },
  },
});

const run = (cmd, args, env = {}) =>
  JSON.parse(execFileSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 1 << 24 }).trim().split("\n").pop());
const vitlens = (beam) => run(process.execPath, [join(root, "bin", "vitlens.js"), "--quiet", "bench", "--captioner", "blip-base", "--beam", String(beam), "--tokens", o.tokens, "--iters", o.iters, "--json"], { VITLENS_THREADS: o.threads });
const reference = (beam) => run(o.python, [join(root, "bench", "blip_reference.py"), "--beam", String(beam), "--tokens", o.tokens, "--threads", o.threads, "--iters", o.iters]);

console.log(`BLIP base shapes (ViT-B/16 at 384 + BERT-base decoder), random weights, one image, ${o.tokens} tokens, ${o.threads} threads, ${cpus()[0].model}`);
console.log("round  search  vitlens s/caption (encoder)  transformers s/caption (encoder)  ratio");
let engine = "";
for (let r = 1; r <= Number(o.rounds); r++) {
  for (const beam of [1, 3]) {
    const v = vitlens(beam);
    const t = reference(beam);
    engine = t.engine;
    console.log(`${String(r).padStart(5)}  ${(beam === 1 ? "greedy" : `beam ${beam}`).padEnd(6)}  ${v.caption_s.toFixed(3).padStart(17)} (${v.encoder_s.toFixed(3)})  ${t.caption_s.toFixed(3).padStart(22)} (${t.encoder_s.toFixed(3)})  ${(t.caption_s / v.caption_s).toFixed(2).padStart(5)}x`);
  }
}
console.log(`transformers: ${engine}`);
