import { loadModel, type LoadedModel } from "../checkpoint/load.js";
import { checkForwardFits } from "../models/memory-fit.js";
import { checkpointFlags, type CheckpointFlagValues } from "./options.js";
import { resolveModel } from "./resolve-run.js";

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
