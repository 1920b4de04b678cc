import { VitlensError } from "../errors.js";
import type { Dataset } from "./datasets.js";

/*
 * One rule for classes, everywhere (train, --val, eval; folders, CSV, parquet): a dataset whose
 * classes have names is matched to a model's classes by name — exactly, else after folding case
 * and non-alphanumerics ("T-shirt/top" = "T-shirt-top" = "t_shirt_top"). Integer labels
 * (`<label>_<id>` files, IDX, a CSV of integers) are the model's indices.
 */

/** Lower case, letters and digits only: what a folder or file name keeps of a class name. */
export function foldClassName(name: string): string {
  return name.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
}

export interface ClassMatch {
  /** data class -> model class, -1 where none matches */
  toModel: Int32Array;
  /** the data's classes that match no model class (by name, in the data's order) */
  unmatched: string[];
}

/** Each data class to the model class of the same name, else of the same folded name (when only one folds so). */
export function matchClassNames(dataNames: string[], modelNames: string[]): ClassMatch {
  const exact = new Map(modelNames.map((n, i) => [n, i] as const));
  const folded = new Map<string, number>();
  modelNames.forEach((n, i) => {
    const key = foldClassName(n);
    folded.set(key, folded.has(key) ? -1 : i); // -1: two model classes fold alike, so only exact names match
  });
  const toModel = Int32Array.from(dataNames, (n) => exact.get(n) ?? Math.max(-1, folded.get(foldClassName(n)) ?? -1));
  return { toModel, unmatched: dataNames.filter((_, i) => toModel[i] < 0) };
}

export interface Aligned {
  /** the samples relabelled with the model's indices; classNames are the model's */
  ds: Dataset;
  unmatched: string[];
  /** samples left out because their class matches none of the model's */
  dropped: number;
}

/**
 * The dataset in the model's classes. Named classes are matched by name; samples of classes that
 * match none are left out (the caller decides whether that is an error). Integer labels must be
 * below the model's class count.
 */
export function alignToModel(ds: Dataset, modelNames: string[], what: string): Aligned {
  if (ds.labelKind === "indices") {
    const top = ds.labels.reduce((m, v) => Math.max(m, v), -1);
    if (top >= modelNames.length) {
      throw new VitlensError(`${what}: integer labels go up to ${top} but the model has ${modelNames.length} classes (${preview(modelNames)})`);
    }
    return { ds: { ...ds, classNames: modelNames }, unmatched: [], dropped: 0 };
  }
  const { toModel, unmatched } = matchClassNames(ds.classNames, modelNames);
  const kept: number[] = [];
  for (let i = 0; i < ds.size; i++) if (toModel[ds.labels[i]] >= 0) kept.push(i);
  const labels = Int32Array.from(kept, (i) => toModel[ds.labels[i]]);
  const identity = kept.length === ds.size && toModel.every((m, i) => m === i) && ds.classNames.length === modelNames.length;
  if (identity) return { ds: { ...ds, classNames: modelNames }, unmatched, dropped: 0 };
  const view: Dataset = {
    ...ds,
    size: kept.length,
    labels,
    classNames: modelNames,
    labelKind: "indices",
    name: (i) => ds.name(kept[i]),
    raw: (i) => ds.raw(kept[i]),
  };
  return { ds: view, unmatched, dropped: ds.size - kept.length };
}

/** Classes that hold no sample (a warning: empty class folders, gaps in integer labels, unused ClassLabel names). */
export function emptyClasses(ds: Dataset): string[] {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  for (const y of ds.labels) counts[y]++;
  return ds.classNames.filter((_, i) => counts[i] === 0);
}

/** The classes that hold samples. */
export function populatedClassCount(ds: Dataset): number {
  return new Set(ds.labels).size;
}

export const preview = (names: string[], n = 3): string =>
  `${names.slice(0, n).map((s) => JSON.stringify(s)).join(", ")}${names.length > n ? `, ... (${names.length} in all)` : ""}`;
