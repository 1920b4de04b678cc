// The runs view's numbers: which metrics each chart plots, where a record sits on the chosen x
// axis, and TensorBoard's smoothing. Pure functions over metrics.jsonl records.
import type { MetricRecord } from "../contract.js";
import type { XAxis } from "./store.js";

export interface SeriesDef {
  /** The record field. */
  key: string;
  /** Per-step or per-epoch records. */
  type: "step" | "epoch";
  label: string;
  /** Smoothed (noisy per-step values); a schedule (lr) is drawn as it is. */
  smooth?: boolean;
}
export interface ChartDef {
  id: string;
  title: string;
  series: SeriesDef[];
}

export const CHARTS: ChartDef[] = [
  { id: "loss", title: "loss", series: [{ key: "loss", type: "step", label: "train loss (step)", smooth: true }, { key: "train_loss", type: "epoch", label: "train loss (epoch)" }, { key: "val_loss", type: "epoch", label: "val loss" }] },
  {
    id: "accuracy", title: "accuracy", series: [
      { key: "accuracy", type: "step", label: "batch accuracy", smooth: true }, { key: "train_accuracy", type: "epoch", label: "train accuracy" }, { key: "val_accuracy", type: "epoch", label: "val accuracy" },
      { key: "train_token_accuracy", type: "epoch", label: "train token accuracy" }, { key: "val_token_accuracy", type: "epoch", label: "val token accuracy" }, { key: "val_bleu4", type: "epoch", label: "val BLEU-4" },
    ],
  },
  { id: "lr", title: "learning rate", series: [{ key: "lr", type: "step", label: "lr (step)" }, { key: "lr", type: "epoch", label: "lr (epoch)" }] },
  { id: "grad", title: "gradient norm", series: [{ key: "grad_norm", type: "step", label: "grad norm", smooth: true }] },
];

export interface Point {
  x: number;
  y: number;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * x of each record on the chosen axis. step: a step's global_step, an epoch's last step (its
 * epoch number when the run logs no steps); epoch: epochs, a step at its fraction of its epoch;
 * time: minutes since the run's first record.
 */
export function xOf(records: MetricRecord[], axis: XAxis): (r: MetricRecord) => number | null {
  const steps = records.filter((r) => r.type === "step");
  if (axis === "time") {
    const times = records.map((r) => Date.parse(String(r.time ?? ""))).filter(Number.isFinite);
    const t0 = times.length ? Math.min(...times) : 0;
    return (r) => {
      const t = Date.parse(String(r.time ?? ""));
      return Number.isFinite(t) ? (t - t0) / 60000 : null;
    };
  }
  const lastStep = new Map<number, number>();
  const perEpoch = new Map<number, number>();
  for (const r of steps) {
    const [e, g, s] = [num(r.epoch), num(r.global_step), num(r.step)];
    if (e === null) continue;
    if (g !== null) lastStep.set(e, Math.max(lastStep.get(e) ?? 0, g));
    if (s !== null) perEpoch.set(e, Math.max(perEpoch.get(e) ?? 0, s));
  }
  const stepsPerEpoch = Math.max(1, ...perEpoch.values());
  if (axis === "step") {
    return (r) => (r.type === "step" ? num(r.global_step) : steps.length ? (num(r.epoch) === 0 ? 0 : (lastStep.get(num(r.epoch) ?? -1) ?? null)) : num(r.epoch));
  }
  return (r) => {
    if (r.type === "epoch") return num(r.epoch);
    const [e, s] = [num(r.epoch), num(r.step)];
    return e !== null && s !== null ? e - 1 + s / (perEpoch.get(e) ?? stepsPerEpoch) : null;
  };
}

/** One series of one run: its points in x order. */
export function points(records: MetricRecord[], def: SeriesDef, axis: XAxis): Point[] {
  const x = xOf(records, axis);
  const out: Point[] = [];
  for (const r of records) {
    if (r.type !== def.type) continue;
    const [px, py] = [x(r), num(r[def.key])];
    if (px !== null && py !== null) out.push({ x: px, y: py });
  }
  return out.sort((a, b) => a.x - b.x);
}

/** TensorBoard's smoothing: an exponential moving average, debiased (the first points are not pulled to 0). */
export function smooth(ps: Point[], weight: number): Point[] {
  if (weight <= 0) return ps;
  let last = 0;
  let n = 0;
  return ps.map((p) => {
    last = last * weight + (1 - weight) * p.y;
    n++;
    return { x: p.x, y: last / (1 - weight ** n) };
  });
}
