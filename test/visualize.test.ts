// posemb and attention commands: outputs a user opens, raw tensors, and bad input.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { fixture, root } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-viz-"));
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8" });
const image = fixture("hf-tiny-0.png");

describe("vitlens posemb / attention", () => {
  it("posemb writes the Figure 7 PNG and the (P, P) similarity matrix", async () => {
    const out = join(dir, "pos.png");
    const r = cli("posemb", "--model", fixture("hf-tiny"), "--out", out, "--raw", join(dir, "sim.safetensors"));
    assert.equal(r.status, 0, r.stderr);
    const meta = await sharp(out).metadata();
    assert.equal(meta.format, "png");
    assert.ok(meta.width! > 200 && meta.height! > 200);
    assert.deepEqual(readSafetensors(join(dir, "sim.safetensors")).tensors.get("similarity")!.shape, [16, 16]);
    const again = cli("posemb", "--model", fixture("hf-tiny"), "--out", out);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /exists \(use --force to overwrite\)/);
  });

  it("attention: every layer as a grid, raw maps and each layer's (heads, N, N) attention", async () => {
    const out = join(dir, "att");
    const r = cli("attention", "--model", fixture("hf-tiny"), "--out", out, "--layer", "all", "--raw", image);
    assert.equal(r.status, 0, r.stderr);
    const raw = readSafetensors(join(out, "hf-tiny-0.cls.safetensors")).tensors;
    assert.deepEqual(raw.get("map.0")!.shape, [4, 4]);
    assert.deepEqual(raw.get("map.1")!.shape, [4, 4]);
    assert.deepEqual(raw.get("layer.1")!.shape, [4, 17, 17]);
    const meta = await sharp(join(out, "hf-tiny-0.cls.png")).metadata();
    assert.ok(meta.width! >= 3 * 160, "input plus two layer tiles side by side");
    for (const method of ["rollout", "attribution"]) {
      const m = cli("attention", "--model", fixture("hf-tiny"), "--out", out, "--method", method, image);
      assert.equal(m.status, 0, m.stderr);
    }
  });

  const bad: Array<[string, string[], RegExp]> = [
    ["a layer out of range", ["--layer", "2"], /--layer 2 is out of range: the model has 2 layers \(0\.\.1\)/],
    ["a head out of range", ["--head", "9"], /--head 9 is out of range: the model has 4 heads/],
    ["an unknown method", ["--method", "gradcam"], /--method gradcam: expected cls, rollout, attribution, norm/],
    ["a class out of range", ["--method", "attribution", "--class", "7"], /--class 7 is out of range: the model has 5 classes/],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what}`, () => {
      const r = cli("attention", "--model", fixture("hf-tiny"), "--out", join(dir, "bad"), ...args, image);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, message);
    });
  }

  it("refuses attribution without a head, and an output folder that is a file", () => {
    const r = cli("attention", "--model", fixture("hf-tiny-vitmodel"), "--out", join(dir, "x"), "--method", "attribution", image);
    assert.match(r.stderr, /has no classification head to attribute/);
    const file = join(dir, "afile");
    writeFileSync(file, "");
    const f = cli("attention", "--model", fixture("hf-tiny"), "--out", file, image);
    assert.match(f.stderr, /--out .*afile: exists and is a file/);
  });
});
