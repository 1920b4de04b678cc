#!/usr/bin/env node
// Fuzzes the checkpoint parsers (safetensors, torch pickle: zip and legacy, npz) and the `vitlens tensors`
// lister (its own zip reader, every dtype) with mutated real files:
// byte flips, truncations, insertions, overwritten length fields. Any error other than a
// VitlensError, a parse slower than 2 s, or RSS growing past 2 GB counts as a finding.
//   node fuzz/parsers.js [--seconds 60]
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listCheckpoint } from "../dist/src/checkpoint/list-tensors.js";
import { readNpz } from "../dist/src/checkpoint/npz.js";
import { readSafetensors } from "../dist/src/checkpoint/safetensors.js";
import { readTorchFile } from "../dist/src/checkpoint/torch-pickle.js";
import { VitlensError } from "../dist/src/errors.js";
import { Rng } from "../dist/src/random.js";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 60;
const dir = mkdtempSync(join(tmpdir(), "vitlens-fuzz-"));
const fixtures = new URL("../test/fixtures/", import.meta.url).pathname;
const targets = [
  ["safetensors", readSafetensors, "hf-tiny/model.safetensors"],
  ["torch pickle", readTorchFile, "timm-tiny.lukemelas.pth"],
  ["torch legacy", readTorchFile, "catr-legacy.pth"], // pre-1.6 format: pickles, then storages one after another
  ["npz", readNpz, "timm-tiny.google.npz"],
  // `vitlens tensors`: its own zip reader (one entry at a time from disk) and every dtype's reduction
  ["list pth", listAll, "train-checkpoint.pth"],
  ["list pth legacy", listAll, "catr-legacy.pth"],
  ["list npz", listAll, "npy-layouts.npz"],
  ["list npz-deflate", listAll, "npy-layouts.compressed.npz"],
  ["list safetensors", listAll, "hf-tiny/model.safetensors"],
];

function listAll(path) {
  for (const entry of listCheckpoint(path)) if (entry.kind === "tensor") entry.read(true);
}

function mutate(seed, rng) {
  const b = Buffer.from(seed);
  const kind = Math.floor(rng.next() * 5);
  const at = Math.floor(rng.next() * b.length);
  if (kind === 0) { for (let i = 0; i < 1 + rng.next() * 8; i++) b[Math.floor(rng.next() * b.length)] ^= 1 << Math.floor(rng.next() * 8); return b; }
  if (kind === 1) return b.subarray(0, at);
  if (kind === 2) return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(rng.next() * 16) }, () => Math.floor(rng.next() * 256))), b.subarray(at)]);
  if (kind === 3) { b.writeUInt32LE(Math.floor(rng.next() * 0xffffffff), Math.min(at, b.length - 4)); return b; } // a length field
  // head-focused: headers, zip directories and pickle opcodes live at the ends
  const near = rng.next() < 0.5 ? Math.floor(rng.next() * Math.min(256, b.length)) : b.length - 1 - Math.floor(rng.next() * Math.min(256, b.length));
  b[near] = Math.floor(rng.next() * 256);
  return b;
}

let findings = 0;
for (const [name, parse, file] of targets.filter(([n]) => !process.env.ONLY || n === process.env.ONLY)) {
  const seed = readFileSync(join(fixtures, file));
  const rng = new Rng(7);
  const path = join(dir, `case-${name.replace(" ", "-")}${file.slice(file.lastIndexOf("."))}`); // listCheckpoint goes by extension
  const start = process.cpuUsage();
  const counts = { cases: 0, parsed: 0, clean_errors: 0 };
  let peakRss = 0;
  while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1e6 < seconds) {
    const data = mutate(seed, rng);
    writeFileSync(path, data);
    if (process.env.TRACE) writeFileSync(join(dir, "last-case"), data);
    const t0 = Date.now();
    try {
      parse(path);
      counts.parsed++;
    } catch (e) {
      if (e instanceof VitlensError) counts.clean_errors++;
      else {
        findings++;
        const keep = join(dir, `finding-${findings}`);
        writeFileSync(keep, data);
        console.log(`FINDING ${name}: ${e?.constructor?.name}: ${String(e?.message).slice(0, 160)} (input kept at ${keep})`);
      }
    }
    const ms = Date.now() - t0;
    if (ms > 2000) { findings++; console.log(`FINDING ${name}: a parse took ${ms} ms`); }
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (peakRss > 2 * 1024 ** 3) { findings++; console.log(`FINDING ${name}: RSS reached ${(peakRss / 1e6).toFixed(0)} MB`); break; }
    counts.cases++;
  }
  console.log(`${name}: ${counts.cases} mutated files in ${seconds} s CPU: ${counts.parsed} parsed, ${counts.clean_errors} clean errors; peak RSS ${(peakRss / 1e6).toFixed(0)} MB`);
}
console.log(findings ? `${findings} finding(s)` : "no findings: every mutated file parsed or gave a clean error");
process.exitCode = findings ? 1 : 0;
