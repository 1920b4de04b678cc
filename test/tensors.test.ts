// `vitlens tensors FILE`: every tensor's name, dtype, shape and min/max/mean, read one tensor at a
// time, on files torch and numpy wrote; the expected listings are torch's and numpy's own
// (scripts/reference/tensors.py -> test/fixtures/tensors.expected.json).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { listCheckpoint, type ListedEntry } from "../src/checkpoint/list-tensors.js";
import { fixture, root } from "./helpers.js";

type Row = { name: string; dtype?: string; shape?: number[]; min?: number | null; max?: number | null; mean?: number | null; type?: string; value?: unknown };
const EXPECTED: Record<string, Row[]> = JSON.parse(readFileSync(fixture("tensors.expected.json"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "vitlens-tensors-"));

function vitlens(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertClose(actual: number | null | undefined, want: number | null | undefined, what: string): void {
  if (want === null || want === undefined) return assert.equal(actual ?? null, null, what);
  assert.ok(typeof actual === "number" && Math.abs(actual - want) <= 1e-6 * Math.abs(want) + 1e-30, `${what}: ${actual} vs numpy's ${want}`);
}

function asRow(e: ListedEntry): Row {
  if (e.kind === "value") return { name: e.name, type: e.type, value: e.value };
  const t = e.read(true);
  return { name: e.name, dtype: t.dtype, shape: t.shape, min: t.stats?.min ?? null, max: t.stats?.max ?? null, mean: t.stats?.mean ?? null };
}

function assertListing(rows: Row[], want: Row[], file: string): void {
  assert.deepEqual(rows.map((r) => r.name), want.map((r) => r.name), `${file}: names`);
  rows.forEach((r, i) => {
    const w = want[i];
    if (w.type) return assert.deepEqual({ type: r.type, value: r.value }, { type: w.type, value: w.value }, `${file}: ${w.name}`);
    assert.equal(r.dtype, w.dtype, `${file}: ${w.name} dtype`);
    assert.deepEqual(r.shape, w.shape, `${file}: ${w.name} shape`);
    for (const k of ["min", "max", "mean"] as const) assertClose(r[k], w[k], `${file}: ${w.name} ${k}`);
  });
}

describe("vitlens tensors", () => {
  for (const file of Object.keys(EXPECTED)) {
    it(`${file}: names, dtypes, shapes and stats equal torch's / numpy's`, () => {
      assertListing(listCheckpoint(fixture(file)).map(asRow), EXPECTED[file], file);
    });
  }

  it("flattens nested .pth dicts with dots and lists non-tensor entries (optimizer state, epoch) as values", () => {
    const rows = listCheckpoint(fixture("train-checkpoint.pth")).map(asRow);
    const byName = new Map(rows.map((r) => [r.name, r]));
    assert.equal(byName.get("model.1.num_batches_tracked")!.dtype, "I64");
    assert.equal(byName.get("model.2.weight_bf16")!.dtype, "BF16");
    assert.deepEqual(byName.get("optimizer.state.0.momentum_buffer")!.shape, [3, 4]);
    assert.deepEqual(byName.get("optimizer.param_groups.0.lr"), { name: "optimizer.param_groups.0.lr", type: "float", value: 0.01 });
    assert.deepEqual(byName.get("optimizer.param_groups.0.params"), { name: "optimizer.param_groups.0.params", type: "list", value: [0, 1, 2, 3, 4, 5] });
    assert.deepEqual(byName.get("epoch"), { name: "epoch", type: "int", value: 3 });
    assert.deepEqual(byName.get("betas"), { name: "betas", type: "tuple", value: [0.9, 0.999] });
    assert.deepEqual(byName.get("note"), { name: "note", type: "None", value: null });
  });

  it("prints one aligned line per entry; non-tensor entries as name, type, value", () => {
    const r = vitlens("tensors", fixture("train-checkpoint.pth"), "--heads", "3");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, EXPECTED["train-checkpoint.pth"].length);
    assert.match(r.stdout, /^model\.0\.weight {27}F32 {4}\[3, 4\] {10}min -0\.450051 {4}max 0\.480903 {5}mean 0\.089548\n/);
    assert.match(r.stdout, /\nmodel\.1\.num_batches_tracked +I64 +\[\] +min 1 +max 1 +mean 1\n/);
    assert.match(r.stdout, /\nepoch +int +3\n/);
    assert.match(r.stdout, /\nbest_acc +float +0\.8125\n/);
    assert.match(r.stdout, /\nbetas +tuple +\(0\.9, 0\.999\)\n/);
    assert.match(r.stdout, /\narch +str +"vit_tiny"\n/);
    assert.match(r.stdout, /\noptimizer\.param_groups\.0\.foreach +None +None\n/);
  });

  it("--json prints one object per line: {name, dtype, shape, min, max, mean}", () => {
    const r = vitlens("tensors", "--json", fixture("sharded-tiny", "model.safetensors.index.json"));
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    rows.forEach((row) => assert.deepEqual(Object.keys(row), ["name", "dtype", "shape", "min", "max", "mean"]));
    assertListing(rows, EXPECTED["sharded-tiny/model.safetensors.index.json"], "sharded --json");
    assert.equal(rows[1].dtype, "F16");
  });

  it("--no-stats lists names, dtypes and shapes only", () => {
    const r = vitlens("tensors", "--no-stats", "--json", fixture("npy-layouts.compressed.npz"));
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(rows, EXPECTED["npy-layouts.compressed.npz"].map(({ name, dtype, shape }) => ({ name, dtype, shape })));
    const text = vitlens("tensors", "--no-stats", fixture("timm-tiny.google-layouts.npz"));
    assert.match(text.stdout, /^embedding\/kernel +F32 +\[4, 4, 3, 24\]\n/m);
    assert.doesNotMatch(text.stdout, /min|mean/);
  });

  it("stops quietly when its output is piped into head", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${join(root, "bin", "vitlens.js")}" tensors "${fixture("train-checkpoint.pth")}" | head -1`], { encoding: "utf8" });
    assert.match(r.stdout, /^model\.0\.weight +F32/);
    assert.equal(r.stdout.split("\n").length, 2);
    assert.equal(r.stderr, "");
  });

  it("lists a model directory's weights; an empty tensor has no statistics", () => {
    assert.deepEqual(listCheckpoint(fixture("timm-tiny")).map((e) => e.name), EXPECTED["timm-tiny/model.safetensors"].map((r) => r.name));
    const r = vitlens("tensors", fixture("npy-layouts.npz"));
    assert.match(r.stdout, /\nempty +F32 +\[0, 3\] +\(empty\)\n/);
  });

  it("is what loading a checkpoint of another kind suggests", () => {
    const r = vitlens("inspect", "--model", fixture("train-checkpoint.pth"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /train-checkpoint\.pth: not a ViT checkpoint .*; see what it holds with: vitlens tensors .*train-checkpoint\.pth, and map its names with --keymap FILE\)\n$/);
  });

  const bad: Array<[string, () => string, RegExp]> = [
    ["a missing file", () => join(dir, "nope.pth"), /nope\.pth: no such file or directory/],
    ["an unknown extension", () => fixture("hf-tiny", "config.json"), /config\.json: not a checkpoint file vitlens reads \(expected \.safetensors/],
    ["a .pth that is not a zip", () => (writeFileSync(join(dir, "junk.pth"), "junk"), join(dir, "junk.pth")), /junk\.pth: not a readable torch\.save zip file/],
    ["a truncated safetensors", () => (writeFileSync(join(dir, "t.safetensors"), readFileSync(fixture("timm-tiny", "model.safetensors")).subarray(0, 100)), join(dir, "t.safetensors")), /t\.safetensors: not a valid safetensors file/],
    ["a pickle that calls os.system", () => fixture("evil.pth"), /evil\.pth: refused to load: the pickle references (posix|os)\.system/],
    ["damaged deflate data in an np.savez_compressed member (found by fuzz/parsers.js)", () => {
      const b = Buffer.from(readFileSync(fixture("npy-layouts.compressed.npz")));
      const data = 30 + b.readUInt16LE(26) + b.readUInt16LE(28); // the first member's deflate stream
      b.fill(0xff, data, data + 8);
      writeFileSync(join(dir, "deflate.npz"), b);
      return join(dir, "deflate.npz");
    }, /deflate\.npz: entry c1\.npy is not valid deflate data/],
    ["an index naming a missing shard", () => (writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { a: "gone.safetensors" } })), join(dir, "model.safetensors.index.json")), /shard gone\.safetensors is missing/],
  ];
  for (const [what, file, message] of bad) {
    it(`fails on ${what} with one line naming the file`, () => {
      const r = vitlens("tensors", file());
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^vitlens: error: /);
    });
  }
});
