import { VitlensError } from "../errors.js";
import { readAt } from "../io/file-range.js";
import { PickleTruncated, unpickle, type PickleRoot } from "./pickle.js";
import { DTYPE_SIZES } from "./safetensors.js";

/**
 * torch.save's legacy format (PyTorch < 1.6, or `_use_new_zipfile_serialization=False`), as
 * torch/serialization.py's _legacy_save writes it, one pickle after another:
 *
 *   magic number pickle (0x1950a86a20f9469cfc6c), protocol version pickle (1001),
 *   sys_info pickle ({protocol_version, little_endian, type_sizes}),
 *   the object's pickle: its persistent ids ("storage", type, key, location, numel, view) name storages,
 *   the list of storage keys pickle,
 *   then each storage in that order: an 8-byte little-endian element count, then its raw bytes.
 *
 * The pickles go through the same restricted unpickler as the zip format's data.pkl; storages are
 * located (every declared size checked against the bytes the file has) but read only when a tensor
 * needs them.
 */

/** The magic number 0x1950a86a20f9469cfc6c as pickle's LONG1 writes it: 10 bytes, little-endian. */
const MAGIC_LONG1 = Buffer.from("8a0a6cfc9c46f9206aa85019", "hex");
const PROTOCOL_VERSION = 1001;
const FIRST_READ = 1 << 20; // bytes read for the pickles at first: the storages come after them

/** A legacy file starts with a pickle (PROTO 2..5), a zip file with "PK". */
export function isLegacyTorchHead(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1] <= 5;
}

/** A storage's bytes in the file. */
interface StorageSpan { offset: number; bytes: number }

export interface LegacyTorchFile {
  /** The object's pickle: the root value and the storages its persistent ids name. */
  parsed: PickleRoot;
  /** The bytes of a storage (or a storage view) by the key a tensor refers to, read from the file. */
  storageBytes(fd: number, key: string): Uint8Array;
}

/**
 * Reads a legacy file's pickles and locates its storages, from an open file of `size` bytes. The
 * pickles are parsed from the first `firstRead` bytes, read again 8 times longer while they do not end there.
 */
export function readLegacyTorchFile(fd: number, size: number, path: string, firstRead = FIRST_READ): LegacyTorchFile {
  for (let window = Math.min(size, firstRead); ; window = Math.min(size, window * 8)) {
    try {
      return parse(readAt(fd, 0, window), fd, size, path);
    } catch (e) {
      if (!(e instanceof PickleTruncated)) throw e;
      if (window >= size) throw new VitlensError(`${path}: a legacy torch file that ends inside its pickles (truncated)`);
    }
  }
}

function parse(head: Uint8Array, fd: number, size: number, path: string): LegacyTorchFile {
  let pos = 0;
  const next = (): PickleRoot => {
    const p = unpickle(head.subarray(pos), path);
    pos += p.end;
    return p;
  };
  next();
  if (!Buffer.from(head.subarray(0, pos)).includes(MAGIC_LONG1)) { // compared as bytes: a float64 would round it
    throw new VitlensError(`${path}: a pickle, but not a torch.save file (no torch magic number at its start)`);
  }
  const protocol = next().root;
  if (protocol !== PROTOCOL_VERSION) throw new VitlensError(`${path}: legacy torch file of protocol version ${String(protocol)} (expected ${PROTOCOL_VERSION})`);
  const sysInfo = next().root;
  if (!(sysInfo instanceof Map) || sysInfo.get("little_endian") !== true) {
    throw new VitlensError(`${path}: a legacy torch file saved on a big-endian machine (or without sys_info); re-save it on a little-endian one`);
  }
  const parsed = next();
  const keys = next().root;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw new VitlensError(`${path}: the legacy torch file's storage key list is not a list of strings`);

  const spans = new Map<string, StorageSpan>();
  let at = pos;
  for (const key of keys as string[]) {
    const declared = parsed.storages.get(key);
    if (!declared) throw new VitlensError(`${path}: storage ${key} is listed but no tensor names it`);
    if (at + 8 > size) throw new VitlensError(`${path}: the file ends before storage ${key} (truncated)`);
    const count = readCount(fd, at, size, key, path);
    const bytes = count * DTYPE_SIZES[declared.dtype];
    if (count !== declared.numel) throw new VitlensError(`${path}: storage ${key} holds ${count} elements, its tensors declare ${declared.numel}`);
    if (at + 8 + bytes > size) throw new VitlensError(`${path}: storage ${key} declares ${bytes} bytes but the file has ${size - at - 8} left (truncated)`);
    spans.set(key, { offset: at + 8, bytes });
    at += 8 + bytes;
  }
  return {
    parsed,
    storageBytes: (fd, key) => {
      const view = parsed.views.get(key);
      const span = spans.get(view?.root ?? key);
      if (!span) throw new VitlensError(`${path}: storage ${view?.root ?? key} is missing from the file`);
      if (!view) return readAt(fd, span.offset, span.bytes);
      const element = DTYPE_SIZES[parsed.storages.get(view.root)!.dtype];
      return readAt(fd, span.offset + view.offset * element, view.size * element); // inside the root: checked by the unpickler
    },
  };
}

/** A storage's 8-byte element count (signed, as torch writes it), refused when the file could not hold it. */
function readCount(fd: number, at: number, size: number, key: string, path: string): number {
  const raw = readAt(fd, at, 8);
  const count = new DataView(raw.buffer, raw.byteOffset, 8).getBigInt64(0, true);
  if (count < 0n || count > BigInt(size)) throw new VitlensError(`${path}: storage ${key} declares ${count} elements, impossible in a file of ${size} bytes`);
  return Number(count);
}
