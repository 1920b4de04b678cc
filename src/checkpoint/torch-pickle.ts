import { readAt, withOpenFile } from "../io/file-range.js";
import { readFileOrFail } from "../io/read-file.js";
import { unzipBounded } from "../io/zip.js";
import { VitlensError } from "../errors.js";
import { numel, type Tensor } from "../tensor.js";
import { floatsToFloat32 } from "./elements.js";
import { DTYPE_SIZES } from "./safetensors.js";
import { isTensorRef, unpickle, type PickleValue, type TensorRef } from "./pickle.js";
import { gather, viewExtent } from "./strided.js";
import { isLegacyTorchHead, readLegacyTorchFile } from "./torch-legacy.js";

export { isTensorRef, unpickle, type PickleRoot, type PickleValue, type PyFloat, type TensorRef } from "./pickle.js";

/**
 * torch.save files without Python: the zip format (PyTorch >= 1.6) and the legacy one
 * (torch-legacy.ts), both through the restricted unpickler (pickle.ts). Only the state dict's
 * float tensors are read; a training checkpoint's other entries (optimizer state, epoch) are
 * plain values and are left alone.
 */

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

export interface TorchFile {
  tensors: Map<string, Tensor>;
  skipped: string[]; // non-float tensors and non-tensor entries
}

export function readTorchFile(path: string): TorchFile {
  const legacy = withOpenFile(path, (fd, size) => {
    if (!isLegacyTorchHead(readAt(fd, 0, Math.min(2, size)))) return null;
    const file = readLegacyTorchFile(fd, size, path);
    return collect(file.parsed.root, path, (ref) => file.storageBytes(fd, ref.storage));
  });
  if (legacy) return legacy;
  const bytes = readFileOrFail(path);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipBounded(bytes);
  } catch (e) {
    throw new VitlensError(`${path}: not a torch.save zip file (${(e as Error).message})`);
  }
  const { pickle, prefix } = findPickle(Object.keys(files), path);
  const { root } = unpickle(files[pickle], path);
  return collect(root, path, (ref) => {
    const raw = files[`${prefix}data/${ref.storage}`];
    if (!raw) throw new VitlensError(`${path}: storage ${ref.storage} is missing from the archive`);
    return raw;
  });
}

/** The archive's data.pkl and the folder prefix its storages (prefix + "data/<key>") live under. */
export function findPickle(names: string[], path: string): { pickle: string; prefix: string } {
  const pickle = names.find((n) => n.endsWith("/data.pkl") || n === "data.pkl");
  if (!pickle) throw new VitlensError(`${path}: no data.pkl inside: not a torch.save file`);
  return { pickle, prefix: pickle.slice(0, -"data.pkl".length) };
}

/** Checks that a tensor's view lies inside its storage's bytes. */
export function checkView(ref: TensorRef, storageBytes: number, path: string): void {
  const elements = Math.floor(storageBytes / DTYPE_SIZES[ref.dtype]);
  const n = numel(ref.view.size);
  if (n > elements) throw new VitlensError(`${path}: a tensor of ${n} elements views a storage of ${elements}`);
  if (n > 0 && (ref.view.offset < 0 || viewExtent(ref.view) > elements)) throw new VitlensError(`${path}: a tensor view reaches past its storage`);
}

/** A float tensor's view of its storage's bytes, gathered into a row-major float32 tensor. */
function floatTensor(ref: TensorRef, raw: Uint8Array, path: string): Tensor {
  checkView(ref, raw.length, path);
  const all = floatsToFloat32(raw, ref.dtype as "F32" | "F16" | "BF16" | "F64", Math.floor(raw.length / DTYPE_SIZES[ref.dtype]));
  return { data: gather(all, ref.view), shape: ref.view.size };
}

/** The state dict (unwrapping {"state_dict": ...} / {"model": ...}) as named float tensors. */
function collect(root: PickleValue, path: string, storageBytes: (ref: TensorRef) => Uint8Array): TorchFile {
  let dict = root;
  for (const key of ["state_dict", "model", "model_state_dict"]) {
    if (dict instanceof Map && dict.get(key) instanceof Map) dict = dict.get(key)!;
  }
  if (!(dict instanceof Map)) throw new VitlensError(`${path}: does not hold a state dict (a dict of tensors)`);
  const tensors = new Map<string, Tensor>();
  const skipped: string[] = [];
  for (const [k, v] of dict) {
    const name = String(k);
    if (isTensorRef(v) && FLOAT_DTYPES.has(v.dtype)) tensors.set(name, floatTensor(v, storageBytes(v), path));
    else skipped.push(name);
  }
  if (tensors.size === 0) throw new VitlensError(`${path}: no float tensors in its state dict`);
  return { tensors, skipped };
}
