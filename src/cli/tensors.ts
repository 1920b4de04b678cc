import { Command } from "commander";
import { listCheckpoint, type JsonValue, type ListedEntry, type TensorListing } from "../checkpoint/list-tensors.js";

export function tensorsCommand(): Command {
  return new Command("tensors")
    .description("list a checkpoint's tensors (name, dtype, shape, min/max/mean), reading one tensor at a time")
    .argument("<file>", ".safetensors, model.safetensors.index.json (and its shards), .pth/.pt/.bin/.ckpt, .npz, or a model directory")
    .option("--no-stats", "skip min/max/mean: no tensor data is read (except to inflate np.savez_compressed members)")
    .option("--json", "one JSON object per line: {name, dtype, shape, min, max, mean}; non-tensor entries as {name, type, value}")
    .option("--heads <n>", "ignored here (accepted so every command takes it)")
    .action(async (file: string, opts: { stats: boolean; json?: boolean }) => {
      const entries = listCheckpoint(file);
      const width = Math.max(...entries.map((e) => e.name.length));
      // Piped into `head`, stdout closes early: stop reading tensors then, quietly.
      let closed = false;
      process.stdout.on("error", () => (closed = true));
      for (const entry of entries) {
        // One tensor is read, reduced and dropped before the next.
        const listing = entry.kind === "tensor" ? entry.read(opts.stats) : null;
        process.stdout.write((opts.json ? jsonLine(entry, listing) : textLine(entry, listing, width)) + "\n");
        await new Promise((resolve) => setImmediate(resolve)); // lets a write error arrive
        if (closed) break;
      }
    });
}

function jsonLine(entry: ListedEntry, t: TensorListing | null): string {
  if (entry.kind === "value") return JSON.stringify({ name: entry.name, type: entry.type, value: entry.value });
  const stats = t!.stats === undefined ? {} : { min: jsonNumber(t!.stats?.min), max: jsonNumber(t!.stats?.max), mean: jsonNumber(t!.stats?.mean) };
  return JSON.stringify({ name: entry.name, dtype: t!.dtype, shape: t!.shape, ...stats });
}

/** JSON has no NaN or infinities: those are written as strings, a missing statistic as null. */
function jsonNumber(x: number | undefined): number | string | null {
  if (x === undefined) return null;
  return Number.isFinite(x) ? x : String(x);
}

function textLine(entry: ListedEntry, t: TensorListing | null, width: number): string {
  const name = entry.name.padEnd(width);
  if (entry.kind === "value") return `${name}  ${entry.type.padEnd(5)}  ${pythonRepr(entry.value, entry.type)}`;
  const head = `${name}  ${t!.dtype.padEnd(5)}  ${`[${t!.shape.join(", ")}]`.padEnd(14)}`;
  if (t!.stats === undefined) return head.trimEnd();
  if (t!.stats === null) return `${head}  ${t!.shape.includes(0) ? "(empty)" : "(no statistics for this dtype)"}`;
  const { min, max, mean } = t!.stats;
  return `${head}  min ${short(min).padEnd(11)}  max ${short(max).padEnd(11)}  mean ${short(mean)}`;
}

/** Six significant digits, integers as integers. */
function short(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x);
}

/** A value as Python prints it, cut to one short line. */
function pythonRepr(v: JsonValue, type: string): string {
  const repr = (x: JsonValue): string => {
    if (x === null) return "None";
    if (typeof x === "boolean") return x ? "True" : "False";
    if (typeof x === "number") return String(x);
    if (typeof x === "string") return JSON.stringify(x);
    if (Array.isArray(x)) return `[${x.map(repr).join(", ")}]`;
    return `{${Object.entries(x).map(([k, y]) => `${JSON.stringify(k)}: ${repr(y)}`).join(", ")}}`;
  };
  let text = repr(v);
  if (type === "float" && typeof v === "number" && Number.isInteger(v)) text += ".0";
  if (type === "tuple") text = `(${text.slice(1, -1)}${Array.isArray(v) && v.length === 1 ? "," : ""})`;
  if (text.length > 100) text = `${text.slice(0, 90)}... (${Array.isArray(v) ? `${v.length} items` : `${text.length} characters`})`;
  return text;
}
