// Runs, like TensorBoard's scalars: runs found as they appear (Server-Sent Events on the runs
// folder), several on one chart, smoothing, log scale, step / epoch / wall-time axis, loss,
// accuracy, learning rate and gradient norm; live or finished from the run's state; CSV download;
// the focused run's confusion matrix and gallery (vitlens report), again when a new model is saved.
import type { Chart as ChartType, ChartDataset } from "chart.js";
import { METRIC_EVENT, paths, RESET_EVENT, RUNS_EVENT, type MetricRecord, type RunReportAnswer, type RunsAnswer, type RunSummary } from "../contract.js";
import { getJson } from "./api.js";
import { $, el, setValue } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { show } from "./observe.js";
import { CHARTS, points, smooth } from "./runs-series.js";
import { Slot } from "./slot.js";
import { store, type PageState, type XAxis } from "./store.js";

declare const Chart: typeof ChartType;

const COLORS = ["#d1495b", "#2e86ab", "#66a182", "#edae49", "#8d6a9f", "#00798c", "#c06014", "#525252"];
let list: RunsAnswer | null = null;
let listSource: EventSource | null = null;
let autoChosen = false;
const records = new Map<string, MetricRecord[]>();
const streams = new Map<string, EventSource>();
const charts = new Map<string, ChartType>();
const reportSlot = new Slot("runs.report", () => $("run-report"));

const summaryOf = (name: string): RunSummary | undefined => list?.runs.find((r) => r.name === name);

/** Follows a run's metrics.jsonl while it is selected. */
function follow(name: string): void {
  if (streams.has(name)) return;
  const src = new EventSource(paths.runEvents(name));
  src.addEventListener(RESET_EVENT, (e) => {
    records.set(name, JSON.parse((e as MessageEvent).data));
    scheduleDraw();
  });
  src.addEventListener(METRIC_EVENT, (e) => {
    records.get(name)?.push(JSON.parse((e as MessageEvent).data));
    scheduleDraw();
  });
  streams.set(name, src);
}

function unfollow(keep: string[]): void {
  for (const [name, src] of streams) {
    if (keep.includes(name)) continue;
    src.close();
    streams.delete(name);
    records.delete(name);
  }
}

let drawQueued = false;
function scheduleDraw(): void {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    drawCharts(store.state);
  });
}

const axisTitle: Record<XAxis, string> = { step: "step", epoch: "epoch", time: "minutes since the run started" };

function drawCharts(s: PageState): void {
  const chosen = s.runs.filter((r) => records.has(r));
  $("charts").hidden = chosen.length === 0;
  $("charts-note").textContent = s.runs.length === 0 ? "tick a run to plot it" : chosen.length === 0 ? "loading…" : "";
  for (const def of CHARTS) {
    const datasets: Array<ChartDataset<"scatter">> = [];
    chosen.forEach((run) => {
      const color = COLORS[s.runs.indexOf(run) % COLORS.length];
      for (const sd of def.series) {
        const raw = points(records.get(run)!, sd, s.x);
        if (!raw.length) continue;
        const label = `${run}: ${sd.label}`;
        const dash = sd.type === "epoch" ? [6, 3] : [];
        const smoothed = sd.smooth ? smooth(raw, s.smooth) : raw;
        if (smoothed !== raw) datasets.push({ label: `${label} (raw)`, data: raw, borderColor: `${color}40`, backgroundColor: `${color}40`, showLine: true, pointRadius: 0, borderWidth: 1 });
        datasets.push({ label, data: smoothed, borderColor: color, backgroundColor: color, showLine: true, pointRadius: sd.type === "epoch" ? 3 : 0, borderWidth: 1.8, borderDash: dash });
      }
    });
    const box = $(`chart-${def.id}-box`);
    box.hidden = datasets.length === 0;
    let chart = charts.get(def.id);
    if (!chart) {
      chart = new Chart($<HTMLCanvasElement>(`chart-${def.id}`), {
        type: "scatter",
        data: { datasets: [] },
        options: {
          animation: false, maintainAspectRatio: false, parsing: false,
          plugins: { title: { display: true, text: def.title }, legend: { labels: { boxWidth: 12, filter: (item) => !item.text.endsWith("(raw)") } } },
          scales: { x: { type: "linear", title: { display: true, text: "" } }, y: { type: "linear" } },
        },
      });
      charts.set(def.id, chart);
    }
    chart.data.datasets = datasets;
    const ticks = { callback: (v: string | number) => (typeof v === "number" ? Number(v.toPrecision(3)).toString() : v) };
    chart.options.scales = { x: { type: "linear", title: { display: true, text: axisTitle[s.x] } }, y: { type: s.log ? "logarithmic" : "linear", ticks } };
    chart.update("none");
    box.dataset.points = String(datasets.reduce((n, d) => n + d.data.length, 0));
  }
  for (const run of chosen) show(`runs.${run}`, run, { records: records.get(run)!.length });
}

const badge = (r: RunSummary) => el("span", { class: `badge ${r.status}`, title: r.statusWhy }, r.status);

function drawList(s: PageState): void {
  const table = $("runs-list");
  if (!list) return;
  $("runs-dir").textContent = list.exists ? `${list.runs.length} run${list.runs.length === 1 ? "" : "s"} in ${list.dir} (new ones appear here)` : `no folder ${list.dir}: start vitlens serve with --runs DIR`;
  table.replaceChildren(...list.runs.map((r) => {
    const tick = el("input", { type: "checkbox", "aria-label": `plot ${r.name}` });
    tick.checked = s.runs.includes(r.name);
    tick.addEventListener("change", () => {
      const now = store.state.runs.filter((n) => n !== r.name);
      store.set({ runs: tick.checked ? [...now, r.name] : now, focus: tick.checked ? r.name : store.state.focus === r.name ? (now[0] ?? null) : store.state.focus });
    });
    const name = el("button", { type: "button", class: `run-name${s.focus === r.name ? " on" : ""}`, title: "show its evaluation below" }, r.name);
    name.addEventListener("click", () => store.set({ focus: r.name, runs: s.runs.includes(r.name) ? s.runs : [...s.runs, r.name] }));
    const color = s.runs.includes(r.name) ? COLORS[s.runs.indexOf(r.name) % COLORS.length] : "transparent";
    const epochs = `${r.epochsDone}${r.epochsTotal !== null ? ` of ${r.epochsTotal}` : ""} epoch${r.epochsTotal === 1 ? "" : "s"}`;
    return el("tr", { "data-run": r.name }, el("td", {}, tick), el("td", {}, el("span", { class: "swatch", style: `background:${color}` })), el("td", {}, name),
      el("td", {}, r.kind ?? ""), el("td", {}, badge(r)), el("td", {}, epochs), el("td", {}, `${r.steps} steps`),
      el("td", {}, el("a", { href: paths.runCsv(r.name), download: `${r.name}.metrics.csv` }, "CSV")));
  }));
  show("runs.list", JSON.stringify(list.runs), list.runs.map((r) => ({ name: r.name, status: r.status, epochsDone: r.epochsDone, epochsTotal: r.epochsTotal, steps: r.steps })));
}

const cell = (tag: "th" | "td", text: string, style = "") => el(tag, style ? { style } : {}, text);

async function drawReport(s: PageState): Promise<void> {
  const box = $("run-report");
  const run = s.focus ? summaryOf(s.focus) : undefined;
  if (!run) {
    reportSlot.cancel();
    box.replaceChildren();
    $("report-title").textContent = "";
    return;
  }
  $("report-title").textContent = `${run.name}: validation of its ${run.model?.startsWith("best") ? "best" : "last"} model, as in vitlens report`;
  if (!run.model) {
    reportSlot.key = null;
    $("report-title").textContent = `${run.name}: validation`;
    box.replaceChildren(el("p", { class: "note" }, run.status === "live"
      ? `${run.name} has no best/ or last/ model yet: its evaluation appears here when its first epoch ends`
      : `${run.name} has no best/ or last/ model: nothing to evaluate`));
    return;
  }
  const key = `${run.name}@${run.model}`;
  if (reportSlot.key === key) return;
  box.replaceChildren(el("p", { class: "note" }, "evaluating the run's model on its validation data…"));
  try {
    const r = await reportSlot.load(key, (signal) => getJson<RunReportAnswer>(paths.runReport(run.name), signal));
    if (!r) return;
    const ev = r.evaluation;
    if (!ev) {
      box.replaceChildren(el("p", { class: "note" }, "no validation data in this run"));
      return;
    }
    const most = Math.max(1, ...ev.confusion.flat());
    const table = el("table", { class: "confusion" }, el("tr", {}, cell("th", "true \\ predicted"), ...r.classNames.map((c) => cell("th", c)), cell("th", "accuracy")),
      ...ev.confusion.map((row, i) => el("tr", {}, cell("th", r.classNames[i]), ...row.map((v, j) => cell("td", String(v), `background:rgba(${i === j ? "40,120,200" : "220,60,40"},${(v / most).toFixed(3)})`)),
        cell("td", `${(100 * ev.perClass[i].accuracy).toFixed(1)}%`))));
    const gallery = el("div", { class: "gallery" }, ...r.gallery.map((g) => el("figure", { class: g.correct ? "right" : "wrong" },
      el("img", { src: g.input, alt: g.name }), el("img", { src: g.overlay, alt: `${g.name}: ${g.map}` }),
      el("figcaption", {}, `${g.correct ? "✓" : "✗"} ${g.predicted} ${(100 * g.score).toFixed(1)}% (true ${g.label})`))));
    box.replaceChildren(el("p", {}, `validation accuracy ${(100 * ev.accuracy).toFixed(2)}%, top-5 ${(100 * ev.top5).toFixed(2)}%, ${ev.samples} images`), table, gallery);
    show("runs.report", key, { run: run.name, samples: ev.samples });
  } catch (e) {
    reportSlot.key = null;
    box.replaceChildren(el("p", { class: "note" }, (e as Error).message));
  }
}

/** The runs list, live: the server sends it again whenever a run appears or changes. */
function listen(): void {
  if (listSource) return;
  listSource = new EventSource(paths.runsEvents);
  listSource.addEventListener(RUNS_EVENT, (e) => {
    list = JSON.parse((e as MessageEvent).data);
    clearError("runs");
    renderRuns(store.state);
  });
  listSource.onerror = () => {
    if (listSource?.readyState === EventSource.CLOSED) showError("runs", new Error("lost the server's runs stream: reload the page"));
  };
}

export function renderRuns(s: PageState): void {
  setValue("x-axis", s.x);
  setValue("smooth", String(s.smooth));
  $("smooth-value").textContent = s.smooth.toFixed(2);
  $<HTMLInputElement>("log").checked = s.log;
  if (s.view !== "runs") return;
  listen();
  // The first visit without a choice plots the most recently written run.
  if (!autoChosen && list) {
    autoChosen = true;
    if (!s.runs.length && list.runs.length) {
      const newest = [...list.runs].sort((a, b) => (b.updated ?? "").localeCompare(a.updated ?? ""))[0];
      return store.set({ runs: [newest.name], focus: newest.name });
    }
  }
  const known = list ? s.runs.filter((r) => summaryOf(r)) : s.runs;
  for (const r of known) follow(r);
  unfollow(known);
  drawList(s);
  drawCharts(s);
  void drawReport(s);
}

export function setupRuns(): void {
  for (const [v, t] of [["step", "step"], ["epoch", "epoch"], ["time", "wall time"]]) $("x-axis").append(new Option(t, v));
  $("x-axis").addEventListener("change", () => store.set({ x: $<HTMLSelectElement>("x-axis").value as XAxis }));
  $("smooth").addEventListener("input", () => store.set({ smooth: Number($<HTMLInputElement>("smooth").value) }));
  $("log").addEventListener("change", () => store.set({ log: $<HTMLInputElement>("log").checked }));
  // getJson keeps the first answer quick when the stream is slow to open.
  void getJson<RunsAnswer>(paths.runs).then((a) => {
    list ??= a;
    if (store.state.view === "runs") renderRuns(store.state);
  }).catch((e) => showError("runs", e));
}
