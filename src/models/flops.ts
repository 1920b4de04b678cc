import { gridSize, numTokens, type ViTConfig } from "./vit-config.js";

/** Floating-point operations of one image's forward pass (2 per multiply-add; matmuls only). */
export function forwardFlops(c: ViTConfig): number {
  const D = c.hiddenSize;
  const N = numTokens(c);
  const [gh, gw] = gridSize(c);
  const patchEmbed = gh * gw * c.numChannels * c.patchSize ** 2 * D;
  const perLayer = N * D * 3 * D + 2 * N * N * D + N * D * D + 2 * N * D * c.mlpSize;
  return 2 * (patchEmbed + c.numLayers * perLayer + D * c.numClasses);
}
