import { VitlensError } from "../errors.js";
import { sameShape, shapeString, type Tensor } from "../tensor.js";

/**
 * A torchvision ResNet trunk (conv1, bn1, maxpool, layer1..4; no avgpool / fc) as its state dict
 * shows it: the block type, the blocks per layer and every width come from the keys and shapes.
 * Dilation is not visible in the weights: `dilateLayer4` is torchvision's
 * replace_stride_with_dilation=[False, False, True] (DETR / CATR: output stride 16, not 32).
 */
export interface ResnetConfig {
  block: "basic" | "bottleneck";
  layers: number[]; // blocks per layer, e.g. [3, 4, 23, 3] for ResNet-101
  stemChannels: number; // conv1's output channels (64 in torchvision)
  widths: number[]; // each layer's inner width: its blocks' conv1 output channels
  outChannels: number[]; // each layer's output channels (width * 4 for a torchvision Bottleneck)
  dilateLayer4: boolean;
}

export interface ResnetOptions {
  dilateLayer4?: boolean; // true when omitted: CATR's configuration
}

/** One convolution of the trunk with its frozen BatchNorm: key stems and what the block does with it. */
export interface ResnetConv {
  conv: string; // "layer1.0.conv1" (weight key = prefix + conv + ".weight")
  bn: string; // "layer1.0.bn1"
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  dilation: number;
}

/** The blocks' convolutions, in order, of layer `l` (0-based) block `i`, with strides and dilations placed as torchvision places them. */
export interface ResnetBlock {
  convs: ResnetConv[]; // conv1, conv2[, conv3]
  downsample: ResnetConv | null; // 1x1 projection of the block's input when its shape changes
}

const STEM_KERNEL = 7;
const BN_PARTS = ["weight", "bias", "running_mean", "running_var"];

/** Reads the trunk's architecture from the keys under `prefix` and checks every shape against it. */
export function resnetConfigFromKeys(tensors: Map<string, Tensor>, prefix: string, opts: ResnetOptions = {}): ResnetConfig {
  const dilateLayer4 = opts.dilateLayer4 ?? true;
  const shapeOf = (key: string): number[] => {
    const t = tensors.get(prefix + key);
    if (!t) throw new VitlensError(`${prefix}${key}: missing from the ResNet state dict`);
    return t.shape;
  };
  const stem = shapeOf("conv1.weight");
  if (stem.length !== 4) throw new VitlensError(`${prefix}conv1.weight: expected a 4-D convolution weight, found ${shapeString(stem)}`);
  const bottleneck = tensors.has(`${prefix}layer1.0.conv3.weight`);
  const layers: number[] = [];
  const widths: number[] = [];
  const outChannels: number[] = [];
  for (let l = 1; l <= 4; l++) {
    let blocks = 0;
    while (tensors.has(`${prefix}layer${l}.${blocks}.conv1.weight`)) blocks++;
    if (blocks === 0) throw new VitlensError(`${prefix}layer${l}.0.conv1.weight: missing from the ResNet state dict (a torchvision ResNet has layer1..layer4)`);
    layers.push(blocks);
    widths.push(shapeOf(`layer${l}.0.conv1.weight`)[0]);
    outChannels.push(shapeOf(`layer${l}.0.${bottleneck ? "conv3" : "conv2"}.weight`)[0]);
  }
  if (dilateLayer4 && !bottleneck) {
    throw new VitlensError(
      `${prefix}layer1.0: a BasicBlock ResNet (18/34) cannot dilate layer4 (torchvision refuses dilation > 1 in BasicBlock); turn dilation off (--no-dilation)`,
    );
  }
  const config: ResnetConfig = { block: bottleneck ? "bottleneck" : "basic", layers, stemChannels: stem[0], widths, outChannels, dilateLayer4 };
  checkResnetShapes(tensors, prefix, config);
  return config;
}

/** Every convolution of the trunk, in torchvision's order, with its stride and dilation. */
export function resnetBlocks(c: ResnetConfig, hasDownsample: (key: string) => boolean): ResnetBlock[][] {
  let inChannels = c.stemChannels;
  let dilation = 1;
  return c.layers.map((blocks, l) => {
    // torchvision's _make_layer: a dilated layer keeps stride 1; its first block keeps the previous dilation.
    const dilate = l === 3 && c.dilateLayer4;
    const previousDilation = dilation;
    let stride = l === 0 ? 1 : 2;
    if (dilate) {
      dilation *= stride;
      stride = 1;
    }
    const width = c.widths[l];
    const out = c.outChannels[l];
    return Array.from({ length: blocks }, (_, i) => {
      const name = `layer${l + 1}.${i}`;
      const s = i === 0 ? stride : 1;
      const d = i === 0 ? previousDilation : dilation;
      const conv = (n: number, cin: number, cout: number, kernel: number, st: number, dil: number): ResnetConv =>
        ({ conv: `${name}.conv${n}`, bn: `${name}.bn${n}`, inChannels: cin, outChannels: cout, kernel, stride: st, dilation: dil });
      // Bottleneck (torchvision v1.5): the stride sits on the 3x3 conv2; BasicBlock: on conv1.
      const convs = c.block === "bottleneck"
        ? [conv(1, inChannels, width, 1, 1, 1), conv(2, width, width, 3, s, d), conv(3, width, out, 1, 1, 1)]
        : [conv(1, inChannels, width, 3, s, d), conv(2, width, out, 3, 1, d)];
      const needsProjection = s !== 1 || inChannels !== out;
      const downsample = needsProjection || hasDownsample(`${name}.downsample.0.weight`)
        ? { conv: `${name}.downsample.0`, bn: `${name}.downsample.1`, inChannels, outChannels: out, kernel: 1, stride: s, dilation: 1 }
        : null;
      inChannels = out;
      return { convs, downsample };
    });
  });
}

/** The stem's convolution: 7x7, stride 2, padding 3, on RGB pixels. */
export function resnetStem(c: ResnetConfig): ResnetConv {
  return { conv: "conv1", bn: "bn1", inChannels: 3, outChannels: c.stemChannels, kernel: STEM_KERNEL, stride: 2, dilation: 1 };
}

/** Each convolution of the trunk (stem first) and its BatchNorm. */
export function resnetConvs(c: ResnetConfig, hasDownsample: (key: string) => boolean): ResnetConv[] {
  const blocks = resnetBlocks(c, hasDownsample).flat();
  return [resnetStem(c), ...blocks.flatMap((b) => (b.downsample ? [...b.convs, b.downsample] : b.convs))];
}

/**
 * Every weight the trunk reads must exist with the shape its neighbours imply; keys under the
 * prefix that a torchvision trunk does not have are refused (another architecture), except the
 * classifier (fc) and num_batches_tracked.
 */
function checkResnetShapes(tensors: Map<string, Tensor>, prefix: string, c: ResnetConfig): void {
  const expected = new Map<string, number[]>();
  for (const conv of resnetConvs(c, (key) => tensors.has(prefix + key))) {
    expected.set(`${conv.conv}.weight`, [conv.outChannels, conv.inChannels, conv.kernel, conv.kernel]);
    for (const part of BN_PARTS) expected.set(`${conv.bn}.${part}`, [conv.outChannels]);
  }
  for (const [key, shape] of expected) {
    const t = tensors.get(prefix + key);
    if (!t) throw new VitlensError(`${prefix}${key}: missing from the ResNet state dict (expected shape ${shapeString(shape)})`);
    if (!sameShape(t.shape, shape)) {
      throw new VitlensError(`${prefix}${key}: expected shape ${shapeString(shape)} from the other ResNet weights, found ${shapeString(t.shape)}`);
    }
  }
  for (const key of tensors.keys()) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (expected.has(rest) || rest.startsWith("fc.") || rest.endsWith(".num_batches_tracked")) continue;
    throw new VitlensError(`${key}: not part of a torchvision ResNet trunk (${c.block} blocks, layers [${c.layers.join(", ")}])`);
  }
}
