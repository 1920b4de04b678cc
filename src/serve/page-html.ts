/** The explorer's page: markup and style; its code is page/*.ts, compiled by page/tsconfig.json and served under /app/. */
const SPINNER = "data:image/svg+xml," + encodeURIComponent(
  `<svg xmlns="http://www.w3.org/2000/svg" width="36" height="36" viewBox="0 0 36 36"><circle cx="18" cy="18" r="14" fill="none" stroke="#cbd2d9" stroke-width="4"/><path d="M18 4a14 14 0 0 1 14 14" fill="none" stroke="#de911d" stroke-width="4" stroke-linecap="round"><animateTransform attributeName="transform" type="rotate" from="0 18 18" to="360 18 18" dur="0.8s" repeatCount="indefinite"/></path></svg>`,
);

const error = (where: string) => `<div id="${where}-error" class="error" role="alert" hidden><span class="message"></span><button type="button" class="dismiss" aria-label="dismiss">×</button></div>`;
const exportLinks = (view: string) => `<span class="export">export <a id="${view}-png" download hidden>PNG</a> <a id="${view}-json" download hidden>JSON</a></span>`;

const STYLE = `
*{box-sizing:border-box}
body{font-family:system-ui,"DejaVu Sans",sans-serif;margin:0;color:#1f2933;background:#f5f7fa;font-size:14px}
header{display:flex;align-items:center;gap:20px;padding:8px 20px;background:#1f2933;color:#fff;flex-wrap:wrap}
header h1{font-size:18px;margin:0}nav button{background:none;border:0;color:#cbd2d9;font-size:14px;padding:6px 9px;cursor:pointer;border-bottom:2px solid transparent}
nav button.active{color:#fff;border-bottom-color:#f0b429}#model-info{font-size:12px;color:#9aa5b1}
main{padding:12px 20px;max-width:1280px}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:10px 14px;margin-bottom:12px}
#picker .top{display:flex;gap:14px;align-items:center;flex-wrap:wrap}
#drop{border:2px dashed #9aa5b1;border-radius:8px;padding:6px 12px}#drop.over{border-color:#f0b429;background:#fffbea}
#drop{cursor:pointer;position:relative}#drop .button{border:1px solid #9aa5b1;border-radius:4px;padding:2px 8px;background:#f5f7fa}
#file{position:absolute;width:1px;height:1px;opacity:0;overflow:hidden}#image-name{font-weight:600}
#samples{display:flex;gap:6px;flex-wrap:wrap;margin-top:8px}
button.sample{padding:2px;border:2px solid #e4e7eb;border-radius:6px;background:#fff;cursor:pointer;line-height:0}
button.sample img{width:44px;height:44px;object-fit:cover;image-rendering:auto}button.sample.on{border-color:#de911d}
#sample-notes{color:#8d2b0b;font-size:12px}
.error{display:flex;gap:10px;align-items:flex-start;background:#fde8e8;color:#9b1c1c;border:1px solid #f8b4b4;border-radius:6px;padding:7px 10px;margin:6px 0}
.error[hidden]{display:none}.error .message{flex:1}.error .dismiss{border:0;background:none;color:#9b1c1c;font-size:18px;line-height:1;cursor:pointer}
.row{display:flex;gap:22px;flex-wrap:wrap;align-items:flex-start}
.loads{position:relative;min-height:60px}
.loads.busy::after{content:"";position:absolute;inset:0;z-index:5;background:rgba(245,247,250,.62) url("${SPINNER}") center/36px no-repeat}
.loads[data-empty]:not([data-empty=""]):not(.busy)::before{content:attr(data-empty);position:absolute;left:0;top:0;width:336px;height:336px;display:flex;align-items:center;justify-content:center;color:#7b8794;z-index:4}
canvas.stage{background:#e4e7eb;border-radius:4px;display:block;cursor:crosshair}
.controls{display:flex;flex-direction:column;gap:8px;min-width:300px}
.controls label{display:flex;gap:8px;align-items:center}.controls label.off{opacity:.45}
.value{display:inline-block;min-width:5.5em;font-variant-numeric:tabular-nums}
#top5{margin:0 0 6px;padding-left:22px;min-height:6.5em}#top5 li .score{display:inline-block;width:4.6em;text-align:right;font-variant-numeric:tabular-nums}
.info{font-size:12.5px;color:#3e4c59;max-width:560px;min-height:2.6em}
.note{color:#8d2b0b}
.cbar{display:grid;grid-template-columns:4.6em minmax(60px,1fr) 4.6em;align-items:center;gap:4px;font-size:11px;font-variant-numeric:tabular-nums;max-width:336px}
.cbar canvas{width:100%;height:10px;image-rendering:auto;border-radius:2px}.cbar .lo{text-align:right}.cbar .what{grid-column:1/4;text-align:center;color:#616e7c;font-size:10.5px}
.cbar.empty canvas{opacity:.25}.cbar[hidden]{display:none}
.cell .cbar,.tile .cbar,figure .cbar{grid-template-columns:3.4em 1fr 3.4em;font-size:9px}.cell .cbar .what,.tile .cbar .what,figure .cbar .what{display:none}
.export a{margin-left:4px}
#heads-grid{display:grid;gap:4px;align-items:center;margin-top:6px}
#heads-grid .colhead{font-size:11px;text-align:center;color:#52606d}#heads-grid .rowhead{font-size:11px;color:#52606d}
button.cell{padding:0;border:1px solid #e4e7eb;background:#fff;cursor:zoom-in;line-height:0}button.cell:hover{border-color:#de911d}
button.cell .cbar{line-height:normal}
#heads-zoom{position:fixed;right:24px;top:70px;z-index:20;background:#fff;border:1px solid #9aa5b1;border-radius:8px;padding:10px;box-shadow:0 6px 24px rgba(0,0,0,.2)}
#heads-zoom[hidden]{display:none}#heads-zoom header{background:none;color:inherit;padding:0 0 6px;justify-content:space-between}
#dino-heads{display:flex;flex-wrap:wrap;gap:8px;margin-top:10px}
button.tile{display:flex;flex-direction:column;gap:2px;padding:4px;border:2px solid #e4e7eb;border-radius:6px;background:#fff;cursor:pointer;font-size:11px;width:144px}
button.tile.on{border-color:#de911d}.tile .share{color:#616e7c;font-size:10px}
#posemb-grid{display:grid;gap:2px;background:#fff;padding:4px;border:1px solid #e4e7eb;width:420px}
#posemb-grid canvas{width:100%;image-rendering:pixelated;cursor:pointer}#posemb-grid canvas.on{outline:2px solid #de911d}
.chips{display:flex;gap:6px;flex-wrap:wrap;margin:10px 0;min-height:30px}
.chip{border:1px solid #9aa5b1;border-radius:14px;padding:4px 10px;background:#fff;cursor:pointer;font-size:15px}
.chip small{color:#616e7c;margin-left:4px}.chip.on{background:#f0b429;border-color:#c99a2e}
.strip{display:flex;flex-wrap:wrap;gap:8px;margin-top:12px}.strip figure{margin:0;font-size:11px;text-align:center;cursor:pointer;width:100px}
.strip figure.on canvas{outline:2px solid #de911d}
#runs-list td{padding:2px 8px}.swatch{display:inline-block;width:12px;height:12px;border-radius:2px}
button.run-name{border:0;background:none;cursor:pointer;font:inherit;color:#2e5aac;padding:0}button.run-name.on{font-weight:700}
.badge{border-radius:9px;padding:1px 8px;font-size:11px;color:#fff}.badge.live{background:#2f8132}.badge.finished{background:#616e7c}.badge.idle{background:#c99a2e}
#charts{display:grid;grid-template-columns:1fr 1fr;gap:14px;margin-top:10px}.chart{height:260px;background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:4px}
.chart[hidden],#charts[hidden]{display:none}
table.confusion{border-collapse:collapse;font-size:12px}table.confusion td,table.confusion th{border:1px solid #e4e7eb;padding:3px 6px;text-align:right}
.gallery{display:flex;flex-wrap:wrap;gap:10px;margin-top:10px}.gallery figure{margin:0;border:2px solid #cbd2d9;border-radius:6px;padding:4px;font-size:11px;text-align:center}
.gallery figure.right{border-color:#5a5}.gallery figure.wrong{border-color:#c44}.gallery img{width:96px;height:96px;image-rendering:pixelated}
`;

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vitlens explorer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head><body>
<header><h1>vitlens explorer</h1><nav>
<button data-view="classify" class="active">Classify</button><button data-view="heads">Layers × heads</button><button data-view="dino">DINO heads</button>
<button data-view="posemb">Position embeddings</button><button data-view="caption">Caption</button><button data-view="runs">Runs</button></nav><span id="model-info"></span></header>
<main>
<section id="picker" class="card">
<div class="top"><label id="drop">Drop an image here, or <span class="button">choose a file…</span><input type="file" id="file" accept="image/*"></label>
<span>image: <span id="image-name">no image yet</span></span> <span id="sample-notes"></span></div>
<div id="samples" aria-label="samples"></div>
${error("picker")}
</section>

<section id="view-classify" class="view loads">
${error("classify")}
<div class="row">
<div id="overlay-box" class="loads"><canvas id="overlay" class="stage"></canvas>
<div id="overlay-bar" class="cbar"></div><p id="overlay-info" class="info"></p></div>
<div class="controls">
<div id="top5-box" class="loads"><ol id="top5"></ol></div>
<label>method <select id="method"><option value="cls">CLS attention</option><option value="rollout">rollout</option><option value="attribution" id="method-attribution">attribution</option><option value="norm" title="each token's L2 norm after the layer: high-norm artifact tokens (Darcet et al., registers)">token norm</option></select></label>
<label>layer <input type="range" id="layer" min="0" step="1"> <span id="layer-value" class="value"></span></label>
<label>head <select id="head"><option value="mean">mean</option><option value="max">max</option><option value="min">min</option></select></label>
<label>discard ratio <input type="range" id="discard" min="0" max="0.95" step="0.05"> <span id="discard-value" class="value"></span></label>
<label>class <select id="class"><option value="">the predicted class</option></select></label>
<label><input type="checkbox" id="zero"> colour scale from 0 (else from the lowest value)</label>
${exportLinks("classify")}
</div></div>
</section>

<section id="view-heads" class="view loads" hidden>
${error("heads")}
<div class="row">
<div class="controls" style="min-width:240px;max-width:250px">
<canvas id="heads-query" class="stage" title="click a patch to make it the query"></canvas><p id="heads-query-info" class="info"></p>
<label>colour scale <select id="heads-scale"></select></label>
<label><input type="checkbox" id="heads-zero"> from 0</label>
${exportLinks("heads")}
<p id="heads-hover" class="info"></p>
</div>
<div><div id="heads-bar" class="cbar"></div><div id="heads-grid-box" class="loads"><div id="heads-grid"></div></div></div>
</div>
<div id="heads-zoom" hidden><header><strong id="heads-zoom-title"></strong><button type="button" id="heads-zoom-close" aria-label="close">×</button></header>
<canvas id="heads-zoom-canvas" class="stage"></canvas><div id="heads-zoom-bar" class="cbar"></div><p id="heads-zoom-info" class="info"></p></div>
</section>

<section id="view-dino" class="view loads" hidden>
${error("dino")}
<div class="row controls" style="flex-direction:row;flex-wrap:wrap;gap:18px">
<label>layer <input type="range" id="dino-layer" min="0" step="1"> <span id="dino-layer-value" class="value"></span></label>
<label>keep <input type="range" id="keep" min="0.05" max="1" step="0.05"> <span id="keep-value" class="value"></span> of the mass</label>
<label>opacity <input type="range" id="opacity" min="0" max="1" step="0.05"> <span id="opacity-value" class="value"></span></label>
<label><input type="checkbox" id="dino-mask"> mask</label>
<label>colour scale <select id="dino-scale"></select></label><label><input type="checkbox" id="dino-zero"> from 0</label>
${exportLinks("dino")}
</div>
<div id="dino-box" class="loads">
<div class="row"><canvas id="dino-image" class="stage"></canvas><div><canvas id="dino-overlay" class="stage"></canvas><div id="dino-bar" class="cbar"></div></div>
<div class="info"><p id="dino-caption"></p><p id="dino-prefix" hidden></p><p id="dino-info"></p></div></div>
<div id="dino-heads-bar" class="cbar"></div><div id="dino-heads"></div>
</div>
</section>

<section id="view-posemb" class="view loads" hidden>
${error("posemb")}
<p>Cosine similarity of each patch's position embedding with every other patch's (the ViT paper's Figure 7), one scale for every map. Hover a patch.</p>
<div id="posemb-box" class="loads row"><div><div id="posemb-grid"></div><div id="posemb-bar" class="cbar"></div></div>
<div><canvas id="posemb-large" class="stage"></canvas><div id="posemb-large-bar" class="cbar"></div><p id="posemb-info" class="info"></p></div></div>
</section>

<section id="view-caption" class="view loads" hidden>
${error("caption")}
<div class="row controls" style="flex-direction:row;flex-wrap:wrap;gap:18px"><label>beam <select id="beam"><option>1</option><option>2</option><option>3</option><option>5</option></select></label>
<label>decoder layer <select id="cap-layer"></select></label>
<label>head <select id="cap-head"><option value="mean">mean</option></select></label>
<label>colour scale <select id="caption-scale"></select></label><label><input type="checkbox" id="caption-zero"> from 0</label></div>
<p id="cap-layer-why" class="info"></p>
<div id="caption-box" class="loads">
<h3 id="caption-text"></h3><div id="chips" class="chips"></div>
<div class="row"><div><canvas id="caption-canvas" class="stage"></canvas><div id="caption-bar" class="cbar"></div><p id="caption-info" class="info"></p></div>
<div><div id="caption-strip-bar" class="cbar"></div><div id="caption-strip" class="strip"></div></div></div>
</div>
</section>

<section id="view-runs" class="view loads" hidden>
${error("runs")}
<p id="runs-dir"></p>
<table><tbody id="runs-list"></tbody></table>
<div class="row controls" style="flex-direction:row;gap:18px;margin-top:8px">
<label>x axis <select id="x-axis"></select></label>
<label>smoothing <input type="range" id="smooth" min="0" max="0.99" step="0.01"> <span id="smooth-value" class="value"></span></label>
<label><input type="checkbox" id="log"> log scale</label></div>
<p id="charts-note" class="note"></p>
<div id="charts" hidden>
<div id="chart-loss-box" class="chart"><canvas id="chart-loss"></canvas></div><div id="chart-accuracy-box" class="chart"><canvas id="chart-accuracy"></canvas></div>
<div id="chart-lr-box" class="chart"><canvas id="chart-lr"></canvas></div><div id="chart-grad-box" class="chart"><canvas id="chart-grad"></canvas></div>
</div>
<h3 id="report-title"></h3>
<div id="run-report" class="loads"></div>
</section>
</main>
<script src="/vendor/chart.umd.min.js"></script>
<script type="module" src="/app/page/app.js"></script>
</body></html>
`;
