import type { Backend, BatchProduct, Conv2d, ConvNet, ConvStep, Product } from "./backend.js";
import { convNetFlops, convOutputSize } from "./conv-net.js";

/*
 * `vitlens bench --profile`: every backend call timed and grouped by operation and shape, so the
 * profile says which products are slow and how much of a step runs between them. Wall time per
 * call (the native calls are synchronous), FLOPs for the products (2 per multiply-add).
 */

export interface ProfileRow {
  op: string;
  shape: string;
  calls: number;
  seconds: number;
  flops: number; // per call; 0 where not counted
  bytes: number; // a product's operands and result per call (what a memory-bound product must move); 0 where not counted
}

type AnyFn = (...args: unknown[]) => unknown;

/** The shape a call is grouped by, and its FLOPs. */
function describe(op: string, args: unknown[]): { shape: string; flops: number; bytes: number } {
  if (op === "matmul") {
    const p = args[3] as Product;
    const flags = [p.transA ? "A^T" : "", p.transB ? "B^T" : "", p.bias ? "+bias" : "", p.gelu ? "+gelu" : "", p.relu ? "+relu" : "", p.accumulate ? "+=C" : "", p.bf16 ? "bf16" : ""].filter(Boolean).join(" ");
    return { shape: `${p.m}x${p.k} @ ${p.k}x${p.n}${flags ? ` ${flags}` : ""}`, flops: 2 * p.m * p.n * p.k, bytes: productBytes(p.m, p.k, p.n) };
  }
  if (op === "batchMatmul") {
    const p = args[3] as BatchProduct;
    const flags = [p.transA ? "A^T" : "", p.transB ? "B^T" : "", p.accumulate ? "+=C" : "", p.bf16 ? "bf16" : ""].filter(Boolean).join(" ");
    return { shape: `${p.batch} x ${p.m}x${p.k} @ ${p.k}x${p.n}${flags ? ` ${flags}` : ""}`, flops: 2 * p.batch * p.m * p.n * p.k, bytes: p.batch * productBytes(p.m, p.k, p.n) };
  }
  if (op === "conv2d") {
    const p = args[3] as Conv2d;
    const [s, pad, d] = [p.stride ?? 1, p.padding ?? 0, p.dilation ?? 1];
    const oh = convOutputSize(p.height, p.kernel, s, pad, d);
    const ow = convOutputSize(p.width, p.kernel, s, pad, d);
    return {
      shape: `${p.batch}x${p.inChannels}x${p.height}x${p.width} -> ${p.outChannels} k${p.kernel} s${s} d${d}`,
      flops: 2 * p.batch * p.outChannels * oh * ow * p.inChannels * p.kernel * p.kernel, bytes: 0,
    };
  }
  // Other kernels: their size arguments (the numbers among the arguments, options objects spelled out).
  const sizes = args.map((a) => (typeof a === "number" ? String(a) : a && typeof a === "object" && !ArrayBuffer.isView(a) ? `n=${(a as { n?: number }).n}` : null));
  return { shape: sizes.filter((x) => x !== null).join(" "), flops: 0, bytes: 0 };
}

/** Bytes an (m x k) @ (k x n) product reads and writes in float32. */
const productBytes = (m: number, k: number, n: number) => 4 * (m * k + k * n + m * n);

/** A prepared network's forward calls timed as one row per input shape, FLOPs of its convolutions. */
function profileConvNet(net: ConvNet, steps: ConvStep[], record: (op: string, shape: string, flops: number, bytes: number, seconds: number) => void): ConvNet {
  return {
    forward(x, out, b, h, w) {
      const t0 = process.hrtime.bigint();
      net.forward(x, out, b, h, w);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const inChannels = steps[0].kind === "conv" ? steps[0].inChannels : 0;
      record("convNet.forward", `${steps.length} steps, ${b}x${inChannels}x${h}x${w}`, convNetFlops(steps, b, inChannels, h, w), 0, seconds);
    },
  };
}

export interface Profiler {
  backend: Backend;
  rows(): ProfileRow[];
  reset(): void;
}

/** `be` with every function timed; rows() gives the totals since the last reset(). */
export function profileBackend(be: Backend): Profiler {
  const table = new Map<string, ProfileRow>();
  const record = (op: string, shape: string, flops: number, bytes: number, seconds: number) => {
    const id = `${op}|${shape}`;
    const row = table.get(id) ?? { op, shape, calls: 0, seconds: 0, flops, bytes };
    row.calls++;
    row.seconds += seconds;
    table.set(id, row);
  };
  const wrapped: Record<string, unknown> = { name: be.name };
  for (const key of Object.keys(be) as Array<keyof Backend>) {
    const fn = be[key];
    if (typeof fn !== "function") {
      wrapped[key] = fn;
      continue;
    }
    wrapped[key] = (...args: unknown[]) => {
      const t0 = process.hrtime.bigint();
      const result = (fn as AnyFn).apply(be, args);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const { shape, flops, bytes } = describe(key, args);
      record(key, shape, flops, bytes, seconds);
      return key === "convNet" ? profileConvNet(result as ConvNet, args[0] as ConvStep[], record) : result;
    };
  }
  return {
    backend: wrapped as unknown as Backend,
    rows: () => [...table.values()].sort((a, b) => b.seconds - a.seconds),
    reset: () => table.clear(),
  };
}
