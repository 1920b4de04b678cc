import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { imagePixels, loadImage } from "../data/preprocess.js";
import type { RawImage } from "../data/raw-image.js";
import { VitlensError } from "../errors.js";
import { gridSize } from "../models/vit-config.js";
import { corpusBleu } from "./bleu.js";
import type { Captioner } from "./captioner.js";
import type { CaptionedImage } from "./coco.js";
import { generateCaption, type DecodeOptions } from "./decode.js";
import { tokenize } from "./vocabulary.js";

export interface MapSelection {
  layer: number | "last";
  head: number | "mean";
}

export interface CaptionResult {
  image: string;
  caption: string;
  tokens: string[];
  score: number;
  /** Per generated word: the selected cross-attention over the patch grid (gh * gw), CLS left out. */
  maps: Float32Array[];
  /** Per generated word, per decoder layer: every head's cross-attention (heads, N), CLS included. */
  layerMaps: Float32Array[][];
  heads: number;
  grid: [number, number];
}

/** The same captions with the maps of another layer / head. */
export function reselect(r: CaptionResult, layer: number, head: number | "mean"): CaptionResult {
  const N = r.grid[0] * r.grid[1] + 1;
  return { ...r, maps: r.layerMaps.map((m) => selectMap(m, layer, head, r.heads, N)) };
}

/** Checks --layer / --head against the model and resolves "last". */
export function resolveSelection(cap: Captioner, s: MapSelection): { layer: number; head: number | "mean" } {
  const layers = cap.decoderConfig.numLayers;
  const layer = s.layer === "last" ? layers - 1 : s.layer;
  if (!Number.isInteger(layer) || layer < 0 || layer >= layers) throw new VitlensError(`--layer ${s.layer}: the decoder has layers 0..${layers - 1} (or "last")`);
  const heads = cap.decoderConfig.numHeads;
  if (s.head !== "mean" && (!Number.isInteger(s.head) || s.head < 0 || s.head >= heads)) throw new VitlensError(`--head ${s.head}: the decoder has heads 0..${heads - 1} (or "mean")`);
  return { layer, head: s.head };
}

/** One word's map: the chosen layer's cross-attention (heads, N), one head or their mean, CLS dropped. */
export function selectMap(perLayer: Float32Array[], layer: number, head: number | "mean", H: number, N: number): Float32Array {
  const maps = perLayer[layer];
  const out = new Float32Array(N - 1);
  const heads = head === "mean" ? Array.from({ length: H }, (_, h) => h) : [head];
  for (const h of heads) for (let j = 1; j < N; j++) out[j - 1] += maps[h * N + j] / heads.length;
  return out;
}

/** An image already decoded in memory (the server's uploads), under the name results carry. */
export interface DecodedImage {
  name: string;
  image: RawImage;
}

/** Captions images one by one (encoder batch of one, beam search with the KV cache). */
export async function captionImages(cap: Captioner, files: Array<string | DecodedImage>, o: DecodeOptions & MapSelection, be: Backend = getBackend(), onImage?: (done: number) => void): Promise<CaptionResult[]> {
  const { layer, head } = resolveSelection(cap, o);
  const grid = gridSize(cap.encoder.config);
  const results: CaptionResult[] = [];
  for (const file of files) {
    const img = typeof file === "string" ? await loadImage(file, cap.preprocess) : await imagePixels(file.image, cap.preprocess);
    const tokens = cap.encoder.encode({ data: img.data, shape: [1, ...img.shape] }, be).tokens;
    const N = tokens.shape[1];
    const gen = generateCaption(cap, tokens.data, N, o, be);
    const words = gen.tokens.map((id) => cap.vocab.word(id));
    results.push({
      image: typeof file === "string" ? file : file.name, caption: cap.vocab.decode(gen.tokens), tokens: words, score: gen.score,
      maps: gen.maps.map((m) => selectMap(m, layer, head, cap.decoderConfig.numHeads, N)), layerMaps: gen.maps, heads: cap.decoderConfig.numHeads, grid,
    });
    onImage?.(results.length);
  }
  return results;
}

export interface CaptionMetrics {
  images: number;
  exactMatch: number; // share of images whose caption equals one of its references (after tokenization)
  bleu4: number;
  /**
   * For each generated word naming an item the image holds: its map's maximum lies in that
   * item's cell (share = hits / named). `misnamed` counts item words for items the image does not
   * hold (recognition errors: no cell to check); `strictShare` counts them as misses.
   */
  grounding: { hits: number; named: number; misnamed: number; share: number; strictShare: number } | null;
}

/**
 * Exact match, corpus BLEU-4 and — for grounded data (vitlens data grids) — grounding.
 * `cell` is the grid cell side in the image's own pixels.
 */
export function scoreCaptions(results: CaptionResult[], images: CaptionedImage[], cell: number | null): CaptionMetrics {
  const refs = images.map((img) => img.captions.map(tokenize));
  const hyps = results.map((r) => r.tokens);
  const exact = hyps.filter((h, i) => refs[i].some((r) => r.join(" ") === h.join(" "))).length;
  const itemWords = new Set(images.flatMap((img) => img.items.map((it) => it.word)));
  let [hits, named, misnamed] = [0, 0, 0];
  if (cell !== null) {
    results.forEach((r, i) => {
      const img = images[i];
      r.tokens.forEach((word, t) => {
        if (!itemWords.has(word)) return;
        if (!img.items.some((it) => it.word === word)) {
          misnamed++;
          return;
        }
        named++;
        const [row, col] = argmaxCell(r.maps[t], r.grid, [img.height, img.width], cell);
        if (img.items.some((it) => it.word === word && it.cell[0] === row && it.cell[1] === col)) hits++;
      });
    });
  }
  return {
    images: results.length, exactMatch: results.length ? exact / results.length : 0, bleu4: corpusBleu(hyps, refs),
    grounding: cell === null ? null : { hits, named, misnamed, share: named ? hits / named : 0, strictShare: named + misnamed ? hits / (named + misnamed) : 0 },
  };
}

/** The grid cell (row, column) under the map's maximum, in the image's own pixels (H, W). */
function argmaxCell(map: Float32Array, [gh, gw]: [number, number], [H, W]: [number, number], cell: number): [number, number] {
  let best = 0;
  for (let j = 1; j < map.length; j++) if (map[j] > map[best]) best = j;
  const y = ((Math.floor(best / gw) + 0.5) / gh) * H; // patch centre, mapped back from the model's input size
  const x = (((best % gw) + 0.5) / gw) * W;
  return [Math.floor(y / cell), Math.floor(x / cell)];
}
