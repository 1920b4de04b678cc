// torch.save's legacy (pre-1.6, non-zip) format, on files PyTorch wrote itself
// (scripts/reference/torch_legacy.py): a CATR-style training checkpoint (AdamW and StepLR state,
// epoch) whose tensors include views, shared storages, float16 and float64, equal to torch.load's
// values and to the zip-format save of the same object; the oldest files' storage views; and
// one-line errors for truncated, corrupted and code-running files.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { listCheckpoint, type ListedEntry } from "../src/checkpoint/list-tensors.js";
import { readLegacyTorchFile } from "../src/checkpoint/torch-legacy.js";
import { readTorchFile } from "../src/checkpoint/torch-pickle.js";
import { withOpenFile } from "../src/io/file-range.js";
import { VitlensError } from "../src/errors.js";
import { expected, fixture } from "./helpers.js";

const LEGACY = fixture("catr-legacy.pth");
const dir = mkdtempSync(join(tmpdir(), "vitlens-legacy-"));

/** `bytes` written to a file in the temp folder; its path. */
function file(name: string, bytes: Uint8Array): string {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

/** Where the storages start in the small storage-view file: its one 20-float storage ends the file. */
const viewFile = readFileSync(fixture("storage-view.legacy.pth"));
const countAt = viewFile.length - 20 * 4 - 8;

describe("legacy torch.save files (PyTorch < 1.6 / _use_new_zipfile_serialization=False)", () => {
  it("a CATR training checkpoint: the model's tensors as torch.load reads them; optimizer, lr_scheduler and epoch skipped", () => {
    const { tensors, skipped } = readTorchFile(LEGACY);
    const want = expected("catr-legacy.expected.safetensors");
    assert.equal(tensors.size, want.size);
    for (const [name, t] of want) {
      assert.deepEqual(tensors.get(name)?.shape, t.shape, name);
      assert.deepEqual(tensors.get(name)!.data, t.data, name);
    }
    assert.deepEqual(skipped, ["extra.index"]); // int64: not a weight
    for (const name of ["backbone.0.body.bn1.running_var", "transformer.encoder.layers.0.self_attn.in_proj_weight", "transformer.embeddings.word_embeddings.weight", "mlp.layers.1.bias"]) {
      assert.ok(tensors.has(name), name);
    }
    assert.deepEqual(tensors.get("extra.transposed")!.shape, [5, 6]);
    assert.deepEqual(tensors.get("extra.sliced")!.shape, [4, 3]);
    assert.deepEqual(tensors.get("extra.half_t")!.shape, [2, 3]);
    assert.deepEqual(tensors.get("extra.scalar")!.shape, []);
    assert.deepEqual([...tensors.get("extra.scalar")!.data], [2.5]);
  });

  it("equals the zip-format save of the same object, tensor by tensor", () => {
    const legacy = readTorchFile(LEGACY);
    const zip = readTorchFile(fixture("catr-legacy.zip.pth"));
    assert.deepEqual([...legacy.tensors.keys()], [...zip.tensors.keys()]);
    for (const [name, t] of zip.tensors) assert.deepEqual(legacy.tensors.get(name), t, name);
    assert.deepEqual(legacy.skipped, zip.skipped);
  });

  it("`vitlens tensors` lists the legacy file as it lists the zip one: tensors, stats, optimizer values, epoch", () => {
    const rows = (path: string) => listCheckpoint(path).map((e: ListedEntry) => (e.kind === "tensor" ? { name: e.name, ...e.read(true) } : e));
    const legacy = rows(LEGACY);
    assert.deepEqual(legacy, rows(fixture("catr-legacy.zip.pth")));
    const value = (name: string) => legacy.find((r) => r.name === name);
    assert.deepEqual(value("epoch"), { kind: "value", name: "epoch", type: "int", value: 7 });
    assert.deepEqual(value("optimizer.param_groups.0.betas"), { kind: "value", name: "optimizer.param_groups.0.betas", type: "tuple", value: [0.9, 0.999] });
    assert.deepEqual(value("lr_scheduler.step_size"), { kind: "value", name: "lr_scheduler.step_size", type: "int", value: 20 });
    assert.ok(legacy.some((r) => r.name === "optimizer.state.0.exp_avg_sq"));
  });

  it("storage views of the oldest files (view key, offset, size in the persistent id) read as torch.load reads them", () => {
    const { tensors } = readTorchFile(fixture("storage-view.legacy.pth"));
    for (const [name, t] of expected("storage-view.expected.safetensors")) assert.deepEqual(tensors.get(name), t, name);
    assert.deepEqual([...tensors.get("view")!.data], [0.5, 1.5, 2.5, 1, 2, 3]);
  });

  it("refuses a pickled module (torch.save(model)) without running anything", () => {
    assert.throws(() => readTorchFile(fixture("module.legacy.pth")), (e: unknown) =>
      e instanceof VitlensError && /module\.legacy\.pth: refused to load: (unexpected persistent id|the pickle references torch\.nn)/.test(e.message));
  });

  it("truncated and corrupted files: one-line errors naming the file, no huge allocation", () => {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["pickles.pth", viewFile.subarray(0, 300), /pickles\.pth: a legacy torch file that ends inside its pickles \(truncated\)/],
      ["count.pth", viewFile.subarray(0, countAt + 4), /count\.pth: the file ends before storage 100 \(truncated\)/],
      ["data.pth", viewFile.subarray(0, viewFile.length - 10), /data\.pth: storage 100 declares 80 bytes but the file has 70 left \(truncated\)/],
      ["huge.pth", withCount(2n ** 62n), /huge\.pth: storage 100 declares 4611686018427387904 elements, impossible in a file of 542 bytes/],
      ["negative.pth", withCount(-1n), /negative\.pth: storage 100 declares -1 elements, impossible in a file of 542 bytes/],
      ["wrong-count.pth", withCount(19n), /wrong-count\.pth: storage 100 holds 19 elements, its tensors declare 20/],
      ["magic.pth", flip(viewFile, 5), /magic\.pth: a pickle, but not a torch\.save file \(no torch magic number at its start\)/],
      ["protocol.pth", replace(viewFile, "\x4d\xe9\x03", "\x4d\xea\x03"), /protocol\.pth: legacy torch file of protocol version 1002 \(expected 1001\)/],
      ["endian.pth", replace(viewFile, "little_endian\x71\x02\x88", "little_endian\x71\x02\x89"), /endian\.pth: a legacy torch file saved on a big-endian machine/], // NEWTRUE -> NEWFALSE
      ["view.pth", replace(viewFile, "K\x06K\x08", "K\x06K\x0f"), /view\.pth: refused to load: storage view 101 reaches past its storage 100/],
    ];
    for (const [name, bytes, message] of cases) {
      assert.throws(() => readTorchFile(file(name, bytes)), (e: unknown) => e instanceof VitlensError && message.test(e.message) && !e.message.includes("\n"), name);
      assert.throws(() => listCheckpoint(join(dir, name)).forEach((e) => e.kind === "tensor" && e.read(true)), VitlensError, `${name} (vitlens tensors)`);
    }
  });

  it("pickles longer than the first read of the file: the read grows until they end", () => {
    const whole = withOpenFile(LEGACY, (fd, size) => readLegacyTorchFile(fd, size, LEGACY));
    const grown = withOpenFile(LEGACY, (fd, size) => readLegacyTorchFile(fd, size, LEGACY, 64)); // 64, 512, 4096, ... bytes
    assert.deepEqual(grown.parsed.storages, whole.parsed.storages);
    const key = [...whole.parsed.storages.keys()][3];
    withOpenFile(LEGACY, (fd) => assert.deepEqual(grown.storageBytes(fd, key), whole.storageBytes(fd, key)));
  });
});

function withCount(count: bigint): Buffer {
  const b = Buffer.from(viewFile);
  b.writeBigInt64LE(count, countAt);
  return b;
}

function flip(bytes: Uint8Array, at: number): Buffer {
  const b = Buffer.from(bytes);
  b[at] ^= 0xff;
  return b;
}

/** `bytes` with the first occurrence of `from` replaced by `to` (latin1 strings of the same length). */
function replace(bytes: Uint8Array, from: string, to: string): Buffer {
  const b = Buffer.from(bytes);
  const at = b.indexOf(Buffer.from(from, "latin1"));
  assert.ok(at >= 0, `pattern ${JSON.stringify(from)} not found`);
  Buffer.from(to, "latin1").copy(b, at);
  return b;
}
