import { basename, extname, join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { readCocoCaptions } from "../caption/coco.js";
import { captionImages, clsShare, reselect, scoreCaptions, forScoring, type CaptionOptions, type CaptionResult, type MapSelection } from "../caption/evaluate.js";
import { captionStrip } from "../render/caption-strip.js";
import { gridCell } from "../caption/trainer.js";
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { expandImages } from "../data/image-files.js";
import { withExifFlag, num, positiveInt, precisionBackend, withPrecisionFlag, type PrecisionFlagValues } from "./options.js";
import { prepareOutputs } from "./outputs.js";
import { catchInterrupt, stoppedEarly } from "./interrupt.js";
import { taskProgress } from "./progress.js";
import { writeOut } from "./stdio.js";
import { plural } from "../words.js";
import { resolveCaptioner, type CatrFlags } from "./resolve-run.js";
import { CATR_TOKENIZER } from "../caption/wordpiece-tokenizer.js";
import { CATR_DEFAULT_HEADS } from "../models/catr-config.js";

const layerFlag = (v: string): number | "last" => {
  if (v === "last") return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a layer index (0, 1, ...) or "last"');
  return n;
};
const headFlag = (v: string): number | "mean" => {
  if (v === "mean") return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a head index (0, 1, ...) or "mean"');
  return n;
};
const beamFlag = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a beam width >= 1 (1 is greedy)");
  return n;
};

interface DecodeFlags extends PrecisionFlagValues { beam?: number; maxLen?: number; lengthPenalty?: number; prompt?: string; layer: number | "last"; head: number | "mean" }

function decodeOptions(cmd: Command): Command {
  return withPrecisionFlag(cmd)
    .option("--tokenizer <spec>", "CATR: its WordPiece vocabulary: a vocab.txt, a tokenizer.json, or a Hub id", CATR_TOKENIZER)
    .option("--heads <n>", `CATR: attention heads (not in the checkpoint; default ${CATR_DEFAULT_HEADS}, CATR's configuration)`, positiveInt)
    .option("--no-dilation", "CATR: run ResNet layer4 undilated (CATR's configuration dilates it: output stride 16)")
    .option("--beam <k>", "beam width (1: greedy; default: 1, or a Hugging Face model's generation config)", beamFlag)
    .option("--max-len <n>", "most tokens generated, as max_new_tokens (default: the model's limit, or its generation config's max_length)", positiveInt)
    .option("--prompt <text>", "BLIP: the text the caption starts with (e.g. \"a picture of\"); the caption includes it")
    .option("--length-penalty <a>", "beam score = log-probability / length^a (default: 1, or the generation config's)", num("--length-penalty"))
    .option("--layer <L|last>", "decoder layer whose cross-attention is drawn", layerFlag, "last" as const)
    .option("--head <H|mean>", "one head or the mean of the heads", headFlag, "mean" as const);
}

export function captionCommand(): Command {
  return withExifFlag(decodeOptions(new Command("caption")))
    .description("caption images; one strip per image: the image and each word's cross-attention map")
    .requiredOption("--model <spec>", "a train-captioner run (its best/) or captioner folder, a Hugging Face ViT + GPT-2 VisionEncoderDecoder or BLIP folder or Hub id (owner/name[@revision]), a CATR checkpoint (.pth) or release (catr-v1, catr-v2, catr-v3), or a preset (vit-gpt2, blip-base, catr: random weights)")
    .option("--out <dir>", "folder for <image>.caption.png strips and captions.json (required unless --json)")
    .option("--json", "print one JSON line per image: image, caption, words, tokens, score (without --out, write nothing)")
    .option("--raw", "also write <image>.caption.safetensors: maps (words, layers, heads, gh, gw) and cls_share (words, layers, heads)")
    .option("--force", "overwrite existing outputs")
    .argument("<images...>", "image files or folders")
    .action(async (inputs: string[], o: DecodeFlags & CatrFlags & { model: string; out?: string; json?: boolean; raw?: boolean; force?: boolean }) => {
      if (o.out === undefined && !o.json) throw new VitlensError("--out <dir> is required unless --json prints the captions");
      if (o.out === undefined && o.raw) throw new VitlensError("--raw writes <image>.caption.safetensors into --out: give --out <dir>");
      const out = o.out;
      const files = expandImages(inputs);
      const stems = files.map((f) => basename(f, extname(f)));
      if (out !== undefined && new Set(stems).size !== stems.length) throw new VitlensError("two input images share a file name; their strips would overwrite each other");
      // every file this run writes, checked before the captioner is loaded
      if (out !== undefined) {
        prepareOutputs([
          { flag: "--out", path: out, kind: "folder" },
          ...stems.flatMap((s) => [{ path: join(out, `${s}.caption.png`), kind: "file" as const }, o.raw && { path: join(out, `${s}.caption.safetensors`), kind: "file" as const }]),
        ], o.force);
      }
      const cap = await resolveCaptioner(o.model, catrFlags(o));
      const be = precisionBackend(o);
      const interrupted = catchInterrupt(); // Ctrl-C: the strips so far and their captions.json are kept, exit 130
      const progress = taskProgress("caption", files.length, "images");
      const results: CaptionResult[] = [];
      for (const [i, file] of files.entries()) {
        if (interrupted()) break;
        const [r] = await captionImages(cap, [file], decodeSettings(o), be); // one at a time: progress, and a Ctrl-C keeps what is done
        results.push(r);
        if (out !== undefined) writeFileAtomic(join(out, `${stems[i]}.caption.png`), [await captionStrip(r, r.inputSize)]);
        if (out !== undefined && o.raw) writeSafetensors(join(out, `${stems[i]}.caption.safetensors`), rawMaps(r), { format: "pt", words: JSON.stringify(r.words), tokens: JSON.stringify(r.tokens) });
        progress.print(o.json ? JSON.stringify(captionRecord(r)) + "\n" : `${r.image}: ${r.caption}  (score ${r.score.toFixed(3)})\n`);
        progress.update(i + 1);
      }
      progress.stop();
      if (out !== undefined) writeFileAtomic(join(out, "captions.json"), [JSON.stringify(results.map((r, i) => ({ ...captionRecord(r), strip: `${stems[i]}.caption.png` })), null, 2) + "\n"]);
      if (stoppedEarly(results.length, files.length)) process.stderr.write(`vitlens: interrupted after ${results.length} of ${plural(files.length, "image")}: ${out !== undefined ? `their strips and captions.json kept in ${out}` : "their captions printed"}\n`);
    });
}

export function evalCaptionerCommand(): Command {
  return withExifFlag(decodeOptions(new Command("eval-captioner")))
    .description("caption a held-out COCO split: exact match, BLEU-4 and, on grounded data, grounding of each item word's map")
    .requiredOption("--model <spec>", "a train-captioner run (its best/) or captioner folder, a Hugging Face captioner, or a CATR checkpoint / release")
    .requiredOption("--captions <json>", "COCO captions of the held-out images")
    .requiredOption("--images <dir>", "folder the file_names are relative to")
    .option("--limit <n>", "only the first n images", positiveInt)
    .option("--json", "print the metrics as JSON")
    .action(async (o: DecodeFlags & CatrFlags & { model: string; captions: string; images: string; limit?: number; json?: boolean }) => {
      const cap = await resolveCaptioner(o.model, catrFlags(o));
      const data = readCocoCaptions(o.captions, o.images, false);
      const images = data.images.slice(0, o.limit ?? data.images.length);
      const progress = taskProgress("eval-captioner", images.length, "images");
      const results = (await captionImages(cap, images.map((i) => i.file), decodeSettings(o), precisionBackend(o), (done) => progress.update(done))).map((r) => forScoring(cap, r));
      progress.stop();
      const grounded = images.every((i) => i.items.length > 0);
      const cell = grounded ? gridCell(o.captions) : null;
      const m = scoreCaptions(results, images, cell);
      // Grounding of every decoder layer (mean of heads), besides the selected layer/head.
      const perLayer = cell === null ? [] : Array.from({ length: cap.decoderConfig.numLayers }, (_, l) =>
        scoreCaptions(results.map((r) => reselect(r, l, "mean")), images, cell).grounding!);
      if (o.json) {
        writeOut(JSON.stringify({
          ...m, grounding_per_layer: perLayer.map((g, l) => ({ layer: l, head: "mean", ...g })),
          beam: o.beam, layer: o.layer, head: o.head, skipped_missing: data.skippedMissing, skipped_empty: data.skippedEmpty,
        }) + "\n");
        return;
      }
      const lines = [
        `images          ${m.images}${data.skippedMissing ? ` (${data.skippedMissing} annotations skipped: missing images)` : ""}`,
        `exact match     ${(100 * m.exactMatch).toFixed(2)}%`,
        `BLEU-4          ${m.bleu4.toFixed(4)}`,
      ];
      const g = m.grounding;
      if (g) {
        lines.push(
          `grounding       ${(100 * g.share).toFixed(2)}% of ${g.named} item words naming an item in the image have their map maximum in its cell (decoder layer ${o.layer}, head ${o.head})`,
          `                ${g.misnamed} item words name an item the image does not hold; counted as misses: ${(100 * g.strictShare).toFixed(2)}%`,
          ...perLayer.map((p, l) => `  layer ${l}, mean of heads: ${(100 * p.share).toFixed(2)}% (strict ${(100 * p.strictShare).toFixed(2)}%)`),
        );
      }
      writeOut(lines.join("\n") + "\n");
    });
}

/** The CATR flags as given (the tokenizer only when not the default, so a captioner folder does not refuse it). */
function catrFlags(o: CatrFlags): CatrFlags {
  return { tokenizer: o.tokenizer !== CATR_TOKENIZER ? o.tokenizer : undefined, heads: o.heads, dilation: o.dilation };
}

/** What was given on the command line; the rest comes from the model (captionImages). */
function decodeSettings(o: DecodeFlags): CaptionOptions {
  const selection: MapSelection = { layer: o.layer, head: o.head };
  return { beam: o.beam, maxLength: o.maxLen, lengthPenalty: o.lengthPenalty, prompt: o.prompt, ...selection };
}

/** One output format for every captioner: `words` as drawn, `tokens` the model's pieces. */
function captionRecord(r: CaptionResult): { image: string; caption: string; words: string[]; tokens: string[]; score: number } {
  return { image: r.image, caption: r.caption, words: r.words, tokens: r.tokens, score: r.score };
}

/** maps (words, layers, heads, gh, gw) over the patches, cls_share (words, layers, heads): every layer and head, not only the drawn one. */
function rawMaps(r: CaptionResult): Map<string, { data: Float32Array; shape: number[] }> {
  const [gh, gw] = r.grid;
  const P = gh * gw;
  const L = r.layerMaps[0]?.length ?? 0;
  const H = r.heads;
  const data = new Float32Array(r.layerMaps.length * L * H * P);
  r.layerMaps.forEach((perLayer, w) => perLayer.forEach((m, l) => {
    for (let h = 0; h < H; h++) data.set(m.subarray(h * (P + 1) + 1, (h + 1) * (P + 1)), ((w * L + l) * H + h) * P);
  }));
  return new Map([
    ["maps", { data, shape: [r.layerMaps.length, L, H, gh, gw] }],
    ["cls_share", { data: clsShare(r), shape: [r.layerMaps.length, L, H] }],
  ]);
}
