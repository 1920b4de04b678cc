// Position embeddings: the ViT paper's Figure 7 (each patch's cosine similarity with every other,
// one scale [-1, 1] with its colour bar); hover or click a patch for its map, large, with values.
import { paths, type PosembAnswer } from "../contract.js";
import { formatValue } from "../scales.js";
import { getJson } from "./api.js";
import { app } from "./context.js";
import { $, el } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { drawHeat, hiDpi, patchAt, patchText, updateColorbar } from "./heat.js";
import { show } from "./observe.js";
import { Slot } from "./slot.js";
import { store, type PageState } from "./store.js";

const RANGE: [number, number] = [-1, 1];
const slot = new Slot("posemb", () => $("posemb-box"));
let sim: PosembAnswer | null = null;

const mapOf = (k: number) => sim!.similarity.slice(k * sim!.shape[0] * sim!.shape[1], (k + 1) * sim!.shape[0] * sim!.shape[1]);

function drawLarge(k: number): void {
  if (!sim) return;
  const map = mapOf(k);
  const big = $<HTMLCanvasElement>("posemb-large");
  hiDpi(big, 336);
  drawHeat(big, map, sim.shape, { range: RANGE, highlight: k, smooth: false });
  document.querySelectorAll("#posemb-grid canvas").forEach((c, i) => c.classList.toggle("on", i === k));
  let [lo, hi] = [Infinity, -Infinity];
  for (let j = 0; j < map.length; j++) if (j !== k) [lo, hi] = [Math.min(lo, map[j]), Math.max(hi, map[j])];
  $("posemb-info").textContent = `${patchText(k, sim.shape)}: similarity with the others ${lo.toFixed(3)} .. ${hi.toFixed(3)}`;
  big.onmousemove = (e) => {
    const j = patchAt(e, big, sim!.shape);
    $("posemb-info").textContent = `patch ${k} vs ${patchText(j, sim!.shape)}: cosine similarity ${formatValue(map[j], RANGE)}`;
  };
  show("posemb", String(k), { patch: k });
}

export async function renderPosemb(s: PageState): Promise<void> {
  if (s.view !== "posemb") return;
  const [gh, gw] = app.model.grid;
  const k = Math.min(s.patch ?? Math.floor((gh * gw) / 2), gh * gw - 1);
  if (sim) return drawLarge(k);
  if (slot.key === "posemb") return; // loading
  try {
    const a = await slot.load("posemb", (signal) => getJson<PosembAnswer>(paths.posemb(), signal));
    if (!a) return;
    sim = a;
    const grid = $("posemb-grid");
    grid.style.gridTemplateColumns = `repeat(${gw}, 1fr)`;
    const P = gh * gw;
    grid.replaceChildren(...Array.from({ length: P }, (_, p) => {
      const c = el("canvas", { title: patchText(p, a.shape) });
      [c.width, c.height] = [gw, gh];
      drawHeat(c, mapOf(p), a.shape, { range: RANGE, smooth: false });
      c.addEventListener("mouseenter", () => store.set({ patch: p }));
      return c;
    }));
    updateColorbar($("posemb-bar"), RANGE, "cosine similarity, every map");
    updateColorbar($("posemb-large-bar"), RANGE, "cosine similarity");
    clearError("posemb");
    drawLarge(Math.min(store.state.patch ?? k, P - 1));
  } catch (e) {
    slot.key = null;
    showError("posemb", e);
  }
}
