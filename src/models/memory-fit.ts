import { totalmem } from "node:os";
import { VitlensError } from "../errors.js";
import { listPlan, planBytes, type PassPlan } from "../nn/activation-plan.js";
import { encoderBlockActs } from "../nn/encoder-block.js";
import { numTokens, type ViTConfig } from "./vit-config.js";

/*
 * Whether a pass at an --image-size fits before any image is read: attention grows with N², so a
 * large size runs out of memory (or past what one array holds) deep into a run otherwise.
 */

/** The most elements one Float32Array holds in this Node (a larger attention tensor cannot exist). */
const MAX_ELEMENTS = 2 ** 32;

const gb = (b: number) => `${(b / 1e9).toFixed(b < 1e10 ? 1 : 0)} GB`;
const images = (batch: number) => `${batch} image${batch === 1 ? "" : "s"}`;

/** The bytes of the encoder blocks' activations in a pass of this plan (nn/activation-plan.ts) over `batch` images. */
export function blockActivationBytes(c: ViTConfig, batch: number, plan: PassPlan): number {
  const sizes = { D: c.hiddenSize, H: c.numHeads, M: c.mlpSize, A: c.attentionSize ?? c.hiddenSize };
  return planBytes(listPlan(plan, (source) => encoderBlockActs({ B: batch, T: numTokens(c) }, sizes, source)), c.numLayers);
}

/** One line naming --image-size when the attention a forward pass keeps cannot be held. */
export function checkForwardFits(c: ViTConfig, size: [number, number], batch: number): void {
  const N = numTokens(c);
  const perLayer = batch * c.numHeads * N * N; // (B, heads, N, N)
  const bytes = blockActivationBytes(c, batch, "inference");
  const memory = totalmem();
  if (perLayer <= MAX_ELEMENTS && bytes <= 0.75 * memory) return;
  throw new VitlensError(
    `--image-size ${size[0]}x${size[1]}: ${N.toLocaleString("en-US")} tokens per image; a forward pass keeps every layer's attention ` +
      `(${c.numLayers} layers x ${c.numHeads} heads x ${N.toLocaleString("en-US")}² x ${images(batch)}: ${gb(bytes)}), ` +
      `more than ${perLayer > MAX_ELEMENTS ? "one array can hold" : `this machine's ${gb(memory)} allow`}; use a smaller --image-size${batch > 1 ? " or --batch-size" : ""}`,
  );
}

/**
 * A training step's memory, estimated: the kept pass's activations (its plan), backward's scratch
 * (two attention tensors — dL/d(probs), dL/d(scores) — and per token about 8 rows of the
 * attention width, 6 of the model's and 2 of the MLP's, as selfAttentionBackward / mlpBackward
 * take them), dropout's copies of the probabilities, and four copies of the weights (values,
 * gradients, two optimizer moments).
 */
export function trainingBytes(c: ViTConfig, batch: number, numParameters: number): number {
  const N = numTokens(c);
  const A = c.attentionSize ?? c.hiddenSize;
  const attention = batch * c.numHeads * N * N;
  const scratch = 2 * attention + batch * N * (8 * A + 6 * c.hiddenSize + 2 * c.mlpSize);
  const dropped = c.attentionDropout > 0 ? c.numLayers * attention : 0;
  return blockActivationBytes(c, batch, "kept") + 4 * (scratch + dropped + 4 * numParameters);
}

/** One line naming --image-size / --batch-size when a training step cannot be held. */
export function checkTrainingFits(c: ViTConfig, batch: number, numParameters: number): void {
  const N = numTokens(c);
  const bytes = trainingBytes(c, batch, numParameters);
  const memory = totalmem();
  if (batch * c.numHeads * N * N <= MAX_ELEMENTS && bytes <= 0.75 * memory) return;
  throw new VitlensError(
    `--image-size ${c.imageSize[0]}x${c.imageSize[1]} with --batch-size ${batch}: ${N.toLocaleString("en-US")} tokens per image; a training step ` +
      `keeps every layer's activations (about ${gb(bytes)} for ${images(batch)}), more than this machine's ${gb(memory)} allow; ` +
      `use a smaller --image-size or --batch-size`,
  );
}
