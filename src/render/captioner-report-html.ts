import type { CaptionerReportData } from "../report/collect-captioner.js";
import { captionsSection, chartJsSource, REPORT_CSS } from "./report-html.js";
import { xml } from "./text.js";

const fixed = (x: unknown, digits: number, scale = 1) => (typeof x === "number" ? (scale * x).toFixed(digits) : "–");

/** A captioner run as one self-contained HTML file: held-out scores, curves, per-word strips, decoder, options. */
export function captionerReportHtml(d: CaptionerReportData): string {
  const epochs = d.metrics.filter((m) => m.type === "epoch");
  const last = epochs[epochs.length - 1] ?? {};
  const series = (key: string) => epochs.map((m) => m[key] ?? null);
  const chartData = {
    x: epochs.map((m) => m.epoch),
    trainLoss: series("train_loss"), valLoss: series("val_loss"), trainAcc: series("train_token_accuracy"), valAcc: series("val_token_accuracy"),
    bleu: series("val_bleu4"), exact: series("val_exact_match"), grounding: series("val_grounding"),
  };
  const table = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `<tr><th>${xml(k)}</th><td>${xml(JSON.stringify(v))}</td></tr>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vitlens captioner — ${xml(d.run)}</title>
<style>${REPORT_CSS}</style></head><body>
<h1>vitlens captioner run <code>${xml(d.run)}</code></h1>
<div class="summary">
<div>held-out BLEU-4, epoch ${xml(String(last.epoch ?? "–"))}<br><b id="val-bleu4">${fixed(last.val_bleu4, 3)}</b></div>
<div>exact match<br><b>${fixed(last.val_exact_match, 1, 100)}%</b></div>
<div>grounding<br><b>${fixed(last.val_grounding, 1, 100)}%</b></div>
<div>token accuracy<br><b>${fixed(last.val_token_accuracy, 1, 100)}%</b></div>
<div>parameters<br><b>${d.numParameters.toLocaleString("en-US")}</b></div>
</div>
<p><b>Encoder:</b> ${xml(d.encoderSource)}<br><b>Data:</b> ${xml(d.dataDescription)}<br><b>Vocabulary:</b> ${d.vocabulary.length} tokens: ${xml(d.vocabulary.join(" "))}</p>
<h2>Training curves (per epoch, held-out scores from greedy captions)</h2>
<div class="charts"><div><canvas id="chart-loss"></canvas></div><div><canvas id="chart-scores"></canvas></div></div>
${captionsSection(d.captions, `Held-out images: caption (beam 3) and one cross-attention map per word (decoder layer ${d.mapLayer}, mean of heads)`)}
<p>Layer ${d.mapLayer}: ${xml(d.mapLayerReason)}.</p>
<h2>Decoder</h2><table class="options">${table(d.decoder)}</table>
<h2>Options</h2><table class="options">${table(d.options)}</table>
<script>${chartJsSource()}</script>
<script id="report-data" type="application/json">${JSON.stringify(chartData).replace(/</g, "\\u003c")}</script>
<script>
const data = JSON.parse(document.getElementById("report-data").textContent);
const line = (id, sets, y) => new Chart(document.getElementById(id), {
  type: "line", data: { labels: data.x, datasets: sets.map(([label, values, color]) => ({ label, data: values, borderColor: color, backgroundColor: color, pointRadius: 2, borderWidth: 1.5, spanGaps: true })) },
  options: { animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: "epoch" } }, y: { title: { display: true, text: y } } } },
});
window.vitlensCharts = [
  line("chart-loss", [["train loss", data.trainLoss, "#c44"], ["held-out loss", data.valLoss, "#e96"]], "token cross-entropy"),
  line("chart-scores", [["BLEU-4", data.bleu, "#48c"], ["exact match", data.exact, "#6bd"], ["grounding", data.grounding, "#595"], ["token accuracy", data.valAcc, "#999"]], "held-out score"),
];
</script>
</body></html>
`;
}
