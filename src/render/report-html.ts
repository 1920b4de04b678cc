import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ReportCaption, ReportData } from "../report/collect.js";
import { blendHeat, rawToPng } from "./overlay.js";
import { positionSimilarityFigure } from "./posemb-figure.js";
import { xml } from "./text.js";
import { NO_POSITION_EMBEDDING } from "../explain/posemb.js";

const require = createRequire(import.meta.url);

/** The reports' shared look (classification and captioner runs). */
export const REPORT_CSS = `body{font-family:system-ui,DejaVu Sans,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.summary{display:flex;gap:24px;flex-wrap:wrap}.summary div{background:#f4f6f8;padding:10px 14px;border-radius:6px}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}.charts div{height:260px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:4px 7px;text-align:right}th{background:#fafafa}
.options td{text-align:left;font-family:monospace}
.gallery{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;border:2px solid #ccc;border-radius:6px;padding:6px}
figure.right{border-color:#5a5}figure.wrong{border-color:#c44}.pair img{width:112px;height:112px;image-rendering:pixelated}
figcaption{font-size:12px;text-align:center}pre{background:#f7f7f7;padding:10px;font-size:12px;overflow:auto;max-height:420px}
.strips{display:flex;flex-direction:column;gap:14px}figure.strip img{max-width:100%}figure.strip figcaption{text-align:left}
`;

/** Chart.js inlined, so the report opens without a network. */
export function chartJsSource(): string {
  // The package exports only its module entry (in dist/); the UMD bundle sits beside it.
  return readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"), "utf8").replace(/<\/script/gi, "<\\/script");
}

export const dataUri = (png: Buffer) => `data:image/png;base64,${png.toString("base64")}`;
const pct = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? "–" : `${(100 * x).toFixed(2)}%`);

/** Captions with their per-word strips (from `vitlens caption --out DIR`), or nothing. */
export function captionsSection(captions: ReportCaption[] | null, title = "Captions: one cross-attention map per generated word"): string {
  if (!captions) return "";
  const items = captions.map((c) => `<figure class="strip"><img src="${dataUri(c.strip)}" alt="${xml(c.caption)}"><figcaption><b>${xml(c.caption)}</b> — ${xml(c.image)} (score ${c.score.toFixed(3)})</figcaption></figure>`);
  return `<h2>${xml(title)}</h2><div class="strips">${items.join("")}</div>`;
}

/** One self-contained HTML file: config and recipe, curves, confusion matrix, gallery, Fig. 7, architecture. */
export async function reportHtml(d: ReportData): Promise<string> {
  const steps = d.metrics.filter((m) => m.type === "step");
  const epochs = d.metrics.filter((m) => m.type === "epoch");
  const chartData = {
    steps: { x: steps.map((m) => m.global_step), loss: steps.map((m) => m.loss), accuracy: steps.map((m) => m.accuracy), lr: steps.map((m) => m.lr) },
    epochs: {
      x: epochs.map((m) => m.epoch),
      trainLoss: epochs.map((m) => m.train_loss ?? null), valLoss: epochs.map((m) => m.val_loss ?? null),
      trainAcc: epochs.map((m) => m.train_accuracy ?? null), valAcc: epochs.map((m) => m.val_accuracy ?? null),
    },
  };
  const posemb = d.similarity && await positionSimilarityFigure(d.similarity.sim, d.similarity.rows, d.similarity.cols, `Position embedding similarity, ${d.similarity.rows}x${d.similarity.cols} patches`);
  const gallery = await Promise.all(
    d.gallery.map(async (g) => {
      const overlay = await rawToPng(blendHeat(g.image, g.map));
      const plain = await rawToPng(g.image);
      return `<figure class="${g.correct ? "right" : "wrong"}"><div class="pair"><img src="${dataUri(plain)}" alt="input"><img src="${dataUri(overlay)}" alt="${xml(g.map.title)}"></div>` +
        `<figcaption>${g.correct ? "✓" : "✗"} predicted <b>${xml(g.predicted)}</b> ${(100 * g.score).toFixed(1)}%<br>true ${xml(g.label)}</figcaption></figure>`;
    }),
  );
  const ev = d.evaluation;
  const maxCell = ev ? Math.max(1, ...ev.confusion.flat()) : 1;
  const confusion = ev
    ? `<table class="confusion"><tr><th>true \\ predicted</th>${d.classNames.map((c) => `<th>${xml(c)}</th>`).join("")}<th>accuracy</th></tr>` +
      ev.confusion.map((row, i) => `<tr><th>${xml(d.classNames[i])}</th>${row.map((v, j) =>
        `<td style="background:rgba(${i === j ? "40,120,200" : "220,60,40"},${(v / maxCell).toFixed(3)})">${v}</td>`).join("")}<td>${pct(ev.perClass[i].accuracy)}</td></tr>`).join("") + "</table>"
    : "<p>No validation data in this run.</p>";
  const options = Object.entries(d.options).map(([k, v]) => `<tr><th>${xml(k)}</th><td>${xml(JSON.stringify(v))}</td></tr>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vitlens report — ${xml(d.run)}</title>
<style>
${REPORT_CSS}</style></head><body>
<h1>vitlens run <code>${xml(d.run)}</code></h1>
<div class="summary">
<div>validation accuracy<br><b id="val-accuracy">${pct(ev?.accuracy)}</b></div>
<div>top-5<br><b>${pct(ev?.top5)}</b></div>
<div>images evaluated<br><b>${ev?.samples ?? 0}</b></div>
<div>parameters<br><b>${d.numParameters.toLocaleString("en-US")}</b></div>
</div>
<p><b>Recipe:</b> ${xml(d.recipe)}<br><b>Model:</b> ${xml(d.modelSource)}<br><b>Data:</b> ${xml(d.dataDescription)}</p>
<h2>Training curves</h2>
<div class="charts"><div><canvas id="chart-loss"></canvas></div><div><canvas id="chart-accuracy"></canvas></div>
<div><canvas id="chart-lr"></canvas></div><div><canvas id="chart-epochs"></canvas></div></div>
<h2>Confusion matrix (validation)</h2>${confusion}
<h2>Validation gallery: input and attention rollout</h2><div class="gallery">${gallery.join("")}</div>
${captionsSection(d.captions)}
<h2>Position embeddings</h2>${posemb ? `<img id="posemb" src="${dataUri(posemb)}" alt="position embedding similarity">` : `<p>${xml(NO_POSITION_EMBEDDING)}</p>`}
<h2>Architecture</h2><pre>${xml(d.architecture)}</pre>
<h2>Options</h2><table class="options">${options}</table>
<script>${chartJsSource()}</script>
<script id="report-data" type="application/json">${JSON.stringify(chartData).replace(/</g, "\\u003c")}</script>
<script>
const data = JSON.parse(document.getElementById("report-data").textContent);
const line = (id, labels, sets, y) => new Chart(document.getElementById(id), {
  type: "line", data: { labels, datasets: sets.map(([label, values, color]) => ({ label, data: values, borderColor: color, backgroundColor: color, pointRadius: labels.length > 60 ? 0 : 2, borderWidth: 1.5, spanGaps: true })) },
  options: { animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: y.x } }, y: { title: { display: true, text: y.y } } } },
});
window.vitlensCharts = [
  line("chart-loss", data.steps.x, [["loss per step", data.steps.loss, "#c44"]], { x: "step", y: "loss" }),
  line("chart-accuracy", data.steps.x, [["batch accuracy per step", data.steps.accuracy, "#48c"]], { x: "step", y: "accuracy" }),
  line("chart-lr", data.steps.x, [["learning rate", data.steps.lr, "#595"]], { x: "step", y: "lr" }),
  line("chart-epochs", data.epochs.x, [["train loss", data.epochs.trainLoss, "#c44"], ["val loss", data.epochs.valLoss, "#e96"], ["train accuracy", data.epochs.trainAcc, "#48c"], ["val accuracy", data.epochs.valAcc, "#6bd"]], { x: "epoch", y: "value" }),
];
</script>
</body></html>
`;
}
