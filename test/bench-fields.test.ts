// bench --json's machine and training fields (precision, train_gflops, peak_gflops, cpu, isa), and
// the profile rows' share of the measured peak.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tryNativeBackend } from "../src/backend/index.js";
import { steadyPeak } from "../src/cli/bench.js";
import { fixture, root } from "./helpers.js";

const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } });
const native = tryNativeBackend() !== null && process.env.VITLENS_BACKEND !== "js";

describe("bench --json fields", () => {
  it("train_gflops, precision, cpu; peak_gflops and isa from the native engine", () => {
    const r = vitlens("bench", "--model", fixture("hf-tiny"), "--batch", "2", "--iters", "1", "--train", "--precision", "bf16-emulated", "--json");
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    assert.equal(o.precision, "bf16-emulated");
    assert.ok(Math.abs(o.train_gflops - (3 * o.gflop_per_image * 2) / o.train_step_s) < 1e-9 * o.train_gflops, "3x the forward's FLOPs per step");
    assert.ok(typeof o.cpu === "string" && o.cpu.length > 0);
    if (native) {
      assert.ok(o.peak_gflops > 1, `peak ${o.peak_gflops}`);
      assert.match(o.isa, /^(sse41|avx|avx2|avx2_vnni|avx512_\w+)$/);
    } else assert.equal(o.peak_gflops, null);
  });
  it("--profile --json: each product's share of the measured peak, with the precision it ran in", { skip: native ? false : "the FMA peak is measured by the native addon" }, () => {
    const r = vitlens("bench", "--model", fixture("hf-tiny"), "--batch", "2", "--profile", "--json");
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const product = rows.find((x) => x.op === "matmul");
    assert.ok(product.of_peak > 0 && Math.abs(product.of_peak - product.gflops / product.peak_gflops) < 1e-12);
    assert.ok(rows.every((x) => x.precision === "fp32"));
    assert.equal(rows.find((x) => x.op === "layernormForward").of_peak, null);
  });
  it("--profile: a closing line counts the product shapes under 80% of the peak, names them and their share", { skip: native ? false : "the FMA peak is measured by the native addon" }, () => {
    const r = vitlens("bench", "--model", fixture("hf-tiny"), "--batch", "2", "--profile");
    assert.equal(r.status, 0, r.stderr);
    const rowsOfTable = r.stdout.split("\n").filter((l) => /^ {2}(matmul|batchMatmul) /.test(l));
    const under = rowsOfTable.filter((l) => Number(/ (\d+)% +[\d.]* +[\d.]+%$/.exec(l)![1]) < 80);
    const line = /under 80% of the peak: (\d+) of (\d+) product shapes, [\d.]+% of the time/.exec(r.stdout);
    assert.ok(line, r.stdout);
    assert.deepEqual([Number(line[1]), Number(line[2])], [under.length, rowsOfTable.length]);
    // A decoding search is bound by memory (GB/s), not the FMA peak: its table has no such line.
    const cap = vitlens("bench", "--captioner", fixture("vit-gpt2-tiny"), "--beam", "2", "--tokens", "3", "--profile");
    assert.equal(cap.status, 0, cap.stderr);
    const [encoder, search] = cap.stdout.split(/^search: /m);
    assert.match(encoder, /^ {2}under 80% of the peak: /m);
    assert.doesNotMatch(search, /under 80% of the peak/);
  });
  it("the FMA peak is the best of five readings: low first readings (a waking core, a busy host) do not stand", () => {
    const reader = (values: number[]) => {
      let i = 0;
      return { read: () => values[i++], count: () => i };
    };
    const slowStart = reader([107, 110, 190, 199, 197, 240]); // as seen on a 2-core EPYC
    assert.equal(steadyPeak(slowStart.read), 199);
    assert.equal(slowStart.count(), 5);
    assert.equal(steadyPeak(reader([200, 120, 198, 90, 199]).read), 200, "a dip between good readings does not lower it");
  });
  it("--captioner --profile --json: an encoder and a search phase, each product's bytes per second", () => {
    const r = vitlens("bench", "--captioner", fixture("vit-gpt2-tiny"), "--beam", "2", "--tokens", "3", "--profile", "--json");
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual([...new Set(rows.map((x) => x.phase))], ["encoder", "search"]);
    // The search runs one row per beam through the language-model head: (2 x D) @ (D x V).
    const head = rows.find((x) => x.phase === "search" && x.op === "matmul" && /^2x\d+ @ \d+x\d+ B\^T$/.test(x.shape));
    assert.ok(head, rows.map((x) => x.shape).join("; "));
    const [, D, V] = head.shape.match(/^2x(\d+) @ \d+x(\d+)/).map(Number);
    const bytes = 4 * (2 * D + D * V + 2 * V);
    assert.ok(Math.abs(head.gb_per_s - (bytes * head.calls) / (head.ms_per_call * head.calls / 1000) / 1e9) < 1e-6 * head.gb_per_s);
    assert.equal(head.calls, 3, "one per generated token");
    assert.equal(rows.find((x) => x.op === "layernormForward").gb_per_s, null);
  });
});
