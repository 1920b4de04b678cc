// The captioner thread: loads the captioner once, then captions images sent as decoded pixels.
import { workerData } from "node:worker_threads";
import { loadCatrCaptioner } from "../caption/catr-captioner.js";
import { loadAnyCaptioner } from "../caption/load-any.js";
import { WordPieceTokenizer } from "../caption/wordpiece-tokenizer.js";
import { VitlensError } from "../errors.js";
import { statSync } from "node:fs";
import { captionImages, reselect, resolveSelection, type AnyCaptioner, type CaptionResult, type MapSelection } from "../caption/evaluate.js";
import type { RawImage } from "../data/raw-image.js";
import { gridSize } from "../models/vit-config.js";
import { LruCache } from "./cache.js";
import type { Precision } from "../backend/precision.js";
import type { Backend } from "../backend/index.js";
import { serveThread, threadBackend } from "../worker/thread-server.js";

export interface CaptionCall extends MapSelection {
  key: string;
  name: string;
  image: RawImage;
  beam: number;
}

const { dir, cacheBytes, threads, tokenizer, precision } = workerData as { threads: number; precision?: Precision; dir: string; cacheBytes: number; tokenizer: string | null };

/** A captioner folder (vitlens' own, Hugging Face ViT + GPT-2), or a CATR checkpoint file with its tokenizer file. */
function loadServed(): { cap: AnyCaptioner; grid: [number, number]; imageSize: [number, number] } {
  if (!statSync(dir).isFile()) {
    const cap = loadAnyCaptioner(dir);
    return { cap, grid: gridSize(cap.encoder.config), imageSize: cap.encoder.config.imageSize };
  }
  if (tokenizer === null) throw new VitlensError(`${dir}: a CATR checkpoint needs its WordPiece vocabulary (--tokenizer)`);
  const cap = loadCatrCaptioner(dir, WordPieceTokenizer.load(tokenizer));
  // CATR's grid follows each image's size; the info shows a 299 x 224 image's.
  return { cap, grid: [19, 14], imageSize: [299, 299] };
}

/** The calls this thread answers (the server calls them through TypedThread<CaptionHandlers>). */
function captionHandlers(cap: AnyCaptioner, be: Backend) {
  const d = cap.decoderConfig;
  // Captions by image and beam: a new layer / head only reselects the maps.
  const captions = new LruCache<CaptionResult>(cacheBytes, (r) => r.layerMaps.reduce((n, l) => n + l.reduce((m, a) => m + a.byteLength, 0), 0));
  return {
    caption: async (c: CaptionCall) => {
      const { layer, head } = resolveSelection(cap, c);
      const cacheKey = `${c.key}/${c.beam}`;
      let r = captions.get(cacheKey);
      if (!r) {
        [r] = await captionImages(cap, [{ name: c.name, image: c.image }], { beam: c.beam, maxLength: d.maxLength, lengthPenalty: 1, layer, head }, be);
        captions.set(cacheKey, r);
      }
      const selected = reselect(r, layer, head);
      const N = r.grid[0] * r.grid[1] + 1;
      // Each word's attention on the encoder's CLS token, same layer and head(s): the share not on any patch.
      const heads = head === "mean" ? [...Array(r.heads).keys()] : [head];
      const cls = r.layerMaps.map((perLayer) => heads.reduce((s, h) => s + perLayer[layer][h * N] / heads.length, 0));
      // caption --json's fields as they are, the maps as plain arrays (layerMaps stay here).
      const json: Omit<CaptionResult, "layerMaps"> & { layerMaps?: unknown } = { ...selected };
      delete json.layerMaps;
      return { value: { ...json, grid: r.grid, layer, head, maps: selected.maps.map((m) => Array.from(m)), cls } };
    },
  };
}

export type CaptionHandlers = ReturnType<typeof captionHandlers>;

serveThread(() => {
  const served = loadServed();
  const d = served.cap.decoderConfig;
  return {
    info: {
      source: dir, grid: served.grid, imageSize: served.imageSize,
      layers: d.numLayers, heads: d.numHeads, maxLength: d.maxLength,
    },
    handlers: captionHandlers(served.cap, threadBackend(threads, precision)),
  };
});
