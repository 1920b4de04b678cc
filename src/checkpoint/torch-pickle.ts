import { readFileOrFail } from "../io/read-file.js";
import { unzipBounded } from "../io/zip.js";
import { VitlensError } from "../errors.js";
import { numel, type Tensor } from "../tensor.js";
import { floatsToFloat32 } from "./elements.js";
import { DTYPE_SIZES } from "./safetensors.js";
import { gather, viewExtent, type StridedView } from "./strided.js";

/**
 * torch.save files (zip format) without Python. The unpickler is restricted: it knows only the
 * opcodes and globals a state dict needs (OrderedDict, tensor rebuild, typed storages) and
 * refuses anything else, so loading a file can never run code. Tensors come out as references
 * to their storage (read later, one at a time); plain Python values (ints, floats, strings,
 * lists, dicts: an epoch, optimizer settings) come out as such.
 */

/** torch's typed storages under safetensors' dtype names. */
const STORAGES: Record<string, string> = {
  FloatStorage: "F32", HalfStorage: "F16", BFloat16Storage: "BF16", DoubleStorage: "F64", LongStorage: "I64",
  IntStorage: "I32", ShortStorage: "I16", CharStorage: "I8", ByteStorage: "U8", BoolStorage: "BOOL",
};
const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);
const CALLABLES = new Set(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"]);

interface Global { kind: "global"; name: string }
interface Storage { kind: "storage"; key: string; dtype: string }
/** A tensor as the pickle describes it: a strided view (in elements) of a storage not yet read. */
export interface TensorRef { kind: "tensor"; storage: string; dtype: string; view: StridedView }
/** A Python float (kept apart from ints, which are plain numbers). */
export interface PyFloat { kind: "float"; value: number }
/** What an allowed pickle holds. Python tuples are arrays too (see PickleRoot.tuples). */
export type PickleValue = null | boolean | number | string | PyFloat | TensorRef | PickleValue[] | Map<PickleValue, PickleValue>;
type Value = PickleValue | Global | Storage | { kind: "mark" } | Value[] | Map<Value, Value>;

export interface PickleRoot {
  root: PickleValue;
  tuples: WeakSet<PickleValue[]>; // which arrays were Python tuples
}

export interface TorchFile {
  tensors: Map<string, Tensor>;
  skipped: string[]; // non-float tensors and non-tensor entries
}

export function readTorchFile(path: string): TorchFile {
  const bytes = readFileOrFail(path);
  if (bytes[0] === 0x80 && bytes[1] <= 5) throw legacyError(path);
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

export function legacyError(path: string): VitlensError {
  return new VitlensError(`${path}: a legacy (pre-1.6, non-zip) torch file; re-save it with a newer PyTorch: torch.save(torch.load(f), f2)`);
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

/** Runs the restricted unpickler over a data.pkl. */
export function unpickle(buf: Uint8Array, path: string): PickleRoot {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  const MARK = { kind: "mark" } as const;
  const tuples = new WeakSet<PickleValue[]>();
  const tuple = (items: Value[]): Value[] => (tuples.add(items as PickleValue[]), items);
  let pos = 0;
  const fail = (why: string): never => {
    throw new VitlensError(`${path}: refused to load: ${why}`);
  };
  const need = (n: number) => {
    if (pos + n > buf.length) fail("the pickle is truncated");
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const text = (n: number) => {
    need(n);
    pos += n;
    return Buffer.from(buf.subarray(pos - n, pos)).toString("utf8");
  };
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail("the pickle is truncated");
    const s = Buffer.from(buf.subarray(pos, end)).toString("latin1");
    pos = end + 1;
    return s;
  };
  const pop = (): Value => (stack.length ? stack.pop()! : fail("stack underflow"));
  const popMark = (): Value[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail("MARK missing");
    const items = stack.splice(i + 1);
    stack.pop();
    return items;
  };
  const global = (module: string, name: string): Global => {
    const full = `${module}.${name}`;
    const storageName = module === "torch" ? name : "";
    if (!CALLABLES.has(full) && !(storageName in STORAGES)) {
      fail(`the pickle references ${full}, which is not part of a state dict (loading it could run code)`);
    }
    return { kind: "global", name: full };
  };
  const asNumbers = (v: Value, what: string): number[] =>
    Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : fail(`${what} is not a tuple of integers`);
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); pos += 8; break; // FRAME
      case 0x2e: return { root: pop() as PickleValue, tuples }; // STOP
      case 0x28: stack.push(MARK); break;
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x85: stack.push(tuple([pop()])); break;
      case 0x86: { const b = pop(); stack.push(tuple([pop(), b])); break; }
      case 0x87: { const c = pop(); const b = pop(); stack.push(tuple([pop(), b, c])); break; }
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: need(4); pos += 4; stack.push(view.getInt32(pos - 4, true)); break; // BININT
      case 0x8a: { // LONG1
        const n = u8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[pos + i]);
        if (n > 0 && buf[pos + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        pos += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: need(8); pos += 8; stack.push({ kind: "float", value: view.getFloat64(pos - 8, false) }); break; // BINFLOAT
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x71: memo.set(u8(), stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1]); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: { const k = u8(); stack.push(memo.has(k) ? memo.get(k)! : fail(`memo ${k} unset`)); break; } // BINGET
      case 0x6a: { const k = u32(); stack.push(memo.has(k) ? memo.get(k)! : fail(`memo ${k} unset`)); break; } // LONG_BINGET
      case 0x63: { const module = line(); stack.push(global(module, line())); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); stack.push(global(String(module), String(name))); break; } // STACK_GLOBAL
      case 0x51: { // BINPERSID: ('storage', storage_type, key, location, numel)
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) fail("unexpected persistent id");
        const type = (pid as Value[])[1] as Global;
        const dtype = STORAGES[type?.name?.replace("torch.", "") ?? ""];
        if (!dtype) fail("persistent id without a storage type");
        stack.push({ kind: "storage", key: String((pid as Value[])[2]), dtype });
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop() as Global;
        if (!Array.isArray(args) || fn?.kind !== "global") fail("REDUCE on something that is not an allowed function");
        const a = args as Value[];
        if (fn.name === "collections.OrderedDict") stack.push(new Map());
        else if (fn.name === "torch._utils._rebuild_tensor_v2") {
          const s = a[0] as Storage;
          if (s?.kind !== "storage") fail("tensor rebuild without a storage");
          if (typeof a[1] !== "number") fail("tensor rebuild without a storage offset");
          const view = { offset: a[1] as number, size: asNumbers(a[2], "tensor size"), stride: asNumbers(a[3], "tensor stride") };
          if (view.size.length !== view.stride.length) fail("tensor size and stride differ in length");
          stack.push({ kind: "tensor", storage: s.key, dtype: s.dtype, view } satisfies TensorRef);
        } else if (fn.name === "torch._utils._rebuild_parameter") stack.push(a[0]);
        else fail(`${fn.name} cannot be called`);
        break;
      }
      case 0x62: pop(); break; // BUILD: state of an OrderedDict/parameter (metadata) is not needed
      case 0x73: { const v = pop(); const k = pop(); const d = stack[stack.length - 1]; if (!(d instanceof Map)) fail("SETITEM on a non-dict"); (d as Map<Value, Value>).set(k, v); break; }
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = stack[stack.length - 1];
        if (!(d instanceof Map)) fail("SETITEMS on a non-dict");
        for (let i = 0; i + 1 < items.length; i += 2) (d as Map<Value, Value>).set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { const v = pop(); const l = stack[stack.length - 1]; if (!Array.isArray(l)) fail("APPEND on a non-list"); (l as Value[]).push(v); break; }
      case 0x65: { const items = popMark(); const l = stack[stack.length - 1]; if (!Array.isArray(l)) fail("APPENDS on a non-list"); (l as Value[]).push(...items); break; }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
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

export function isTensorRef(v: PickleValue): v is TensorRef {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map) && v.kind === "tensor";
}
