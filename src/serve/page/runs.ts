// Runs view: a run's curves, live while it trains (Server-Sent Events on its metrics.jsonl).
import { $, getJson, observed, showError } from "./api.js";

type Record_ = Record<string, unknown>;
interface ChartLike { data: { labels: unknown[]; datasets: Array<{ data: unknown[] }> }; update(mode?: string): void; destroy(): void }
declare const Chart: new (canvas: HTMLCanvasElement, config: unknown) => ChartLike;

let charts: ChartLike[] = [];
let source: EventSource | null = null;
let records: Record_[] = [];

const line = (id: string, sets: Array<[string, string]>, x: string): ChartLike => new Chart($<HTMLCanvasElement>(id), {
  type: "line",
  data: { labels: [], datasets: sets.map(([label, color]) => ({ label, data: [], borderColor: color, backgroundColor: color, pointRadius: 1, borderWidth: 1.5, spanGaps: true })) },
  options: { animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: x } } } },
});

function draw(): void {
  const steps = records.filter((r) => r.type === "step");
  const epochs = records.filter((r) => r.type === "epoch");
  const fill = (c: ChartLike, rows: Record_[], x: string, keys: string[]) => {
    c.data.labels = rows.map((r) => r[x]);
    keys.forEach((k, i) => (c.data.datasets[i].data = rows.map((r) => r[k] ?? null)));
    c.update("none");
  };
  fill(charts[0], steps, "global_step", ["loss"]);
  fill(charts[1], steps, "global_step", ["accuracy"]);
  fill(charts[2], epochs, "epoch", ["train_loss", "val_loss", "train_accuracy", "val_accuracy"]);
  observed.runRecords = records.length;
  $("run-status").textContent = `${steps.length} steps, ${epochs.length} epochs${source ? " (live)" : ""}`;
}

async function openRun(name: string): Promise<void> {
  source?.close();
  source = null;
  for (const c of charts) c.destroy();
  charts = [
    line("chart-loss", [["loss per step", "#c44"]], "step"),
    line("chart-accuracy", [["batch accuracy per step", "#48c"]], "step"),
    line("chart-epochs", [["train loss", "#c44"], ["val loss", "#e96"], ["train accuracy", "#48c"], ["val accuracy", "#6bd"]], "epoch"),
  ];
  if (!name) return;
  try {
    const run = await getJson<{ metrics: Record_[] }>(`/api/runs/${encodeURIComponent(name)}`);
    records = run.metrics;
    draw();
    source = new EventSource(`/api/runs/${encodeURIComponent(name)}/events`);
    source.addEventListener("reset", (e) => {
      records = JSON.parse((e as MessageEvent).data);
      draw();
    });
    source.addEventListener("metric", (e) => {
      records.push(JSON.parse((e as MessageEvent).data));
      draw();
    });
  } catch (e) {
    showError((e as Error).message);
  }
}

export async function showRuns(): Promise<void> {
  const select = $<HTMLSelectElement>("run-select");
  if (select.dataset.loaded) return;
  select.dataset.loaded = "1";
  try {
    const { runs, dir, exists } = await getJson<{ runs: string[]; dir: string; exists: boolean }>("/api/runs");
    for (const r of runs) select.append(new Option(r, r));
    $("run-status").textContent = exists ? `${runs.length} runs in ${dir}` : `no folder ${dir} (start vitlens serve with --runs DIR)`;
    select.addEventListener("change", () => void openRun(select.value));
  } catch (e) {
    showError((e as Error).message);
  }
}
