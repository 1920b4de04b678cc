import { existsSync, readdirSync } from "node:fs";
import { extname, join } from "node:path";
import { readJson } from "../io/read-json.js";
import { packageRoot } from "../package-root.js";
import type { Sample, SamplesAnswer } from "./contract.js";

export const IMAGE_TYPES: Record<string, string> = { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp" };

/** A folder of bundled images and what they were made for. */
interface SampleSet {
  name: string;
  /** Sample name (its path under samples/) -> file. */
  files: Map<string, string>;
  /** The images' side in pixels, or null for photos (any ImageNet-sized model). */
  size: number | null;
  /** The class names the images show (from `<index>_<name>.png`), for matching a classifier's labels. */
  labels: string[];
  madeFor: "classifier" | "captioner" | "any";
}

const images = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => IMAGE_TYPES[extname(f).toLowerCase()]).sort() : []);
const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/** The bundled samples: Fashion-MNIST items (28 px, by class), the captioner's 2x2 grids, photos. */
export function sampleSets(root = join(packageRoot(), "samples")): SampleSet[] {
  const sets: SampleSet[] = [];
  const fashion = images(join(root, "fashion"));
  if (fashion.length) {
    sets.push({
      name: "fashion", files: new Map(fashion.map((f) => [`fashion/${f}`, join(root, "fashion", f)])), size: 28, madeFor: "any",
      labels: fashion.map((f) => f.replace(/^\d+_/, "").replace(/\.[^.]+$/, "")),
    });
  }
  const grids = images(join(root, "grids", "val"));
  if (grids.length) {
    const info = existsSync(join(root, "grids", "val.json")) ? (readJson(join(root, "grids", "val.json")).info as { grid?: number; cell?: number } | undefined) : undefined;
    sets.push({ name: "grids", files: new Map(grids.map((f) => [`grids/val/${f}`, join(root, "grids", "val", f)])), size: (info?.grid ?? 2) * (info?.cell ?? 28), labels: [], madeFor: "captioner" });
  }
  const photos = images(root);
  if (photos.length) sets.push({ name: "photos", files: new Map(photos.map((f) => [f, join(root, f)])), size: null, labels: [], madeFor: "any" });
  return sets;
}

/** Every sample's file by name (what GET /samples/* may serve). */
export function sampleFiles(sets: SampleSet[]): Map<string, string> {
  return new Map(sets.flatMap((s) => [...s.files]));
}

/** Most of the set's classes are among the model's labels: the model was made for these images. */
function labelsMatch(set: SampleSet, labels: string[]): boolean {
  if (!set.labels.length) return false;
  const known = new Set(labels.map(norm));
  return set.labels.filter((l) => known.has(norm(l))).length >= 0.8 * set.labels.length;
}

/** Images of about the model's input size; photos for ImageNet-sized inputs (96 px and more). */
function sizeFits(set: SampleSet, input: [number, number]): boolean {
  const side = Math.min(...input);
  if (set.size === null) return side >= 96;
  return set.size / side >= 0.75 && set.size / side <= 1.5;
}

const list = (sets: SampleSet[], own: (s: SampleSet) => boolean): Sample[] =>
  [...sets.filter(own), ...sets.filter((s) => !own(s))].flatMap((s) => [...s.files.keys()].map((name) => ({ name, set: s.name, own: own(s) })));

/**
 * The samples each view offers: only images the model was made for (its own classes or data
 * first, then images of a fitting size); all of them, with a note, when none fits.
 */
export function samplesFor(sets: SampleSet[], model: { labels: string[]; imageSize: [number, number]; source: string }, captioner: { imageSize: [number, number]; source: string } | null): SamplesAnswer {
  const notes: string[] = [];
  const forClassifier = sets.filter((s) => s.madeFor !== "captioner");
  let classify = forClassifier.filter((s) => labelsMatch(s, model.labels) || sizeFits(s, model.imageSize));
  if (!classify.length) {
    notes.push(`no bundled sample was made for ${model.source} (${model.imageSize.join("x")} input): every sample is offered; upload your own images`);
    classify = forClassifier;
  }
  let caption: SampleSet[] = [];
  if (captioner) {
    caption = sets.filter((s) => s.madeFor !== "classifier" && sizeFits(s, captioner.imageSize));
    if (!caption.length) {
      notes.push(`no bundled sample was made for the captioner (${captioner.imageSize.join("x")} input): every sample is offered`);
      caption = sets;
    }
  }
  return {
    classify: list(classify, (s) => labelsMatch(s, model.labels)),
    caption: list(caption, (s) => s.madeFor === "captioner" && s.size === Math.min(...captioner!.imageSize)),
    notes,
  };
}
