// safetensors: round trip, half-precision widening, and every kind of corrupt header refused cleanly.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bfloat16ToFloat, halfToFloat } from "../src/checkpoint/dtype.js";
import { readSafetensors, writeSafetensors } from "../src/checkpoint/safetensors.js";
import { VitlensError } from "../src/errors.js";
import { fixture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-st-"));

/** A file with this header object and `dataBytes` bytes of data. */
function craft(name: string, header: unknown, dataBytes = 0, headerLen?: bigint): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLen ?? BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return path;
}

describe("safetensors", () => {
  it("round-trips float32 tensors with metadata format=pt, 8-byte aligned", () => {
    const path = join(dir, "rt.safetensors");
    const tensors = new Map([
      ["a", { data: Float32Array.from([1, -2.5, 3e-8]), shape: [3] }],
      ["b.c", { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 1, 3] }],
    ]);
    writeSafetensors(path, tensors);
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, { format: "pt" });
    for (const [k, t] of tensors) {
      assert.deepEqual(back.tensors.get(k)!.shape, t.shape);
      assert.deepEqual(back.tensors.get(k)!.data, t.data);
    }
    const headerLen = Number(readFileSync(path).readBigUInt64LE(0));
    assert.equal((8 + headerLen) % 8, 0);
  });

  it("widens F16 and BF16 exactly, skips integer tensors", () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x0001), 2 ** -24); // smallest subnormal
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.equal(bfloat16ToFloat(0x3f80), 1);
    assert.equal(bfloat16ToFloat(0xc0a0), -5);
    const data = Buffer.alloc(2 + 2 + 8);
    data.writeUInt16LE(0x3555, 0); // f16 0.333251953125
    data.writeUInt16LE(0x3eaa, 2); // bf16 0.33203125
    data.writeBigInt64LE(7n, 4);
    const header = {
      h: { dtype: "F16", shape: [1], data_offsets: [0, 2] },
      b: { dtype: "BF16", shape: [1], data_offsets: [2, 4] },
      ids: { dtype: "I64", shape: [1], data_offsets: [4, 12] },
    };
    const path = craft("half.safetensors", header);
    writeFileSync(path, Buffer.concat([readFileSync(path), data]));
    const f = readSafetensors(path);
    assert.equal(f.tensors.get("h")!.data[0], 0.333251953125);
    assert.equal(f.tensors.get("b")!.data[0], 0.33203125);
    assert.equal(f.skipped.get("ids"), "I64");
  });

  const bad: Array<[string, () => string, RegExp]> = [
    ["a file shorter than the length prefix", () => { const p = join(dir, "short"); writeFileSync(p, Buffer.alloc(5)); return p; }, /only 5 bytes/],
    ["a header length of 2^63 (no huge allocation)", () => craft("huge.safetensors", {}, 0, 1n << 63n), /header length .* exceeds/],
    ["a header length past the end of the file", () => craft("past.safetensors", {}, 0, 1000n), /exceeds the file/],
    ["a header that is not JSON", () => { const p = craft("nojson.safetensors", {}); const b = readFileSync(p); b[8] = 0x7b; b[9] = 0x7b; writeFileSync(p, b); return p; }, /not valid JSON/],
    ["a JSON array header", () => craft("array.safetensors", [1, 2]), /not a JSON object/],
    ["an unknown dtype", () => craft("dtype.safetensors", { t: { dtype: "F128", shape: [1], data_offsets: [0, 16] } }, 16), /unknown dtype/],
    ["a negative dimension", () => craft("neg.safetensors", { t: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4), /invalid shape/],
    ["offsets past the data section", () => craft("oob.safetensors", { t: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8), /outside the file/],
    ["a size that does not match shape x dtype", () => craft("size.safetensors", { t: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }, 16), /has 16 bytes but shape \[3\] of F32 needs 12/],
    ["overlapping tensors", () => craft("overlap.safetensors", { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, 12), /overlap/],
    ["end before begin", () => craft("rev.safetensors", { t: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, 8), /outside the file/],
    ["a missing file", () => join(dir, "nope.safetensors"), /cannot open \(ENOENT\)/],
  ];
  for (const [what, make, message] of bad) {
    it(`refuses ${what} with a clear error naming the file`, () => {
      const path = make();
      assert.throws(() => readSafetensors(path), (e: unknown) => e instanceof VitlensError && message.test(e.message) && e.message.includes(path));
    });
  }

  it("refuses a truncated copy of a real checkpoint", () => {
    const full = readFileSync(fixture("hf-tiny", "model.safetensors"));
    const p = join(dir, "truncated.safetensors");
    writeFileSync(p, full.subarray(0, full.length - 100));
    assert.throws(() => readSafetensors(p), /lies outside the file/);
  });
});
