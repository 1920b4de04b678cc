// Google's original .npz checkpoints: names, transposes and reshapes, against PyTorch's logits for
// the same weights (scripts/reference/npz.py saves timm-tiny in Google's layout).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { strToU8, unzipSync, zipSync } from "fflate";
import { loadModel } from "../src/checkpoint/load.js";
import { parseNpy } from "../src/checkpoint/npz.js";
import { VitlensError } from "../src/errors.js";
import { backends, expected, fixture, maxAbsDiff } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-npz-"));
const npz = fixture("timm-tiny.google.npz");

describe("Google .npz checkpoints", () => {
  for (const be of backends()) {
    it(`give PyTorch's logits and attentions (${be.name} backend), heads read from the kernels`, () => {
      const { model, format, notes } = loadModel(npz);
      assert.equal(format, "google");
      assert.deepEqual(notes, []);
      assert.equal(model.config.numHeads, 3);
      assert.equal(model.config.layerNormEps, 1e-6);
      const ref = expected("timm-tiny.expected.safetensors");
      const out = model.forward(ref.get("pixels")!, be);
      assert.ok(maxAbsDiff(out.logits!.data, ref.get("logits")!.data) <= 1e-4);
      assert.ok(maxAbsDiff(out.attentions[1].data, ref.get("attention.1")!.data) <= 1e-5);
    });
  }

  it("name the missing key, and refuse pre-logits and non-zip files", () => {
    const files = unzipSync(readFileSync(npz));
    const without = { ...files };
    delete without["Transformer/encoderblock_1/MlpBlock_3/Dense_0/kernel.npy"];
    writeFileSync(join(dir, "missing.npz"), zipSync(without));
    assert.throws(() => loadModel(join(dir, "missing.npz")), /missing key Transformer\/encoderblock_1\/MlpBlock_3\/Dense_0\/kernel/);
    writeFileSync(join(dir, "pre.npz"), zipSync({ ...files, "pre_logits/kernel.npy": files["head/bias.npy"] }));
    assert.throws(() => loadModel(join(dir, "pre.npz")), /pre_logits layer/);
    writeFileSync(join(dir, "text.npz"), "not a zip");
    assert.throws(() => loadModel(join(dir, "text.npz")), (e: unknown) => e instanceof VitlensError && /not a readable \.npz/.test(e.message));
  });

  it(".npy parsing validates dtype, order and size", () => {
    const header = (h: string) => {
      const body = `${h}`.padEnd(118, " ") + "\n";
      return new Uint8Array([0x93, ...strToU8("NUMPY"), 1, 0, body.length, 0, ...strToU8(body)]);
    };
    const ok = header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }");
    const arr = new Uint8Array([...ok, ...new Uint8Array(new Float32Array([1.5, -2]).buffer)]);
    assert.deepEqual([...parseNpy(arr, "a.npy").data], [1.5, -2]);
    assert.throws(() => parseNpy(header("{'descr': '<i8', 'fortran_order': False, 'shape': (0,), }"), "b.npy"), /dtype <i8 is not supported/);
    // Fortran order is read (issue 10, fault 4; see npy-layouts.test.ts); an unknown descr is refused.
    assert.deepEqual(parseNpy(header("{'descr': '<f4', 'fortran_order': True, 'shape': (0, 2), }"), "c.npy").shape, [0, 2]);
    assert.throws(() => parseNpy(header("{'descr': '<c8', 'fortran_order': False, 'shape': (0,), }"), "c.npy"), /dtype <c8 is not supported/);
    assert.throws(() => parseNpy(ok, "d.npy"), /needs 8 bytes, found 0/);
  });
});
