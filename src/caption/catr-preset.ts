import type { Backend } from "../backend/backend.js";
import { CATR_BACKBONE_PREFIX } from "../checkpoint/keymap-catr.js";
import { catrParameterShapes, CATR_PRESET_CONFIG } from "../models/catr-config.js";
import { resnetConvs, type ResnetConfig } from "../models/resnet-config.js";
import { Rng } from "../random.js";
import { numel, type Tensor } from "../tensor.js";
import { CATR_PREPROCESS, CatrCaptioner, catrFromState } from "./catr-captioner.js";
import { bertLikeVocabulary, WordPieceTokenizer } from "./wordpiece-tokenizer.js";

/** torchvision's ResNet-101 trunk (Bottleneck [3, 4, 23, 3]) with layer4 dilated: CATR's backbone. */
const RESNET101: ResnetConfig = {
  block: "bottleneck", layers: [3, 4, 23, 3], stemChannels: 64, widths: [64, 128, 256, 512], outChannels: [256, 512, 1024, 2048], dilateLayer4: true,
};

/**
 * Preset `catr`: CATR's real shapes (ResNet-101 dilated, hidden 256, 6 + 6 layers, 8 heads,
 * feed-forward 2048, head 512, vocabulary 30,522, 128 positions) with random weights, for
 * benchmarks and smoke tests. Xavier-uniform matrices as CATR initializes them; each block's last
 * BatchNorm scaled down so 33 random residual blocks stay finite.
 */
export function catrPreset(o: { seed?: number; backend?: Backend } = {}): CatrCaptioner {
  const model = catrFromState(catrPresetTensors(o.seed), "preset catr", { backend: o.backend });
  return new CatrCaptioner(model, WordPieceTokenizer.fromVocab(bertLikeVocabulary(CATR_PRESET_CONFIG.vocabSize), {}, "preset catr's stand-in vocabulary"), CATR_PREPROCESS, "preset catr");
}

/** The preset's state dict under CATR's own names (backbone.0.body.*, transformer.*, ...). */
export function catrPresetTensors(seed = 0): Map<string, Tensor> {
  const rng = new Rng(seed);
  const tensors = new Map<string, Tensor>();
  const put = (key: string, shape: number[], fill: (i: number) => number) => tensors.set(key, { data: Float32Array.from({ length: numel(shape) }, (_, i) => fill(i)), shape });
  const c = CATR_PRESET_CONFIG;
  for (const [key, shape] of catrParameterShapes(c)) {
    if (shape.length === 1) {
      put(key, shape, () => (/norm\d?\.weight$|LayerNorm\.weight$/.test(key) ? 1 : 0));
      continue;
    }
    const fanOut = shape[0];
    const fanIn = numel(shape) / fanOut;
    const bound = Math.sqrt(6 / (fanIn + fanOut));
    put(key, shape, () => (2 * rng.next() - 1) * bound);
  }
  for (const conv of resnetConvs(RESNET101, (key) => /^layer\d\.0\.downsample/.test(key))) {
    const shape = [conv.outChannels, conv.inChannels, conv.kernel, conv.kernel];
    const std = Math.sqrt(2 / (conv.inChannels * conv.kernel * conv.kernel)); // He init
    put(`${CATR_BACKBONE_PREFIX}${conv.conv}.weight`, shape, () => rng.normal() * std);
    const last = /conv3$/.test(conv.conv);
    put(`${CATR_BACKBONE_PREFIX}${conv.bn}.weight`, [conv.outChannels], () => (last ? 0.2 : 1));
    put(`${CATR_BACKBONE_PREFIX}${conv.bn}.bias`, [conv.outChannels], () => 0);
    put(`${CATR_BACKBONE_PREFIX}${conv.bn}.running_mean`, [conv.outChannels], () => 0);
    put(`${CATR_BACKBONE_PREFIX}${conv.bn}.running_var`, [conv.outChannels], () => 1);
  }
  return tensors;
}
