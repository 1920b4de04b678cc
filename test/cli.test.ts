// The vitlens command as a user runs it: output formats, exit codes, one-line errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fixture, root } from "./helpers.js";

function vitlens(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("vitlens CLI", () => {
  it("predict --json prints one object per image with logits and softmax top-k", () => {
    const images = [fixture("hf-tiny-0.png"), fixture("hf-tiny-1.png")];
    const r = vitlens("predict", "--model", fixture("hf-tiny"), "--json", "--top-k", "2", ...images);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    lines.forEach((obj, i) => {
      assert.deepEqual(Object.keys(obj), ["image", "logits", "top"]);
      assert.equal(obj.image, images[i]);
      assert.equal(obj.logits.length, 5);
      assert.equal(obj.top.length, 2);
      assert.deepEqual(Object.keys(obj.top[0]), ["index", "label", "score"]);
      const best = obj.logits.indexOf(Math.max(...obj.logits));
      assert.equal(obj.top[0].index, best);
      assert.equal(obj.top[0].label, ["cat", "coffee", "rocket", "astronaut", "other"][best]);
      const z = obj.logits.reduce((s: number, x: number) => s + Math.exp(x), 0);
      assert.ok(Math.abs(obj.top[0].score - Math.exp(obj.logits[best]) / z) < 1e-9);
    });
  });

  it("inspect prints PyTorch's module tree and parameter counts that add up", () => {
    const r = vitlens("inspect", "--model", fixture("timm-tiny"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^VisionTransformer\(\n {2}\(patch_embed\): PatchEmbed\(\n {4}\(proj\): Conv2d\(3, 24, kernel_size=\(4, 4\), stride=\(4, 4\)\)/);
    assert.match(r.stdout, /\(0-1\): 2 x Block\(/);
    assert.match(r.stdout, /\(qkv\): Linear\(in_features=24, out_features=72, bias=True\)/);
    assert.match(r.stdout, /LayerNorm\(\(24,\), eps=1e-06, elementwise_affine=True\)/);
    // patch 24*48+24 = 1,176; cls + pos 24 + 37*24 = 912; per block: norms 2*48, qkv 24*72+72,
    // proj 24*24+24, fc1 24*96+96, fc2 96*24+24 = 7,224; final norm 48; head 24*3+3 = 75
    assert.match(r.stdout, /cls_token, pos_embed \(Parameter\)\s+912/);
    assert.match(r.stdout, /blocks\.0-1 \(2 x Block, each\)\s+7,224/);
    assert.match(r.stdout, /total\s+16,659/);
    const hf = vitlens("inspect", "--model", fixture("hf-tiny"));
    assert.match(hf.stdout, /^ViTForImageClassification\(/);
    assert.match(hf.stdout, /\(layernorm_before\): LayerNorm\(\(32,\), eps=1e-12, elementwise_affine=True\)/);
  });

  const failures: Array<[string, string[], RegExp]> = [
    ["a missing image", ["predict", "--model", fixture("hf-tiny"), "nope.png"], /^vitlens: skipped nope\.png: not a readable image \(no such file\)\nvitlens: error: the image could not be read\n$/],
    ["a file that is not an image", ["predict", "--model", fixture("hf-tiny"), fixture("hf-tiny", "config.json")], /config\.json: not a readable image/],
    ["an unknown preset", ["inspect", "--model", "vit-x1"], /^vitlens: error: --model vit-x1: no such file or directory, and not a preset/],
    ["a corrupt safetensors file", ["inspect", "--model", fixture("hf-tiny", "config.json")], /unsupported weights file \(expected \.safetensors/],
    ["a bad flag value", ["predict", "--model", fixture("hf-tiny"), "--top-k", "zero", "x.png"], /--top-k.*expected a positive integer/],
    ["a missing required flag", ["inspect"], /required option '--model/],
  ];
  for (const [what, args, message] of failures) {
    it(`fails on ${what}: non-zero exit, one clear line, no stack trace`, () => {
      const r = vitlens(...args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    });
  }

  it("bench --json reports forward time, throughput and GFLOPS", () => {
    const r = vitlens("bench", "--model", fixture("hf-tiny"), "--batch", "2", "--iters", "2", "--json");
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    for (const key of ["forward_s", "images_per_s", "gflops"]) assert.ok(typeof o[key] === "number" && o[key] > 0, key);
    assert.ok(Math.abs(o.images_per_s - 2 / o.forward_s) < 1e-9);
  });

  it("bench --profile --json: every backend call of a forward and a training step by operation and shape, shares adding up to 1", () => {
    const r = vitlens("bench", "--model", fixture("hf-tiny"), "--batch", "2", "--train", "--profile", "--json");
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    for (const phase of ["forward", "train step"]) {
      const mine = rows.filter((x) => x.phase === phase);
      assert.ok(Math.abs(mine.reduce((a, x) => a + x.share, 0) - 1) < 1e-9, `${phase} shares sum to 1`);
      assert.ok(mine.some((x) => x.op === "(between backend calls)"));
      // hf-tiny: 2 layers, width 32 (qkv 96), batch 2 x 17 tokens: the fused qkv product, once per layer.
      const qkv = mine.find((x) => x.op === "matmul" && x.shape.startsWith("34x32 @ 32x96"));
      assert.ok(qkv && qkv.calls === 2 && qkv.gflops > 0, JSON.stringify(qkv));
    }
    assert.ok(rows.some((x) => x.phase === "train step" && x.op === "sgdStep"));
  });
});
