import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { imagePixels, loadImage } from "../data/preprocess.js";
import type { RawImage } from "../data/raw-image.js";
import { VitlensError } from "../errors.js";
import { gridSize } from "../models/vit-config.js";
import { corpusBleu } from "./bleu.js";
import type { Captioner } from "./captioner.js";
import type { CaptionedImage } from "./coco.js";
import { generateCaption } from "./decode.js";
import type { WordGroup } from "./bpe-tokenizer.js";
import { HfCaptioner } from "./hf-captioner.js";
import { BlipCaptioner } from "./blip-captioner.js";
import { hfGenerate } from "./hf-generate.js";
import { TransformersCaptioner } from "./transformers-captioner.js";
import { tokenize } from "./vocabulary.js";
import { CatrCaptioner } from "./catr-captioner.js";
import { catrGenerate } from "./catr-generate.js";
import { capitalizeFirst } from "./tokenizer.js";
import type { Tensor } from "../tensor.js";

export interface MapSelection {
  layer: number | "last";
  head: number | "mean";
}

export interface CaptionResult {
  image: string;
  caption: string;
  /** The caption's words as drawn: one map each. */
  words: string[];
  /** The model's own pieces (a word-level captioner: its words; GPT-2: byte-level BPE pieces such as `Ġsk`). */
  tokens: string[];
  score: number;
  /** Per word: the selected cross-attention over the patch grid (gh * gw), CLS left out. */
  maps: Float32Array[];
  /** Per word, per decoder layer: every head's cross-attention (heads, N), CLS included; a word's pieces averaged. */
  layerMaps: Float32Array[][];
  heads: number;
  grid: [number, number];
  /** The pixels' (height, width) the model saw: what the strips draw the maps on. */
  inputSize: [number, number];
}

/**
 * Any captioner vitlens runs: its own word-level one, a Hugging Face ViT + GPT-2
 * VisionEncoderDecoder, or CATR. Their maps share one layout: (heads, 1 + gh*gw) per layer, the
 * first slot the encoder's CLS token (CATR has none: its slot holds 0).
 */
export type AnyCaptioner = FolderCaptioner | CatrCaptioner;

/** A captioner stored as a folder (config.json): the kinds vitlens trains and saves, and BLIP's. */
export type FolderCaptioner = Captioner | HfCaptioner | BlipCaptioner;

/** Decoding settings from the command line: absent ones come from the model (HF: its generation config). */
export interface CaptionOptions extends MapSelection {
  beam?: number;
  /** Most generated tokens (<eos> included), whatever the model's own limit says. */
  maxLength?: number;
  lengthPenalty?: number;
  /** Text the caption starts with (BLIP's "a picture of"): fed after the start token; the caption includes it. */
  prompt?: string;
}

/** The same captions with the maps of another layer / head. */
export function reselect(r: CaptionResult, layer: number, head: number | "mean"): CaptionResult {
  const N = r.grid[0] * r.grid[1] + 1;
  return { ...r, maps: r.layerMaps.map((m) => selectMap(m, layer, head, r.heads, N)) };
}

/** Checks --layer / --head against the model and resolves "last". */
export function resolveSelection(cap: Pick<AnyCaptioner, "decoderConfig">, s: MapSelection): { layer: number; head: number | "mean" } {
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

/**
 * A result as scoring compares it with tokenized references: a word-level captioner's as it is;
 * a BPE captioner's words tokenized like the references ("blanket." -> "blanket", "."), each
 * token keeping its word's map.
 */
export function forScoring(cap: AnyCaptioner, r: CaptionResult): CaptionResult {
  if (!(cap instanceof HfCaptioner)) return r;
  const split = r.words.map((w) => tokenize(w));
  return { ...r, words: split.flat(), maps: split.flatMap((t, i) => t.map(() => r.maps[i])), layerMaps: split.flatMap((t, i) => t.map(() => r.layerMaps[i])) };
}

/** A word's maps: the mean of its pieces' maps, per layer (heads, N). */
export function meanMaps(pieces: Float32Array[][]): Float32Array[] {
  return pieces[0].map((_, l) => {
    const out = new Float32Array(pieces[0][l].length);
    for (const p of pieces) for (let i = 0; i < out.length; i++) out[i] += p[l][i] / pieces.length;
    return out;
  });
}

/** The share of attention each word gives the CLS token: (words, layers, heads). */
export function clsShare(r: CaptionResult): Float32Array {
  const N = r.grid[0] * r.grid[1] + 1;
  const L = r.layerMaps[0]?.length ?? 0;
  const out = new Float32Array(r.layerMaps.length * L * r.heads);
  r.layerMaps.forEach((perLayer, w) => perLayer.forEach((m, l) => {
    for (let h = 0; h < r.heads; h++) out[(w * L + l) * r.heads + h] = m[h * N];
  }));
  return out;
}

interface Generated { caption: string; words: WordGroup[]; tokens: string[]; score: number; maps: Float32Array[][] }

function generate(cap: FolderCaptioner, encoded: Float32Array, N: number, o: CaptionOptions, be: Backend): Generated {
  if (o.prompt !== undefined && !(cap instanceof BlipCaptioner)) throw new VitlensError("--prompt: only BLIP captioners take a prompt");
  if (cap instanceof TransformersCaptioner) {
    // transformers' generate: the start token, then (BLIP) the prompt's tokens; max_length counts
    // both, --max-len counts new tokens (max_new_tokens)
    const prompt = cap instanceof BlipCaptioner ? cap.promptIds(o.prompt) : [];
    const g = { ...cap.generation };
    if (o.beam !== undefined) g.numBeams = o.beam;
    g.maxLength = cap.maxLength(prompt.length, o.maxLength);
    if (o.lengthPenalty !== undefined) g.lengthPenalty = o.lengthPenalty;
    const gen = hfGenerate(cap, encoded, N, g, be, prompt);
    // The pieces that have maps: after the start token, up to the EOS.
    const eos = gen.ids.indexOf(g.eosTokenId!, 1);
    const pieces = gen.ids.slice(1, eos < 0 ? undefined : eos);
    return {
      caption: cap.tokenizer.decode(gen.ids), words: cap.tokenizer.words(pieces),
      tokens: pieces.filter((id) => !cap.tokenizer.isSpecial(id)).map((id) => cap.tokenizer.piece(id)), score: gen.score, maps: gen.maps,
    };
  }
  const gen = generateCaption(cap, encoded, N, { beam: o.beam ?? 1, maxLength: o.maxLength ?? cap.decoderConfig.maxLength, lengthPenalty: o.lengthPenalty ?? 1 }, be);
  const tokens = gen.tokens.map((id) => cap.vocab.word(id));
  return { caption: cap.vocab.decode(gen.tokens), words: tokens.map((word, i) => ({ word, pieces: [i] })), tokens, score: gen.score, maps: gen.maps };
}

/** An image already decoded in memory (the server's uploads), under the name results carry. */
export interface DecodedImage {
  name: string;
  image: RawImage;
}

/** Captions images one by one (encoder batch of one, beam search with the KV cache); one map per word. */
export async function captionImages(cap: AnyCaptioner, files: Array<string | DecodedImage>, o: CaptionOptions, be: Backend = getBackend(), onImage?: (done: number) => void): Promise<CaptionResult[]> {
  const { layer, head } = resolveSelection(cap, o);
  const H = cap.decoderConfig.numHeads;
  const results: CaptionResult[] = [];
  for (const file of files) {
    const img = typeof file === "string" ? await loadImage(file, cap.preprocess) : await imagePixels(file.image, cap.preprocess);
    const gen = encodeAndGenerate(cap, img, o, be);
    const layerMaps = gen.words.map((w) => meanMaps(w.pieces.map((i) => gen.maps[i])));
    results.push({
      image: typeof file === "string" ? file : file.name, caption: gen.caption, words: gen.words.map((w) => w.word), tokens: gen.tokens, score: gen.score,
      maps: layerMaps.map((m) => selectMap(m, layer, head, H, gen.N)), layerMaps, heads: H, grid: gen.grid, inputSize: [img.shape[1], img.shape[2]],
    });
    onImage?.(results.length);
  }
  return results;
}

/** One image (3, h, w) encoded and captioned; maps per token and layer (heads, N) with N = 1 + gh*gw. */
function encodeAndGenerate(cap: AnyCaptioner, img: Tensor, o: CaptionOptions, be: Backend): Generated & { grid: [number, number]; N: number } {
  if (cap instanceof CatrCaptioner) {
    const enc = cap.model.encode([img], be);
    const gen = catrGenerate(cap, enc, 0, { beam: o.beam, maxTokens: o.maxLength, lengthPenalty: o.lengthPenalty }, be);
    const end = gen.ids.indexOf(cap.endToken, 1);
    const pieces = gen.ids.slice(1, end < 0 ? undefined : end);
    const H = cap.decoderConfig.numHeads;
    return {
      caption: capitalizeFirst(cap.tokenizer.decode(gen.ids)), words: cap.tokenizer.words(pieces),
      tokens: pieces.filter((id) => !cap.tokenizer.isSpecial(id)).map((id) => cap.tokenizer.piece(id)), score: gen.score,
      maps: gen.maps.map((perLayer) => perLayer.map((m) => withClsSlot(m, H, enc.N))), grid: [enc.gh, enc.gw], N: enc.N + 1,
    };
  }
  const tokens = cap.encoder.encode({ data: img.data, shape: [1, ...img.shape] }, be, { attentions: false }).tokens;
  const N = tokens.shape[1];
  return { ...generate(cap, tokens.data, N, o, be), grid: gridSize(cap.encoder.config), N };
}

/** (H, N) -> (H, 1 + N) with a zero first slot: a map of a model without a CLS token in the shared layout. */
function withClsSlot(m: Float32Array, H: number, N: number): Float32Array {
  const out = new Float32Array(H * (N + 1));
  for (let h = 0; h < H; h++) out.set(m.subarray(h * N, (h + 1) * N), h * (N + 1) + 1);
  return out;
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
export function scoreCaptions(
  results: Array<Pick<CaptionResult, "tokens" | "maps" | "grid"> & { words?: string[] }>, images: CaptionedImage[], cell: number | null,
): CaptionMetrics {
  const refs = images.map((img) => img.captions.map(tokenize));
  const hyps = results.map((r) => r.words ?? r.tokens);
  const exact = hyps.filter((h, i) => refs[i].some((r) => r.join(" ") === h.join(" "))).length;
  const itemWords = new Set(images.flatMap((img) => img.items.map((it) => it.word)));
  let [hits, named, misnamed] = [0, 0, 0];
  if (cell !== null) {
    results.forEach((r, i) => {
      const img = images[i];
      (r.words ?? r.tokens).forEach((word, t) => {
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
