// Position-embedding view: the Figure-7 grid; hover a patch for its similarity map, large, with values.
import { $, getJson, observed, showError } from "./api.js";
import { drawHeat, patchAt, range } from "./heat.js";

let loaded = false;
let large: { map: number[]; shape: [number, number]; patch: number } | null = null;

async function showPatch(k: number): Promise<void> {
  const a = await getJson<{ shape: [number, number]; patch: number; map: number[] }>(`/api/posemb?patch=${k}`);
  large = { map: a.map, shape: a.shape, patch: k };
  observed.posembPatch = k;
  drawHeat($<HTMLCanvasElement>("posemb-large"), a.map, a.shape, { highlight: k, smooth: false });
  document.querySelectorAll("#posemb-grid canvas").forEach((c, i) => c.classList.toggle("on", i === k));
  const [lo, hi] = range(a.map);
  $("posemb-info").textContent = `patch ${k} (row ${Math.floor(k / a.shape[1])}, col ${k % a.shape[1]}): similarity ${lo.toFixed(3)} .. ${hi.toFixed(3)}`;
}

export async function showPosemb(): Promise<void> {
  if (loaded) return;
  try {
    const { shape, similarity } = await getJson<{ shape: [number, number]; similarity: number[] }>("/api/posemb");
    const [gh, gw] = shape;
    const P = gh * gw;
    const grid = $("posemb-grid");
    grid.style.gridTemplateColumns = `repeat(${gw}, 1fr)`;
    for (let k = 0; k < P; k++) {
      const c = document.createElement("canvas");
      [c.width, c.height] = [gw, gh];
      drawHeat(c, similarity.slice(k * P, (k + 1) * P), shape, { smooth: false });
      c.title = `patch ${k}`;
      c.addEventListener("mouseenter", () => void showPatch(k).catch((e: Error) => showError(e.message)));
      grid.append(c);
    }
    const big = $<HTMLCanvasElement>("posemb-large");
    big.addEventListener("mousemove", (e) => {
      if (!large) return;
      const j = patchAt(e, big, large.shape);
      $("posemb-info").textContent = `patch ${large.patch} vs patch ${j}: cosine similarity ${large.map[j].toFixed(4)}`;
    });
    loaded = true;
    await showPatch(Math.floor(P / 2));
  } catch (e) {
    showError((e as Error).message);
  }
}
