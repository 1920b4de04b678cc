// Caption view: the caption's words as chips; hover or click one for its cross-attention map.
import { $, observed, postJson, showError } from "./api.js";
import { drawHeat, figure } from "./heat.js";
import { state } from "./state.js";

interface CaptionAnswer {
  caption: string; tokens: string[]; words?: string[]; score: number; maps: number[][]; cls: number[]; grid: [number, number]; layer: number; head: number | "mean";
}

let answer: CaptionAnswer | null = null;
let seq = 0;

function showWord(k: number): void {
  if (!answer) return;
  observed.shownWord = k;
  drawHeat($<HTMLCanvasElement>("caption-canvas"), answer.maps[k], answer.grid, { image: state.original });
  document.querySelectorAll("#chips .chip").forEach((c, i) => c.classList.toggle("on", i === k));
}

export async function refreshCaption(): Promise<void> {
  const info = state.info.captioner;
  if (info.error) {
    $("caption-text").textContent = "";
    showError(info.error);
    return;
  }
  if (!state.imageId) return;
  const head = $<HTMLSelectElement>("cap-head").value;
  const layer = $<HTMLSelectElement>("cap-layer").value;
  const req = { image: state.imageId, beam: Number($<HTMLSelectElement>("beam").value), layer: layer === "last" ? "last" : Number(layer), head: head === "mean" ? "mean" : Number(head) };
  const mine = ++seq;
  try {
    const a = await postJson<CaptionAnswer>("/api/caption", req);
    if (mine !== seq) return;
    answer = a;
    observed.caption = a as unknown as Record<string, unknown>;
    const words = a.words ?? a.tokens;
    $("caption-text").textContent = `${a.caption}  (score ${a.score.toFixed(3)})`;
    $("chips").replaceChildren(...words.map((w, k) => {
      const chip = document.createElement("button");
      chip.className = "chip";
      chip.textContent = w;
      const share = document.createElement("small");
      share.textContent = `CLS ${(100 * a.cls[k]).toFixed(0)}%`;
      share.title = "the share of this word's attention on the encoder's CLS token";
      chip.append(share);
      chip.addEventListener("mouseenter", () => showWord(k));
      chip.addEventListener("click", () => showWord(k));
      return chip;
    }));
    const strip = $("caption-strip");
    strip.replaceChildren();
    a.maps.forEach((m, k) => drawHeat(figure(strip, words[k]), m, a.grid, { image: state.original }));
    if (words.length) showWord(0);
    showError(null);
  } catch (e) {
    showError((e as Error).message);
  }
}

export function setupCaption(): void {
  const info = state.info.captioner;
  if (info.error) return;
  for (let l = 0; l < info.layers; l++) $("cap-layer").append(new Option(`layer ${l}`, String(l)));
  for (let h = 0; h < info.heads; h++) $("cap-head").append(new Option(`head ${h}`, String(h)));
  for (const id of ["beam", "cap-layer", "cap-head"]) $(id).addEventListener("change", () => void refreshCaption());
}
