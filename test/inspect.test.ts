// `vitlens inspect`: the module tree as each library's print(model) shows it, checked against
// what PyTorch itself prints (fixtures from scripts/reference/lukemelas_print.py).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fixture, root } from "./helpers.js";

function inspect(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), "inspect", ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The printed tree: from the first line to the root's closing ")"; the parameter table follows. */
const treeOf = (out: string) => out.slice(0, out.indexOf("\n)\n") + 3);
const printed = (name: string) => readFileSync(fixture(name), "utf8");

describe("inspect --layout lukemelas", () => {
  const b16 = fixture("lukemelas-b16-36.pth"); // ViT('B_16') with a 36-class fc, zeros, written by torch

  it("prints a 36-class B_16 line for line as PyTorch 1.13 prints PyTorch-Pretrained-ViT's model", () => {
    const out = inspect("--model", b16, "--layout", "lukemelas", "--expand");
    const expected = printed("lukemelas-b16-36.print.txt");
    assert.equal(expected.split("\n").length, 203); // 12 blocks of 16 lines, and the rest
    assert.deepEqual(treeOf(out).split("\n"), expected.split("\n"));
    assert.match(out, /\n {2}total\s+85,826,340\n/); // sum of numel over the state dict, as torch counts it
  });

  it("is the default layout for PyTorch-Pretrained-ViT checkpoints", () => {
    assert.equal(treeOf(inspect("--model", b16, "--expand")), printed("lukemelas-b16-36.print.txt"));
    const tiny = inspect("--model", fixture("timm-tiny.lukemelas.pth"), "--heads", "3", "--expand"); // 24 wide: heads not recorded
    assert.equal(treeOf(tiny), printed("timm-tiny.lukemelas.print.txt"));
    assert.match(tiny, /\n {2}total\s+16,659\n/);
  });

  it("folds the repeated blocks by default, as PyTorch 2 prints a ModuleList", () => {
    const tree = treeOf(inspect("--model", b16));
    assert.match(tree, /\n {4}\(blocks\): ModuleList\(\n {6}\(0-11\): 12 x Block\(\n {8}\(attn\): MultiHeadedSelfAttention\(/);
    assert.doesNotMatch(tree, /\(1\): Block/);
    assert.equal(tree.split("\n").length, 203 - 11 * 16);
  });
});

describe("inspect --expand for every layout", () => {
  for (const [model, layout, block] of [["hf-tiny", "hf", "ViTLayer"], ["timm-tiny", "timm", "Block"], ["hf-tiny", "lukemelas", "Block"]]) {
    it(`${layout} (${model}): one (i) per block instead of "(0-1): 2 x ${block}"`, () => {
      const folded = treeOf(inspect("--model", fixture(model), "--layout", layout)).split("\n");
      const expanded = treeOf(inspect("--model", fixture(model), "--layout", layout, "--expand")).split("\n");
      const start = folded.findIndex((l) => l.endsWith(`(0-1): 2 x ${block}(`));
      assert.ok(start > 0, folded.join("\n"));
      const indent = folded[start].slice(0, folded[start].indexOf("("));
      const end = folded.indexOf(`${indent})`, start); // the block's closing line
      const body = folded.slice(start + 1, end + 1);
      assert.deepEqual(expanded, [
        ...folded.slice(0, start), `${indent}(0): ${block}(`, ...body, `${indent}(1): ${block}(`, ...body, ...folded.slice(end + 1),
      ]);
    });
  }
});

describe("inspect --layout errors", () => {
  it("names the flag and the choices in one line", () => {
    const r = spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), "inspect", "--model", fixture("timm-tiny"), "--layout", "keras"], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr, "vitlens: error: --layout keras: expected hf, timm, lukemelas, vit-pytorch, torch-encoder\n");
  });
});
