/** The explorer's page: markup and style; its code is page/*.ts, compiled beside this file and served under /app/. */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vitlens explorer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,DejaVu Sans,sans-serif;margin:0;color:#222;background:#fafbfc}
header{display:flex;align-items:center;gap:24px;padding:10px 20px;background:#1f2933;color:#fff}
header h1{font-size:19px;margin:0}nav button{background:none;border:0;color:#cbd2d9;font-size:15px;padding:6px 10px;cursor:pointer}
nav button.active{color:#fff;border-bottom:2px solid #f0b429}
main{padding:14px 20px;max-width:1240px}
#picker{display:flex;gap:14px;align-items:center;flex-wrap:wrap;margin-bottom:10px}
#drop{border:2px dashed #9aa5b1;border-radius:8px;padding:10px 16px;background:#fff}#drop.over{border-color:#f0b429;background:#fffbea}
#error{background:#fde8e8;color:#9b1c1c;border:1px solid #f8b4b4;border-radius:6px;padding:8px 12px;margin:8px 0}
.row{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
canvas.main{width:336px;height:336px;border:1px solid #ccc;background:#000;cursor:crosshair}
.controls{display:flex;flex-direction:column;gap:9px;min-width:300px}
.controls label{display:flex;gap:8px;align-items:center}
#top5{margin:0;padding-left:22px}#top5 li{font-family:monospace}
.colorbar{display:flex;gap:6px;align-items:center;font-size:12px;margin-top:4px}
.strip{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}.strip figure{margin:0;font-size:11px;text-align:center}
.strip canvas{width:96px;height:96px;border:1px solid #ccc}
#posemb-grid{display:grid;gap:2px;background:#fff;padding:4px;border:1px solid #ddd}
#posemb-grid canvas{width:100%;image-rendering:pixelated;cursor:pointer}
#posemb-grid canvas.on{outline:2px solid #f0b429}
.chips{display:flex;gap:6px;flex-wrap:wrap;margin:10px 0}
.chip{border:1px solid #9aa5b1;border-radius:14px;padding:4px 10px;background:#fff;cursor:pointer;font-size:15px}
.chip small{color:#777;margin-left:4px}.chip.on{background:#f0b429;border-color:#c99a2e}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}.charts div{height:250px;background:#fff;border:1px solid #eee}
.note{color:#a05a00}
table.confusion{border-collapse:collapse;font-size:12px}table.confusion td,table.confusion th{border:1px solid #ddd;padding:3px 6px;text-align:right}
.gallery{display:flex;flex-wrap:wrap;gap:10px}.gallery figure{margin:0;border:2px solid #ccc;border-radius:6px;padding:4px;font-size:11px;text-align:center}
.gallery figure.right{border-color:#5a5}.gallery figure.wrong{border-color:#c44}.gallery img{width:96px;height:96px;image-rendering:pixelated}
#hover-info,#posemb-info{max-width:336px;font-size:13px}#model-info{font-size:13px;color:#cbd2d9}
</style></head><body>
<header><h1>vitlens explorer</h1><nav>
<button data-view="classify" class="active">Classify</button><button data-view="posemb">Position embeddings</button>
<button data-view="caption">Caption</button><button data-view="runs">Runs</button></nav><span id="model-info"></span></header>
<main>
<section id="picker">
<label id="drop">Drop an image here, or <input type="file" id="file" accept="image/*"></label>
<label>or a sample <select id="sample"><option value="">choose…</option></select></label>
<span id="image-info"></span>
</section>
<div id="error" role="alert" hidden></div>
<section id="view-classify" class="view">
<div class="row">
<div><canvas id="overlay" class="main" width="336" height="336"></canvas>
<div class="colorbar"><span id="cb-min"></span><canvas id="colorbar" width="200" height="12"></canvas><span id="cb-max"></span></div>
<div id="hover-info">hover a patch: its attention row (the patch as query)</div></div>
<div class="controls">
<ol id="top5"></ol>
<label>method <select id="method"><option value="cls">CLS attention</option><option value="rollout">rollout</option><option value="attribution">attribution</option></select></label>
<label title="CLS attention and hover rows">layer <input type="range" id="layer" min="0" value="0"> <span id="layer-value"></span> <input type="checkbox" id="all-layers"> all layers</label>
<label>head <select id="head"><option value="mean">mean</option><option value="max">max</option><option value="min">min</option></select> <input type="checkbox" id="all-heads"> all heads</label>
<label>discard ratio <input type="range" id="discard" min="0" max="0.95" step="0.05" value="0"> <span id="discard-value">0</span></label>
<label>class <select id="class"><option value="">choose a class…</option></select></label>
<p id="map-note" class="note"></p>
</div></div>
<div id="strip" class="strip"></div>
</section>
<section id="view-posemb" class="view" hidden>
<p>Cosine similarity of each patch's position embedding with every other patch's (the ViT paper's Figure 7). Hover a patch.</p>
<div class="row"><div id="posemb-grid" style="width:420px"></div>
<div><canvas id="posemb-large" class="main" width="336" height="336"></canvas><div id="posemb-info"></div></div></div>
</section>
<section id="view-caption" class="view" hidden>
<div class="row"><label>beam <select id="beam"><option>1</option><option>2</option><option>3</option><option>5</option></select></label>
<label>decoder layer <select id="cap-layer"><option value="last">last</option></select></label>
<label>head <select id="cap-head"><option value="mean">mean</option></select></label></div>
<h3 id="caption-text"></h3>
<div id="chips" class="chips"></div>
<canvas id="caption-canvas" class="main" width="336" height="336"></canvas>
<div id="caption-strip" class="strip"></div>
</section>
<section id="view-runs" class="view" hidden>
<label>run <select id="run-select"><option value="">choose…</option></select></label> <span id="run-status"></span>
<div class="charts"><div><canvas id="chart-loss"></canvas></div><div><canvas id="chart-accuracy"></canvas></div><div><canvas id="chart-epochs"></canvas></div></div>
<h3>Validation: confusion matrix and gallery (the run's best model, as in <code>vitlens report</code>)</h3>
<div id="run-report"></div>
</section>
</main>
<script src="/vendor/chart.umd.min.js"></script>
<script type="module" src="/app/app.js"></script>
</body></html>
`;
