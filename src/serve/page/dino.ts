// DINO's view (Caron et al. 2021, visualize_attention.py): one layer's CLS map per head, each with
// the mask of the fewest patches holding `keep` of its mass; the image and the chosen head's
// overlay side by side at full size; the share of the CLS row on register / distillation tokens.
import { paths, SCALES, type DinoAnswer, type DinoHead, type HeadFusion, type ScaleMode } from "../contract.js";
import { formatValue, sharedRanges } from "../scales.js";
import { getJson } from "./api.js";
import { app, hasCls, layerOf, queryShort } from "./context.js";
import { $, el, setValue } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { colorbar, drawHeat, drawPlain, hiDpi, patchAt, patchText, updateColorbar } from "./heat.js";
import { modelView, withImage } from "./image.js";
import { forget, show } from "./observe.js";
import { Slot } from "./slot.js";
import { store, type PageState } from "./store.js";

const SIZE = 336;
const slot = new Slot("dino", () => $("dino-box"));
let shown: { key: string; answer: DinoAnswer; image: HTMLImageElement } | null = null;

const headName = (h: HeadFusion) => (typeof h === "number" ? `head ${h}` : `${h} of heads`);
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The CLS row's share on the tokens other than CLS itself (registers, distillation), in words; "" when the model has none. */
export function prefixText(shares: number[]): string {
  const names = app.model.prefix;
  if (names.filter((n) => n !== "CLS").length === 0) return "";
  const parts: string[] = [];
  const regs = names.map((n, k) => [n, k] as const).filter(([n]) => n.startsWith("register"));
  if (regs.length) parts.push(`registers ${pct(regs.reduce((s, [, k]) => s + shares[k], 0))} (${regs.map(([n, k]) => `${n.replace("register ", "r")} ${pct(shares[k])}`).join(", ")})`);
  const dist = names.indexOf("distillation");
  if (dist >= 0) parts.push(`distillation ${pct(shares[dist])}`);
  if (hasCls()) parts.push(`CLS itself ${pct(shares[0])}`);
  return `${queryShort()} row on ${parts.join(", ")}`;
}

function draw(s: PageState): void {
  if (!shown) return;
  const { answer: a, image } = shown;
  const ranges = sharedRanges(a.heads.map((h) => ({ layer: a.layer, values: h.map })), s.scale === "layer" ? "view" : s.scale, s.zero);
  const big = a.heads.find((h) => String(h.head) === String(s.dinoHead)) ?? a.heads[a.heads.length - 1];
  const bigRange = ranges[a.heads.indexOf(big)];
  const [img, ov] = [$<HTMLCanvasElement>("dino-image"), $<HTMLCanvasElement>("dino-overlay")];
  hiDpi(img, SIZE);
  hiDpi(ov, SIZE);
  drawPlain(img, image);
  drawHeat(ov, big.map, a.shape, { image, range: bigRange, alpha: s.opacity, mask: s.mask ? big.mask : null });
  updateColorbar($("dino-bar"), bigRange, `${queryShort()} attention`);
  $("dino-caption").textContent = `layer ${a.layer}, ${headName(big.head)}: ${big.kept} of ${big.mask.length} patches hold ${(100 * a.keep).toFixed(0)}% of the mass`;
  const shares = prefixText(big.prefix);
  $("dino-prefix").textContent = shares;
  $("dino-prefix").hidden = !shares;
  ov.onmousemove = (e) => {
    const p = patchAt(e, ov, a.shape);
    $("dino-info").textContent = `${patchText(p, a.shape)}: ${formatValue(big.map[p], bigRange)}${big.mask[p] ? " (kept)" : ""}`;
  };
  $("dino-heads").replaceChildren(...a.heads.map((h: DinoHead, i) => {
    const c = el("canvas");
    hiDpi(c, 132);
    drawHeat(c, h.map, a.shape, { image, range: ranges[i], alpha: s.opacity, mask: s.mask ? h.mask : null });
    const share = prefixText(h.prefix);
    const fig = el("button", { class: `tile${h === big ? " on" : ""}`, type: "button", "data-head": String(h.head), title: "show it large" }, c,
      el("span", { class: "title" }, `${headName(h.head)} · ${h.kept}/${h.mask.length} patches`), ...(share ? [el("span", { class: "share" }, share.replace(/^\S+ row on /, ""))] : []));
    if (s.scale === "map") fig.append(colorbar(ranges[i]));
    fig.addEventListener("click", () => store.set({ dinoHead: h.head }));
    return fig;
  }));
  const bar = $("dino-heads-bar");
  bar.hidden = s.scale === "map";
  updateColorbar(bar, ranges[0] ?? null, "every head");
}

export async function renderDino(s: PageState, prev: PageState): Promise<void> {
  const m = app.model;
  setValue("dino-layer", String(layerOf(s.layer)));
  $("dino-layer-value").textContent = `${layerOf(s.layer)} (0..${m.layers - 1})`;
  setValue("keep", String(s.keep));
  $("keep-value").textContent = `${(100 * s.keep).toFixed(0)}%`;
  setValue("opacity", String(s.opacity));
  $("opacity-value").textContent = s.opacity.toFixed(2);
  $<HTMLInputElement>("dino-mask").checked = s.mask;
  setValue("dino-scale", s.scale === "layer" ? "view" : s.scale); // one layer: per layer is for all
  $<HTMLInputElement>("dino-zero").checked = s.zero;
  const id = s.image?.id;
  const req = { layer: layerOf(s.layer), keep: s.keep };
  for (const format of ["png", "json"] as const) {
    const a = $<HTMLAnchorElement>(`dino-${format}`);
    a.hidden = !id;
    if (id) a.href = paths.exportFile(format, id, { method: "cls", layers: [req.layer], heads: ["all", "mean"], keep: s.mask ? s.keep : undefined, scale: s.scale, zero: s.zero });
  }
  if (s.view !== "dino") return;
  if (!id) {
    slot.cancel();
    shown = null;
    for (const c of ["dino-image", "dino-overlay"]) drawPlain($<HTMLCanvasElement>(c), null);
    $("dino-heads").replaceChildren();
    $("dino-box").dataset.empty = s.image ? "uploading…" : "choose an image";
    forget("dino");
    return;
  }
  const key = JSON.stringify({ id, ...req });
  if (slot.key === key) {
    if (shown?.key === key && JSON.stringify([s.opacity, s.mask, s.scale, s.zero, s.dinoHead]) !== JSON.stringify([prev.opacity, prev.mask, prev.scale, prev.zero, prev.dinoHead])) draw(s);
    return;
  }
  try {
    const got = await slot.load(key, (signal) => Promise.all([modelView(id), withImage(id, (i) => getJson<DinoAnswer>(paths.dino(i, req), signal))]));
    if (!got) return;
    shown = { key, image: got[0], answer: got[1] };
    $("dino-box").dataset.empty = "";
    clearError("dino");
    draw(store.state);
    show("dino", key, got[1]);
  } catch (e) {
    slot.key = null;
    shown = null;
    $("dino-heads").replaceChildren();
    showError("dino", e);
  }
}

export function setupDino(): void {
  const m = app.model;
  $<HTMLInputElement>("dino-layer").max = String(m.layers - 1);
  for (const sc of SCALES) if (sc !== "layer") $("dino-scale").append(new Option(sc === "map" ? "each head its own" : "one for all heads", sc));
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  $("dino-layer").addEventListener("input", () => store.set({ layer: num("dino-layer") === m.layers - 1 ? null : num("dino-layer") }));
  $("keep").addEventListener("input", () => store.set({ keep: num("keep") }));
  $("opacity").addEventListener("input", () => store.set({ opacity: num("opacity") }));
  $("dino-mask").addEventListener("change", () => store.set({ mask: $<HTMLInputElement>("dino-mask").checked }));
  $("dino-scale").addEventListener("change", () => store.set({ scale: $<HTMLSelectElement>("dino-scale").value as ScaleMode }));
  $("dino-zero").addEventListener("change", () => store.set({ zero: $<HTMLInputElement>("dino-zero").checked }));
}
