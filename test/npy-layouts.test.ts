// Fault 4 of issue 10: a valid Google .npz was refused with "Fortran-ordered arrays are not
// supported". numpy writes fortran_order: True for F-contiguous arrays (a transposed view passed to
// np.savez) and big-endian descrs as asked; it reads both back, so vitlens must too. Fixtures are
// written by numpy itself (scripts/reference/npy_layouts.py).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { unzipSync } from "fflate";
import { jsBackend } from "../src/backend/index.js";
import { loadModel } from "../src/checkpoint/load.js";
import { parseNpy, parseNpyHeader, readNpz } from "../src/checkpoint/npz.js";
import { expected, fixture, maxAbsDiff } from "./helpers.js";

const FLOAT_ARRAYS = ["c1", "f2", "t2", "f3", "f4", "be_f4", "be_f2", "le_f2", "be_f8", "be_f4_fortran", "f2_fortran", "scalar", "empty"];

describe(".npy layouts numpy writes (Fortran order, big-endian, float16, compressed)", () => {
  it("a Google .npz with Fortran-ordered (transposed view) and big-endian kernels gives the C-ordered file's logits", () => {
    const ref = expected("timm-tiny.expected.safetensors");
    const pixels = ref.get("pixels")!;
    const plain = loadModel(fixture("timm-tiny.google.npz")).model.forward(pixels, jsBackend).logits!;
    const layouts = loadModel(fixture("timm-tiny.google-layouts.npz")).model.forward(pixels, jsBackend).logits!;
    assert.deepEqual(layouts.data, plain.data); // the same float32 weights, so bit for bit
    assert.ok(maxAbsDiff(layouts.data, ref.get("logits")!.data) <= 1e-4);
    const a = readNpz(fixture("timm-tiny.google.npz"));
    const b = readNpz(fixture("timm-tiny.google-layouts.npz"));
    for (const [name, t] of a) assert.deepEqual(b.get(name), t, name);
  });

  for (const file of ["npy-layouts.npz", "npy-layouts.compressed.npz"]) {
    it(`${file}: 1-D to 4-D Fortran order, >f4, >f2, <f2, >f8 read as numpy reads them`, () => {
      const want = expected("npy-layouts.expected.safetensors");
      const files = unzipSync(readFileSync(fixture(file)));
      for (const name of FLOAT_ARRAYS) {
        const t = parseNpy(files[`${name}.npy`], name);
        assert.deepEqual(t.shape, want.get(name)!.shape, name);
        assert.deepEqual(t.data, want.get(name)!.data, name);
      }
      assert.equal(parseNpyHeader(files["f4.npy"], "f4").fortranOrder, true);
      assert.equal(parseNpyHeader(files["be_f4.npy"], "be_f4").littleEndian, false);
      assert.throws(() => parseNpy(files["i8.npy"], "i8.npy"), /i8\.npy: not a readable \.npy array: dtype <i8 is not supported \(expected float16\/32\/64/);
    });
  }

  it("a 1-D array whose header says Fortran order (numpy's header writer) is read like numpy reads it", () => {
    const files = unzipSync(readFileSync(fixture("npy-layouts.npz")));
    assert.deepEqual(parseNpy(files["f1_header.npy"], "f1_header").data, expected("npy-layouts.expected.safetensors").get("c1")!.data);
  });
});
