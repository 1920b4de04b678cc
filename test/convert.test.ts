// vitlens convert: every source to HF and timm layouts, bit-identical round trips, same logits.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { loadModel } from "../src/checkpoint/load.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { expected, fixture, root } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-convert-"));
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8" });

describe("vitlens convert", () => {
  it("HF -> timm -> HF keeps every tensor bit-identical, and the config", () => {
    assert.equal(cli("convert", "--model", fixture("hf-tiny"), "--to", "timm", "--out", join(dir, "t")).status, 0);
    assert.equal(cli("convert", "--model", join(dir, "t"), "--to", "hf", "--out", join(dir, "h")).status, 0);
    const a = readSafetensors(fixture("hf-tiny", "model.safetensors")).tensors;
    const b = readSafetensors(join(dir, "h", "model.safetensors")).tensors;
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [k, t] of a) assert.deepEqual(b.get(k)!.data, t.data, k);
    const back = loadModel(join(dir, "h"));
    assert.deepEqual(back.labels, ["cat", "coffee", "rocket", "astronaut", "other"]);
    assert.equal(back.model.config.numHeads, 4);
    assert.equal(back.model.config.layerNormEps, 1e-12);
  });

  it("Google .npz and lukemelas .pth convert to models that give the source's logits", () => {
    const pixels = expected("timm-tiny.expected.safetensors").get("pixels")!;
    const source = loadModel(fixture("timm-tiny.google.npz")).model.forward(pixels, jsBackend).logits!.data;
    for (const [src, to] of [["timm-tiny.google.npz", "hf"], ["timm-tiny.google.npz", "timm"]] as const) {
      const out = join(dir, `${src}-${to}`);
      const r = cli("convert", "--model", fixture(src), "--to", to, "--out", out);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(loadModel(out).model.forward(pixels, jsBackend).logits!.data, source);
    }
    const r = cli("convert", "--model", fixture("timm-tiny.lukemelas.pth"), "--heads", "3", "--to", "hf", "--out", join(dir, "lm"));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(loadModel(join(dir, "lm")).model.config.numHeads, 3); // recorded in config.json
    const again = cli("convert", "--model", fixture("timm-tiny.lukemelas.pth"), "--heads", "3", "--to", "hf", "--out", join(dir, "lm"));
    assert.match(again.stderr, /exists \(use --force/);
  });
});
