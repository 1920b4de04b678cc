import { VitlensError } from "../errors.js";
import type { StridedView } from "./strided.js";

/**
 * The restricted unpickler of torch.save files: it knows only the opcodes and globals a state
 * dict (and a training checkpoint's plain values) needs: OrderedDict, tensor rebuild, typed
 * storages, and refuses anything else, so loading a file can never run code. Tensors come out
 * as references to their storage (read later, one at a time); plain Python values (ints, floats,
 * strings, lists, dicts: an epoch, optimizer settings) come out as such.
 */

/** torch's typed storages under safetensors' dtype names. */
const STORAGES: Record<string, string> = {
  FloatStorage: "F32", HalfStorage: "F16", BFloat16Storage: "BF16", DoubleStorage: "F64", LongStorage: "I64",
  IntStorage: "I32", ShortStorage: "I16", CharStorage: "I8", ByteStorage: "U8", BoolStorage: "BOOL",
};
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

/** A storage named by a persistent id: its dtype and element count, as the pickle declares them (-1: not said). */
export interface StorageDecl { dtype: string; numel: number }
/** A legacy file's storage view: `size` elements of storage `root` from element `offset` on. */
export interface StorageView { root: string; offset: number; size: number }

export interface PickleRoot {
  root: PickleValue;
  tuples: WeakSet<PickleValue[]>; // which arrays were Python tuples
  storages: Map<string, StorageDecl>; // by key, every storage the persistent ids name
  views: Map<string, StorageView>; // by view key (legacy files only)
  end: number; // the byte after STOP: the next pickle of a legacy file starts there
}

/** The pickle ends before its STOP: the caller may read more of the file and try again. */
export class PickleTruncated extends VitlensError {}

/** Runs the restricted unpickler over one pickle (a data.pkl, or one of a legacy file's) at the start of `buf`. */
export function unpickle(buf: Uint8Array, path: string): PickleRoot {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  const MARK = { kind: "mark" } as const;
  const tuples = new WeakSet<PickleValue[]>();
  const tuple = (items: Value[]): Value[] => (tuples.add(items as PickleValue[]), items);
  const storages = new Map<string, StorageDecl>();
  const views = new Map<string, StorageView>();
  let pos = 0;
  const fail = (why: string): never => {
    throw new VitlensError(`${path}: refused to load: ${why}`);
  };
  const truncated = (): never => {
    throw new PickleTruncated(`${path}: refused to load: the pickle is truncated`);
  };
  const need = (n: number) => {
    if (pos + n > buf.length) truncated();
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const text = (n: number) => {
    need(n);
    pos += n;
    return Buffer.from(buf.subarray(pos - n, pos)).toString("utf8");
  };
  const latin1 = (n: number) => {
    need(n);
    pos += n;
    return Buffer.from(buf.subarray(pos - n, pos)).toString("latin1");
  };
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) truncated();
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
  /**
   * A persistent id: ("storage", type, key, location, numel) in zip files, with a sixth item in
   * legacy files: null, or (view key, offset, size) for a view of part of the storage.
   */
  const storageRef = (pid: Value): Storage => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) fail("unexpected persistent id");
    const [, type, key, , count, view] = pid as Value[];
    const dtype = STORAGES[(type as Global)?.name?.replace("torch.", "") ?? ""];
    if (!dtype) fail("persistent id without a storage type");
    const legacy = (pid as Value[]).length >= 6; // the legacy reader locates storages by this count: it must be there
    if (legacy && (typeof count !== "number" || count < 0)) fail(`storage ${String(key)} without an element count`);
    const declared = storages.get(String(key));
    if (declared && declared.dtype !== dtype) fail(`storage ${String(key)} is declared as both ${declared.dtype} and ${dtype}`);
    storages.set(String(key), { dtype, numel: typeof count === "number" ? count : -1 });
    if (view === undefined || view === null) return { kind: "storage", key: String(key), dtype };
    const [viewKey, offset, size] = Array.isArray(view) ? (view as Value[]) : [];
    if (typeof offset !== "number" || typeof size !== "number" || offset < 0 || size < 0) fail(`storage ${String(key)}: a view that is not (key, offset, size)`);
    if ((offset as number) + (size as number) > (count as number)) fail(`storage view ${String(viewKey)} reaches past its storage ${String(key)}`);
    views.set(String(viewKey), { root: String(key), offset: offset as number, size: size as number });
    return { kind: "storage", key: String(viewKey), dtype };
  };
  const asNumbers = (v: Value, what: string): number[] =>
    Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : fail(`${what} is not a tuple of integers`);
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); pos += 8; break; // FRAME
      case 0x2e: return { root: pop() as PickleValue, tuples, storages, views, end: pos }; // STOP
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
      case 0x55: stack.push(latin1(u8())); break; // SHORT_BINSTRING (Python 2's str)
      case 0x54: stack.push(latin1(u32())); break; // BINSTRING
      case 0x71: memo.set(u8(), stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1]); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: { const k = u8(); stack.push(memo.has(k) ? memo.get(k)! : fail(`memo ${k} unset`)); break; } // BINGET
      case 0x6a: { const k = u32(); stack.push(memo.has(k) ? memo.get(k)! : fail(`memo ${k} unset`)); break; } // LONG_BINGET
      case 0x63: { const module = line(); stack.push(global(module, line())); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); stack.push(global(String(module), String(name))); break; } // STACK_GLOBAL
      case 0x51: stack.push(storageRef(pop())); break; // BINPERSID
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

export function isTensorRef(v: PickleValue): v is TensorRef {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map) && v.kind === "tensor";
}
