// Runs view: a run's curves, live while it trains (Server-Sent Events on its metrics.jsonl).
import { $, getJson, observed, showError } from "./api.js";

interface RunReport {
  classNames: string[];
  evaluation: { samples: number; accuracy: number; top5: number; confusion: number[][]; perClass: Array<{ accuracy: number }> } | null;
  gallery: Array<{ name: string; label: string; predicted: string; score: number; correct: boolean; input: string; overlay: string }>;
}

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

const cell = (tag: string, text: string, style = "") => {
  const el = document.createElement(tag);
  el.textContent = text;
  if (style) el.setAttribute("style", style);
  return el;
};

/** The confusion matrix and the gallery of right and wrong validation images with their rollout maps. */
async function showReport(name: string): Promise<void> {
  const box = $("run-report");
  box.textContent = "evaluating the run's model on its validation data…";
  try {
    const r = await getJson<RunReport>(`/api/runs/${encodeURIComponent(name)}/report`);
    box.replaceChildren();
    const ev = r.evaluation;
    if (!ev) {
      box.textContent = "no validation data in this run";
      return;
    }
    box.append(cell("p", `validation accuracy ${(100 * ev.accuracy).toFixed(2)}%, top-5 ${(100 * ev.top5).toFixed(2)}%, ${ev.samples} images`));
    const table = document.createElement("table");
    table.className = "confusion";
    const head = document.createElement("tr");
    head.append(cell("th", "true \\ predicted"), ...r.classNames.map((c) => cell("th", c)), cell("th", "accuracy"));
    table.append(head);
    const most = Math.max(1, ...ev.confusion.flat());
    ev.confusion.forEach((row, i) => {
      const tr = document.createElement("tr");
      tr.append(cell("th", r.classNames[i]), ...row.map((v, j) => cell("td", String(v), `background:rgba(${i === j ? "40,120,200" : "220,60,40"},${(v / most).toFixed(3)})`)),
        cell("td", `${(100 * ev.perClass[i].accuracy).toFixed(1)}%`));
      table.append(tr);
    });
    const gallery = document.createElement("div");
    gallery.className = "gallery";
    for (const g of r.gallery) {
      const fig = document.createElement("figure");
      fig.className = g.correct ? "right" : "wrong";
      for (const src of [g.input, g.overlay]) {
        const img = document.createElement("img");
        img.src = src;
        fig.append(img);
      }
      fig.append(cell("figcaption", `${g.correct ? "✓" : "✗"} ${g.predicted} ${(100 * g.score).toFixed(1)}% (true ${g.label})`));
      gallery.append(fig);
    }
    box.append(table, gallery);
  } catch (e) {
    box.textContent = (e as Error).message;
  }
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
    void showReport(name);
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
