// torch.save .pth files read without Python: timm names (plain and nested), lukemelas'
// PyTorch-Pretrained-ViT names, and a pickle that would run code, which must be refused.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { unzipSync, zipSync } from "fflate";
import { jsBackend } from "../src/backend/index.js";
import { loadModel } from "../src/checkpoint/load.js";
import { readTorchFile } from "../src/checkpoint/torch-pickle.js";
import { VitlensError } from "../src/errors.js";
import { expected, fixture, maxAbsDiff } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-pth-"));
const ref = expected("timm-tiny.expected.safetensors");

describe("PyTorch .pth checkpoints", () => {
  for (const [file, format] of [["timm-tiny.pth", "timm"], ["timm-tiny.nested.pth", "timm"], ["timm-tiny.lukemelas.pth", "lukemelas"]] as const) {
    it(`${file}: the same logits as PyTorch (${format} names)`, () => {
      // heads are not visible in any shape, and 24 wide is no published width: --heads 3
      const loaded = loadModel(fixture(file), { heads: 3 });
      assert.equal(loaded.format, format);
      assert.equal(loaded.model.config.layerNormEps, 1e-6);
      const out = loaded.model.forward(ref.get("pixels")!, jsBackend);
      const d = maxAbsDiff(out.logits!.data, ref.get("logits")!.data);
      assert.ok(d <= 1e-4, `logits differ by ${d}`);
    });
  }

  it("reads the tensors bit for bit and reports non-tensor entries", () => {
    const nested = readTorchFile(fixture("timm-tiny.nested.pth"));
    const plain = readTorchFile(fixture("timm-tiny.pth"));
    assert.deepEqual(nested.tensors.get("blocks.1.mlp.fc2.weight")!.data, plain.tensors.get("blocks.1.mlp.fc2.weight")!.data);
    assert.deepEqual(nested.tensors.get("pos_embed")!.shape, [1, 37, 24]);
  });

  it("refuses a pickle that calls a function outside the state-dict allow-list, without running it", () => {
    assert.throws(() => loadModel(fixture("evil.pth")), (e: unknown) =>
      e instanceof VitlensError && /refused to load: the pickle references (posix|os)\.system, which is not part of a state dict/.test(e.message));
  });

  it("gives clear errors for truncated pickles, missing storages, legacy files and non-zip files", () => {
    const files = unzipSync(readFileSync(fixture("timm-tiny.pth")));
    const pkl = Object.keys(files).find((n) => n.endsWith("data.pkl"))!;
    writeFileSync(join(dir, "trunc.pth"), zipSync({ ...files, [pkl]: files[pkl].subarray(0, 200) }));
    assert.throws(() => readTorchFile(join(dir, "trunc.pth")), /the pickle is truncated|stack underflow|MARK missing/);
    const noStorage = { ...files };
    delete noStorage[Object.keys(files).find((n) => n.endsWith("/data/0"))!];
    writeFileSync(join(dir, "nostorage.pth"), zipSync(noStorage));
    assert.throws(() => readTorchFile(join(dir, "nostorage.pth")), /storage 0 is missing from the archive/);
    writeFileSync(join(dir, "legacy.pth"), Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]));
    assert.throws(() => readTorchFile(join(dir, "legacy.pth")), /legacy\.pth: a legacy torch file that ends inside its pickles \(truncated\)/); // pth-legacy.test.ts reads whole ones
    // Found by fuzz/parsers.js: a ZIP64 entry count of ~3e9 kept fflate looping for hours.
    const bomb = Buffer.from(readFileSync(fixture("timm-tiny.lukemelas.pth")));
    const eocd = bomb.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const zip64 = Number(bomb.readBigUInt64LE(eocd - 20 + 8));
    bomb[zip64 + 32 + 3] = 0xc2;
    writeFileSync(join(dir, "bomb.pth"), bomb);
    assert.throws(() => readTorchFile(join(dir, "bomb.pth")), /ZIP64 directory record claims \d+ entries/);
    writeFileSync(join(dir, "junk.pth"), "junk");
    assert.throws(() => readTorchFile(join(dir, "junk.pth")), /not a torch\.save zip file/);
  });
});
