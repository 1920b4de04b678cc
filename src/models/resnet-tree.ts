import type { ModuleNode } from "./module-tree.js";
import { resnetBlocks, resnetStem, type ResnetConfig, type ResnetConv } from "./resnet-config.js";

const leaf = (type: string, args = "", numParams = 0): ModuleNode => ({ type, args, children: [], numParams });
const parent = (type: string, children: Array<[string, ModuleNode]>): ModuleNode => ({ type, children, numParams: 0 });

/** nn.Conv2d's repr: padding and dilation only where they are not the defaults; no bias in a ResNet. */
function conv2d(c: ResnetConv): ModuleNode {
  const pad = ((c.kernel - 1) / 2) * c.dilation;
  const pair = (v: number) => `(${v}, ${v})`;
  const args = [`${c.inChannels}, ${c.outChannels}`, `kernel_size=${pair(c.kernel)}`, `stride=${pair(c.stride)}`];
  if (pad) args.push(`padding=${pair(pad)}`);
  if (c.dilation !== 1) args.push(`dilation=${pair(c.dilation)}`);
  args.push("bias=False");
  return leaf("Conv2d", args.join(", "), c.outChannels * c.inChannels * c.kernel * c.kernel);
}

/** DETR's / CATR's FrozenBatchNorm2d: buffers only, and no extra_repr, so it prints empty. */
const frozenBn = () => leaf("FrozenBatchNorm2d");
const relu = () => leaf("ReLU", "inplace=True");

/**
 * The trunk as `print(model.backbone[0].body)` shows it in DETR / CATR: torchvision's ResNet
 * inside an IntermediateLayerGetter (no avgpool / fc), BatchNorms frozen.
 */
export function resnetModuleTree(c: ResnetConfig): ModuleNode {
  const layers = resnetBlocks(c, () => false).map((blocks): [string, ModuleNode] => [
    "", parent("Sequential", blocks.map((b, i): [string, ModuleNode] => {
      const children: Array<[string, ModuleNode]> = [];
      b.convs.forEach((conv, j) => {
        children.push([`conv${j + 1}`, conv2d(conv)], [`bn${j + 1}`, frozenBn()]);
        if (c.block === "basic" && j === 0) children.push(["relu", relu()]); // BasicBlock registers relu between its convs
      });
      if (c.block === "bottleneck") children.push(["relu", relu()]);
      if (b.downsample) children.push(["downsample", parent("Sequential", [["0", conv2d(b.downsample)], ["1", frozenBn()]])]);
      return [String(i), parent(c.block === "bottleneck" ? "Bottleneck" : "BasicBlock", children)];
    })),
  ]);
  return parent("IntermediateLayerGetter", [
    ["conv1", conv2d(resnetStem(c))],
    ["bn1", frozenBn()],
    ["relu", relu()],
    ["maxpool", leaf("MaxPool2d", "kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False")],
    ...layers.map(([, layer], l): [string, ModuleNode] => [`layer${l + 1}`, layer]),
  ]);
}
