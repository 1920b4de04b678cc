import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { nativeAddonPath } from "../src/backend/native.js";
import { root } from "./helpers.js";

// oneDNN 2.x's sgemm kernels point rsp into a heap buffer while they run (K > 252 on AVX2): a
// signal handled on the thread's own stack meanwhile wrote its frame into the heap, and glibc
// aborted later ("corrupted size vs. prev_size", "free(): invalid size"). V8's tick profiler
// hit it almost every run. The addon keeps handlers off that stack (native/signal-guard.h).
const native = nativeAddonPath() !== null;

describe("native products survive signals (oneDNN sgemm moves rsp onto the heap)", { skip: native ? false : "native addon not built" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vitlens-signals-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, "products.mjs");
  // A ViT layer's linear products (197 tokens, K = 768 and 3072) and attention's batched ones.
  writeFileSync(script, `
    import { loadNativeBackend } from ${JSON.stringify(pathToFileURL(join(root, "dist", "src", "backend", "native.js")).href)};
    const be = loadNativeBackend();
    let signals = 0;
    process.on("SIGUSR2", () => signals++);
    console.log("ready");
    const fill = (n, v) => new Float32Array(n).fill(v);
    const a = fill(197 * 3072, 0.01), w = fill(3072 * 768, 0.02), c = fill(197 * 3072, 0), bias = fill(3072, 0.1);
    const deadline = Date.now() + Number(process.argv[2]);
    let calls = 0;
    while (Date.now() < deadline) {
      be.matmul(a, w, c, { m: 197, n: 768, k: 768, transB: true, bias });
      be.matmul(a, w, c, { m: 197, n: 768, k: 3072, transB: true, bias, accumulate: true });
      be.batchMatmul(a, w, c, { batch: 12, m: 197, n: 197, k: 64, transB: true, alpha: 0.125 });
      calls += 3;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));  // the loop turns: the JS handler runs
    console.log(JSON.stringify({ ok: true, calls, signals }));
    setTimeout(() => {}, 300);  // the parent stops signalling on that line: let the last ones land
  `);

  function run(nodeArgs: string[], signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, script, "2500"], { env: { ...process.env, OMP_NUM_THREADS: "2" } });
      let stdout = "", stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on("data", () => {
        // Signals from when the child's handler is installed (SIGUSR2's default action ends it).
        if (signal && !timer && stdout.includes("ready")) timer = setInterval(() => child.exitCode === null && child.kill(signal), 1);
        if (stdout.includes('"ok":true')) clearInterval(timer);
      });
      child.on("error", reject);
      child.on("close", (code, killedBy) => {
        clearInterval(timer);
        resolve({ code, stdout, stderr: stderr + (killedBy ? ` (killed by ${killedBy})` : "") });
      });
    });
  }

  it("under V8's sampling profiler (SIGPROF every 100 us on the main thread)", async () => {
    const r = await run(["--cpu-prof", "--cpu-prof-dir", join(dir, "profile"), "--cpu-prof-interval", "100"]);
    assert.equal(r.code, 0, `the child died: ${r.stderr.slice(-500)}`);
    assert.match(r.stdout, /"ok":true/);
  });

  it("with a process-wide signal handled while the products run (libuv's handler, no SA_ONSTACK)", async () => {
    const r = await run([], "SIGUSR2");
    assert.equal(r.code, 0, `the child died: ${r.stderr.slice(-500)}`);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as { ok?: boolean; signals?: number };
    assert.ok(out.ok);
    assert.ok((out.signals ?? 0) > 0, "no signal was handled");
  });
});
