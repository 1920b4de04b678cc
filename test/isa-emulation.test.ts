// ONEDNN_MAX_CPU_ISA emulates an older CPU for the whole native engine: oneDNN, vitlens' own
// few-rows kernel and the FMA-peak loop all follow it. So the kernel builds an AVX2 or AVX-512 host
// never picks (the few-rows kernel's baseline x86-64 build, oneDNN's SSE4.1 kernels) are tested on
// every host, against the js reference and PyTorch's fixtures.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { tryNativeBackend } from "../src/backend/index.js";
import { root } from "./helpers.js";

const native = tryNativeBackend();

/** `node args...` under ONEDNN_MAX_CPU_ISA=isa, outside this test runner's context, bounded in time. */
function atIsa(isa: string, args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, ONEDNN_MAX_CPU_ISA: isa, VITLENS_THREADS: "1" }; // one thread: the outer suite runs beside it
  delete env.NODE_TEST_CONTEXT; // a nested `node --test` would otherwise report to this runner
  delete env.ONEDNN_VERBOSE; // its lines would mix into the JSON read back
  return spawnSync(process.execPath, args, { cwd: root, env, encoding: "utf8", timeout: 600_000, maxBuffer: 64 << 20 });
}

/** `node --test` over some suites, TAP whatever the Node version's default reporter. */
const suitesAtIsa = (isa: string, names: string[]) =>
  atIsa(isa, ["--test", "--test-reporter=tap", ...names.map((n) => join(root, "dist", "test", `${n}.test.js`))]);
const failures = (r: { stdout: string; stderr: string; error?: Error }) =>
  [r.error?.message ?? "", ...r.stdout.split("\n").filter((l) => /not ok|error/.test(l)).slice(0, 20), r.stderr.slice(-2000)].join("\n");

const nativeModule = pathToFileURL(join(root, "dist", "src", "backend", "native.js")).href;
const report = `import(${JSON.stringify(nativeModule)}).then((m) => console.log(JSON.stringify(m.loadNativeBackend().cpuInfo())))`;

describe("an older ISA emulated with ONEDNN_MAX_CPU_ISA", { skip: native ? false : "native addon not built" }, () => {
  it("SSE4.1: oneDNN dispatches it and the few-rows kernel runs its baseline build", () => {
    const r = atIsa("SSE41", ["-e", report]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { isa: "sse41", nativeBf16: false, fewRows: "baseline" });
  });

  it("SSE4.1: every native kernel matches the js reference, and whole models PyTorch (the backend and parity suites at that ISA)", () => {
    const r = suitesAtIsa("SSE41", ["backend", "parity", "families-parity", "caption-parity", "train-parity"]);
    assert.equal(r.status, 0, failures(r));
    const passed = Number(/^# pass (\d+)$/m.exec(r.stdout)?.[1] ?? 0);
    assert.ok(passed >= 140, `only ${passed} tests passed at SSE4.1`);
    assert.match(r.stdout, /^# fail 0$/m);
  });

  const hostIsa = native?.cpuInfo().isa ?? "";
  it("AVX2 on an AVX-512 host: oneDNN, the few-rows kernel and the suites step down to what an AVX2 machine runs", { skip: hostIsa.startsWith("avx512") ? false : `this host dispatches ${hostIsa || "no oneDNN"}: nothing above AVX2 to step down from` }, () => {
    const info = atIsa("AVX2", ["-e", report]);
    assert.equal(info.status, 0, info.stderr);
    assert.deepEqual(JSON.parse(info.stdout), { isa: "avx2", nativeBf16: false, fewRows: "avx2" });
    const r = suitesAtIsa("AVX2", ["backend", "parity"]);
    assert.equal(r.status, 0, failures(r));
    assert.match(r.stdout, /^# fail 0$/m);
  });

  it("bench reports the emulated ISA beside a peak measured at it", () => {
    const r = atIsa("SSE41", [join(root, "bin", "vitlens.js"), "bench", "--model", join(root, "test", "fixtures", "hf-tiny"), "--batch", "1", "--iters", "1", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { isa: string; peak_gflops: number };
    assert.equal(j.isa, "sse41");
    assert.ok(j.peak_gflops > 0, `peak ${j.peak_gflops}`);
  });
});
