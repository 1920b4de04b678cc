// The ResNet trunk (CATR's backbone) against torchvision's own forward: tiny Bottleneck and
// BasicBlock trunks saved by scripts/reference/resnet.py under backbone.0.body., on a real photo
// crop and odd-sized inputs, layer4 dilated (CATR) and not; both backends; the refusals.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsBackend, tryNativeBackend, type Backend } from "../src/backend/index.js";
import { readTorchFile } from "../src/checkpoint/torch-pickle.js";
import { VitlensError } from "../src/errors.js";
import { readFileSync } from "node:fs";
import { formatModuleTree, totalParams } from "../src/models/module-tree.js";
import { resnetConfigFromKeys } from "../src/models/resnet-config.js";
import { resnetModuleTree } from "../src/models/resnet-tree.js";
import { ResnetTrunk } from "../src/models/resnet.js";
import type { Tensor } from "../src/tensor.js";
import { backends, expected, fixture, maxAbsDiff } from "./helpers.js";

const PREFIX = "backbone.0.body.";
const want = expected("resnet.expected.safetensors");
const bottleneck = readTorchFile(fixture("resnet-bottleneck.pth")).tensors;
const basic = readTorchFile(fixture("resnet-basic.pth")).tensors;

const relDiff = (got: Float32Array, ref: Float32Array) => maxAbsDiff(got, ref) / Math.max(...ref.map(Math.abs));

function run(trunk: ResnetTrunk, pixels: Tensor) {
  const [b, , h, w] = pixels.shape;
  return trunk.forward(pixels.data, b, h, w);
}

describe("ResnetTrunk matches torchvision", () => {
  it("reads the architecture from the keys and shapes", () => {
    assert.deepEqual(resnetConfigFromKeys(bottleneck, PREFIX), { // dilated by default, as CATR
      block: "bottleneck", layers: [1, 1, 2, 2], stemChannels: 8, widths: [4, 8, 8, 16], outChannels: [16, 32, 32, 64], dilateLayer4: true,
    });
    assert.deepEqual(resnetConfigFromKeys(basic, PREFIX, { dilateLayer4: false }), {
      block: "basic", layers: [2, 1, 2, 1], stemChannels: 8, widths: [4, 8, 8, 16], outChannels: [4, 8, 8, 16], dilateLayer4: false,
    });
  });

  it("reads torchvision's resnet18/34/50/101/152 state dicts (shapes only; fc ignored, no prefix)", () => {
    const listing = JSON.parse(readFileSync(fixture("resnet-torchvision-shapes.json"), "utf8")) as Record<string, Record<string, number[]>>;
    const want: Record<string, [string, number[], number]> = {
      resnet18: ["basic", [2, 2, 2, 2], 512], resnet34: ["basic", [3, 4, 6, 3], 512], resnet50: ["bottleneck", [3, 4, 6, 3], 2048],
      resnet101: ["bottleneck", [3, 4, 23, 3], 2048], resnet152: ["bottleneck", [3, 8, 36, 3], 2048],
    };
    for (const [name, shapes] of Object.entries(listing)) {
      const tensors = new Map<string, Tensor>();
      for (const [key, shape] of Object.entries(shapes)) {
        tensors.set(key, { data: new Float32Array(0), shape });
        if (/bn\d\.weight$|downsample\.1\.weight$/.test(key)) {
          for (const part of ["bias", "running_mean", "running_var"]) tensors.set(key.replace(/weight$/, part), { data: new Float32Array(0), shape });
        }
      }
      const [block, layers, out] = want[name];
      const c = resnetConfigFromKeys(tensors, "", { dilateLayer4: block === "bottleneck" });
      assert.deepEqual([c.block, c.layers, c.outChannels[3], c.stemChannels], [block, layers, out, 64], name);
    }
  });

  for (const be of backends()) {
    const cases: Array<[string, Map<string, Tensor>, boolean, string, string]> = [
      ["bottleneck, layer4 dilated, photo", bottleneck, true, "pixels.photo", "bottleneck.dilated.photo"],
      ["bottleneck, layer4 dilated, 2x 37x29", bottleneck, true, "pixels.odd", "bottleneck.dilated.odd"],
      ["bottleneck, not dilated, photo", bottleneck, false, "pixels.photo", "bottleneck.photo"],
      ["basic, photo", basic, false, "pixels.photo", "basic.photo"],
      ["basic, 2x 37x29", basic, false, "pixels.odd", "basic.odd"],
    ];
    for (const [name, tensors, dilateLayer4, input, output] of cases) {
      it(`${be.name}: ${name} within 1e-4 relative`, () => {
        const trunk = ResnetTrunk.fromStateDict(tensors, PREFIX, { dilateLayer4, backend: be });
        const ref = want.get(output)!;
        const { features, gh, gw } = run(trunk, want.get(input)!);
        assert.deepEqual([gh, gw], ref.shape.slice(2));
        assert.equal(trunk.outChannels, ref.shape[1]);
        const d = relDiff(features, ref.data);
        assert.ok(d <= 1e-4, `relative difference ${d}`);
      });
    }
  }

  it("native and js agree on the same input (dilated bottleneck)", { skip: tryNativeBackend() ? false : "native addon not built" }, () => {
    const pixels = want.get("pixels.photo")!;
    const outs = [jsBackend, tryNativeBackend() as Backend].map((be) => run(ResnetTrunk.fromStateDict(bottleneck, PREFIX, { dilateLayer4: true, backend: be }), pixels).features);
    assert.ok(relDiff(outs[1], outs[0]) <= 1e-5);
  });
});

describe("the trunk's module tree", () => {
  for (const [name, tensors, dilateLayer4] of [["bottleneck", bottleneck, true], ["basic", basic, false]] as const) {
    it(`prints the ${name} trunk exactly as PyTorch prints DETR's backbone body`, () => {
      const tree = resnetModuleTree(resnetConfigFromKeys(tensors, PREFIX, { dilateLayer4 }));
      assert.equal(`${formatModuleTree(tree, { expand: true })}\n`, readFileSync(fixture(`resnet-${name}.print.txt`), "utf8"));
      // parameters: the convolutions' weights (FrozenBatchNorm2d holds buffers, not parameters)
      const convWeights = [...tensors].filter(([k]) => /conv\d\.weight$|downsample\.0\.weight$/.test(k)).reduce((n, [, t]) => n + t.data.length, 0);
      assert.equal(totalParams(tree), convWeights);
    });
  }
});

describe("ResNet state dicts that cannot be a torchvision trunk are refused in one line", () => {
  const oneLine = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof VitlensError && !e.message.includes("\n") && pattern.test(e.message));
  const edited = (edit: (m: Map<string, Tensor>) => void) => {
    const m = new Map(bottleneck);
    edit(m);
    return m;
  };

  it("dilation with BasicBlock (torchvision refuses it too)", () => {
    oneLine(() => resnetConfigFromKeys(basic, PREFIX, { dilateLayer4: true }), /BasicBlock.*cannot dilate layer4.*--no-dilation/);
  });

  it("a shape that disagrees with its neighbours, naming the key and the expected shape", () => {
    const bad = edited((m) => m.set(`${PREFIX}layer2.0.conv2.weight`, { data: new Float32Array(8 * 4 * 9), shape: [8, 4, 3, 3] }));
    oneLine(() => ResnetTrunk.fromStateDict(bad, PREFIX, { dilateLayer4: true, backend: jsBackend }),
      /backbone\.0\.body\.layer2\.0\.conv2\.weight: expected shape \(8, 8, 3, 3\) .*found \(8, 4, 3, 3\)/);
    const bn = edited((m) => m.set(`${PREFIX}layer3.1.bn2.running_var`, { data: new Float32Array(7), shape: [7] }));
    oneLine(() => resnetConfigFromKeys(bn, PREFIX, { dilateLayer4: true }), /layer3\.1\.bn2\.running_var: expected shape \(8\)/);
  });

  it("a missing BatchNorm tensor or downsample, a missing trunk, an unknown key", () => {
    oneLine(() => resnetConfigFromKeys(edited((m) => m.delete(`${PREFIX}layer4.0.bn1.running_mean`)), PREFIX, { dilateLayer4: true }),
      /layer4\.0\.bn1\.running_mean: missing .*expected shape \(16\)/);
    oneLine(() => resnetConfigFromKeys(edited((m) => m.delete(`${PREFIX}layer2.0.downsample.0.weight`)), PREFIX, { dilateLayer4: true }),
      /layer2\.0\.downsample\.0\.weight: missing/);
    oneLine(() => resnetConfigFromKeys(bottleneck, "backbone.1.body.", { dilateLayer4: true }), /backbone\.1\.body\.conv1\.weight: missing/);
    const extra = edited((m) => m.set(`${PREFIX}layer5.0.conv1.weight`, { data: new Float32Array(1), shape: [1, 1, 1, 1] }));
    oneLine(() => resnetConfigFromKeys(extra, PREFIX, { dilateLayer4: true }), /layer5\.0\.conv1\.weight: not part of a torchvision ResNet trunk/);
  });

  it("pixels whose count disagrees with (B, 3, H, W)", () => {
    const trunk = ResnetTrunk.fromStateDict(bottleneck, PREFIX, { dilateLayer4: true, backend: jsBackend });
    oneLine(() => trunk.forward(new Float32Array(10), 1, 4, 4), /expected 48 pixels for \(1, 3, 4, 4\), got 10/);
  });
});
