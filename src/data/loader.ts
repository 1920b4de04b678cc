import type { Tensor } from "../tensor.js";
import { VitlensError } from "../errors.js";
import { deriveSeed, Rng } from "../random.js";
import { augmentedPixels, type AugmentOptions } from "./augment.js";
import { imagePixels } from "./preprocess.js";
import type { Dataset } from "./datasets.js";
import type { PreprocessConfig } from "./preprocess-config.js";

export interface Batch {
  pixels: Tensor; // (B, 3, H, W)
  labels: Int32Array; // (B)
  indices: number[]; // dataset indices in the batch (skipped samples left out)
}

export interface LoaderOptions {
  batchSize: number;
  preprocess: PreprocessConfig;
  augment: AugmentOptions | null; // null: evaluation view
  seed: number;
  epoch: number;
  strict: boolean; // a corrupt sample fails the run instead of being skipped
  onSkip?: (name: string, reason: string) => void;
}

/**
 * Batches over `order`, decoding in parallel (sharp runs on libuv's pool) and prefetching
 * the next batch while the current one computes. Augmentation draws come from
 * (seed, epoch, index), so a resumed run sees exactly the same pixels.
 */
export async function* batches(ds: Dataset, order: number[], o: LoaderOptions, startStep = 0): AsyncGenerator<Batch> {
  const steps = Math.ceil(order.length / o.batchSize);
  const [H, W] = o.preprocess.size;
  const load = async (step: number): Promise<Batch> => {
    const idx = order.slice(step * o.batchSize, (step + 1) * o.batchSize);
    const images = await Promise.all(
      idx.map((i) =>
        ds.raw(i).catch((e: unknown) => {
          if (o.strict || !(e instanceof VitlensError)) throw e;
          o.onSkip?.(ds.name(i), (e as Error).message);
          return null;
        }),
      ),
    );
    const kept = idx.filter((_, k) => images[k] !== null);
    const pixels = new Float32Array(kept.length * 3 * H * W);
    const present = images.flatMap((img, k) => (img ? [{ img, k }] : []));
    await Promise.all(present.map(({ img, k }, b) => {
      const out = pixels.subarray(b * 3 * H * W, (b + 1) * 3 * H * W);
      return o.augment
        ? augmentedPixels(img, o.preprocess, o.augment, new Rng(deriveSeed(o.seed, o.epoch, idx[k])), out)
        : imagePixels(img, o.preprocess, {}, out); // the inference path, exactly
    }));
    return { pixels: { data: pixels, shape: [kept.length, 3, H, W] }, labels: Int32Array.from(kept, (i) => ds.labels[i]), indices: kept };
  };
  let next = startStep < steps ? load(startStep) : null;
  for (let step = startStep; step < steps; step++) {
    const current = await next!;
    next = step + 1 < steps ? load(step + 1) : null;
    next?.catch(() => undefined); // surfaced when awaited; avoid an unhandled rejection meanwhile
    yield current;
  }
}
