import { getBackend, type Backend } from "../backend/index.js";
import type { ConvNet, ConvStep } from "../backend/backend.js";
import { convNetFlops, convNetShapes } from "../backend/conv-net.js";
import { VitlensError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { resnetBlocks, resnetConfigFromKeys, resnetStem, type ResnetConfig, type ResnetConv, type ResnetOptions } from "./resnet-config.js";
import { foldFrozenBatchNorm } from "./resnet-fold.js";
import type { ModuleNode } from "./module-tree.js";
import { resnetModuleTree } from "./resnet-tree.js";

export interface ResnetTrunkOptions extends ResnetOptions {
  backend?: Backend; // getBackend() when omitted
}

/**
 * A torchvision ResNet trunk (stem, max pool, layer1..4; inference only) with its frozen
 * BatchNorms folded into the convolutions at load: each conv + BN (+ ReLU, + residual) is one
 * backend convolution, and the whole trunk one prepared ConvNet.
 */
export class ResnetTrunk {
  readonly outChannels: number;
  private readonly net: ConvNet;
  private readonly steps: ConvStep[]; // shapes only: the weights live in the ConvNet

  private constructor(readonly config: ResnetConfig, steps: ConvStep[], backend: Backend) {
    this.outChannels = config.outChannels[3];
    this.net = backend.convNet(steps);
    // The native ConvNet copies the folded weights: keeping them here too would double ResNet-101's 170 MB.
    this.steps = steps.map((s) => (s.kind === "conv" ? { ...s, weight: new Float32Array(0), bias: null } : s));
  }

  /** The trunk under `prefix` (CATR: "backbone.0.body."); shapes checked, BN folded. */
  static fromStateDict(tensors: Map<string, Tensor>, prefix: string, opts: ResnetTrunkOptions = {}): ResnetTrunk {
    const config = resnetConfigFromKeys(tensors, prefix, opts);
    return new ResnetTrunk(config, resnetSteps(config, tensors, prefix), opts.backend ?? getBackend());
  }

  /** `print(backbone[0].body)` as a module tree (for inspect; formatModuleTree prints it). */
  moduleTree(): ModuleNode {
    return resnetModuleTree(this.config);
  }

  /** The feature grid's (gh, gw) for an h x w image. */
  gridSize(h: number, w: number): { gh: number; gw: number } {
    const shapes = convNetShapes(this.steps, 3, h, w);
    const last = shapes[shapes.length - 1];
    return { gh: last.height, gw: last.width };
  }

  /** FLOPs (2 per multiply-add) of the convolutions for one h x w image: what bench reports GFLOPS against. */
  flops(h: number, w: number): number {
    return convNetFlops(this.steps, 1, 3, h, w);
  }

  /** Pixels (B, 3, H, W) -> features (B, outChannels, gh, gw). */
  forward(pixels: Float32Array, b: number, h: number, w: number): { features: Float32Array; gh: number; gw: number } {
    if (pixels.length !== b * 3 * h * w) {
      throw new VitlensError(`ResNet input: expected ${b * 3 * h * w} pixels for (${b}, 3, ${h}, ${w}), got ${pixels.length}`);
    }
    if (h < 1 || w < 1) throw new VitlensError(`ResNet input: an empty ${h}x${w} image`);
    const { gh, gw } = this.gridSize(h, w);
    const features = new Float32Array(b * this.outChannels * gh * gw); // (B, C, gh, gw)
    this.net.forward(pixels, features, b, h, w);
    return { features, gh, gw };
  }
}

/** The trunk as backend steps: stem conv + ReLU, max pool, then each block with its residual. */
function resnetSteps(config: ResnetConfig, tensors: Map<string, Tensor>, prefix: string): ConvStep[] {
  const steps: ConvStep[] = [];
  const get = (key: string): Tensor => tensors.get(prefix + key)!; // presence checked by resnetConfigFromKeys
  const add = (c: ResnetConv, input: number, relu: boolean, residual?: number): number => {
    const { weight, bias } = foldFrozenBatchNorm(get(`${c.conv}.weight`), {
      weight: get(`${c.bn}.weight`), bias: get(`${c.bn}.bias`), runningMean: get(`${c.bn}.running_mean`), runningVar: get(`${c.bn}.running_var`),
    });
    // "same" padding for odd kernels, widened by the dilation (torchvision's conv3x3: padding = dilation).
    const padding = ((c.kernel - 1) / 2) * c.dilation;
    steps.push({
      kind: "conv", input, residual, weight, bias, inChannels: c.inChannels, outChannels: c.outChannels,
      kernel: c.kernel, stride: c.stride, padding, dilation: c.dilation, relu,
    });
    return steps.length - 1;
  };
  let x = add(resnetStem(config), -1, true);
  steps.push({ kind: "maxpool", input: x, kernel: 3, stride: 2, padding: 1 });
  x = steps.length - 1;
  for (const block of resnetBlocks(config, (key) => tensors.has(prefix + key)).flat()) {
    let y = x;
    const last = block.convs.length - 1;
    for (let i = 0; i < last; i++) y = add(block.convs[i], y, true);
    const identity = block.downsample ? add(block.downsample, x, false) : x;
    x = add(block.convs[last], y, true, identity); // relu(bn(conv(y)) + identity)
  }
  return steps;
}
