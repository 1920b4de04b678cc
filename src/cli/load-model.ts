import { totalmem } from "node:os";
import { loadModel, type LoadedModel } from "../checkpoint/load.js";
import { VitlensError } from "../errors.js";
import { numTokens, type ViTConfig } from "../models/vit-config.js";
import { checkpointFlags, type CheckpointFlagValues } from "./options.js";
import { resolveModel } from "./resolve-run.js";

/** The most elements one Float32Array holds in this Node (a larger attention tensor cannot exist). */
const MAX_ELEMENTS = 2 ** 32;

/**
 * `--model` and the checkpoint flags, as every command that runs a ViT loads it: resolved (Hub ids
 * downloaded), loaded, and an `--image-size` checked against what a forward pass of `batch` images
 * needs — every layer's attention (batch, heads, N, N) is kept — before any image is read.
 */
export async function loadCliModel(spec: string, flags: CheckpointFlagValues, o: { batch?: number; shapesOnly?: boolean } = {}): Promise<LoadedModel> {
  const loaded = loadModel(await resolveModel(spec), { ...checkpointFlags(flags), shapesOnly: o.shapesOnly });
  if (flags.imageSize) checkForwardFits(loaded.model.config, flags.imageSize, o.batch ?? 1);
  return loaded;
}

/** One line naming --image-size when the attention a forward pass keeps cannot be held. */
export function checkForwardFits(c: ViTConfig, size: [number, number], batch: number): void {
  const N = numTokens(c);
  const perLayer = batch * c.numHeads * N * N; // (B, heads, N, N)
  const bytes = 4 * perLayer * c.numLayers;
  const memory = totalmem();
  if (perLayer <= MAX_ELEMENTS && bytes <= 0.75 * memory) return;
  const gb = (b: number) => `${(b / 1e9).toFixed(b < 1e10 ? 1 : 0)} GB`;
  throw new VitlensError(
    `--image-size ${size[0]}x${size[1]}: ${N.toLocaleString("en-US")} tokens per image; a forward pass keeps every layer's attention ` +
      `(${c.numLayers} layers x ${c.numHeads} heads x ${N.toLocaleString("en-US")}² x ${batch} image${batch === 1 ? "" : "s"}: ${gb(bytes)}), ` +
      `more than ${perLayer > MAX_ELEMENTS ? "one array can hold" : `this machine's ${gb(memory)} allow`}; use a smaller --image-size${batch > 1 ? " or --batch-size" : ""}`,
  );
}
