// torch.save keeps views as views: the storage is written whole and each tensor records its offset,
// size and stride. Files written by torch itself (scripts/reference/pth_views.py): a transposed
// tensor, two views of one storage (one at an offset), a non-contiguous slice, a permuted 3-D view
// and a float16 transposed view; the expected values are torch's contiguous copies.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { unzipSync, zipSync } from "fflate";
import { readTorchFile } from "../src/checkpoint/torch-pickle.js";
import { expected, fixture } from "./helpers.js";

describe(".pth tensors that are views of their storage", () => {
  it("read as the contiguous copies torch makes of them", () => {
    const { tensors } = readTorchFile(fixture("views.pth"));
    const want = expected("views.expected.safetensors");
    assert.deepEqual([...tensors.keys()], ["transposed", "shared_a", "shared_b", "sliced", "permuted", "half_t"]);
    for (const [name, t] of want) {
      assert.deepEqual(tensors.get(name)!.shape, t.shape, name);
      assert.deepEqual(tensors.get(name)!.data, t.data, name);
    }
    assert.deepEqual(tensors.get("sliced")!.shape, [4, 3]);
    assert.deepEqual(tensors.get("permuted")!.shape, [4, 2, 3]);
  });

  it("refuse a view that reaches past its storage, naming the file", () => {
    const files = unzipSync(readFileSync(fixture("views.pth")));
    const storages = Object.keys(files).filter((n) => /\/data\/\d+$/.test(n));
    const shared = storages.find((n) => files[n].length === 40 * 4)!; // the 40-element storage two views share
    const dir = mkdtempSync(join(tmpdir(), "vitlens-views-"));
    writeFileSync(join(dir, "short.pth"), zipSync({ ...files, [shared]: files[shared].subarray(0, 30 * 4) }));
    assert.throws(() => readTorchFile(join(dir, "short.pth")), /short\.pth: a tensor view reaches past its storage/);
  });
});
