// Convolution ops: the js reference against hand-computed values, native against js on odd
// sizes (strides that drop rows, dilation, fused bias / residual / ReLU), and the prepared
// ConvNet (blocked layouts inside) against the same steps run one by one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConvStep } from "../src/backend/backend.js";
import { convNetShapes, convOutputSize } from "../src/backend/conv-net.js";
import { jsBackend, tryNativeBackend } from "../src/backend/index.js";
import { profileBackend } from "../src/backend/profile.js";
import { maxAbsDiff, randomArray } from "./helpers.js";

const native = tryNativeBackend();
if (!native && process.env.CI) throw new Error("CI: the native addon is not built");

const relClose = (got: Float32Array, want: Float32Array, tol: number, what: string) => {
  assert.equal(got.length, want.length, `${what}: lengths`);
  const scale = Math.max(...want.map(Math.abs), 1e-6);
  const d = maxAbsDiff(got, want) / scale;
  assert.ok(d <= tol, `${what}: relative difference ${d}`);
};

describe("js conv2d and maxPool2d", () => {
  it("computes a 3x3 convolution with padding, stride 2 and dilation by hand", () => {
    // x (1, 1, 4, 5) = 0..19; weight (1, 1, 3, 3) all ones except the centre 2
    const x = Float32Array.from({ length: 20 }, (_, i) => i);
    const w = Float32Array.from([1, 1, 1, 1, 2, 1, 1, 1, 1]);
    const out = new Float32Array(2 * 3);
    jsBackend.conv2d(x, w, out, { batch: 1, inChannels: 1, height: 4, width: 5, outChannels: 1, kernel: 3, stride: 2, padding: 1, bias: Float32Array.of(0.5) });
    // out(0,0): rows 0-1, cols 0-1 = 0+1+5+6 + x(0,0) (centre weighs 2) + 0.5; values from torch.nn.functional.conv2d
    assert.deepEqual([...out], [12.5, 29.5, 28.5, 73.5, 120.5, 95.5]);
    const dil = new Float32Array(2 * 3);
    jsBackend.conv2d(x, w, dil, { batch: 1, inChannels: 1, height: 4, width: 5, outChannels: 1, kernel: 3, padding: 2, dilation: 2, stride: 2 });
    // out(0,0) taps rows -2,0,2 x cols -2,0,2 -> x(0,0)*2 + x(0,2) + x(2,0) + x(2,2) = 0 + 2 + 10 + 12
    assert.deepEqual([...dil], [24, 44, 36, 34, 54, 46]);
  });

  it("adds the residual held in out before the ReLU", () => {
    const x = Float32Array.of(1, -2);
    const w = Float32Array.of(3); // 1x1, 1 -> 1 channel
    const out = Float32Array.of(1, 1);
    jsBackend.conv2d(x, w, out, { batch: 1, inChannels: 1, height: 1, width: 2, outChannels: 1, kernel: 1, accumulate: true, relu: true });
    assert.deepEqual([...out], [4, 0]);
  });

  it("max-pools 3x3 / 2 with padding as -infinity (torchvision's stem)", () => {
    const x = Float32Array.from({ length: 25 }, (_, i) => -i); // (1, 1, 5, 5), largest at the top left
    const out = new Float32Array(9);
    jsBackend.maxPool2d(x, out, { batch: 1, channels: 1, height: 5, width: 5, kernel: 3, stride: 2, padding: 1 });
    assert.deepEqual([...out].map((v) => v + 0), [0, -1, -3, -5, -6, -8, -15, -16, -18]); // torch's max_pool2d
    assert.equal(convOutputSize(37, 3, 2, 1), 19);
    assert.equal(convOutputSize(20, 1, 2, 0), 10);
  });
});

describe("profiling convolutions (bench --profile)", () => {
  it("counts a conv2d's FLOPs and times a prepared network's forward as one row", () => {
    const prof = profileBackend(jsBackend);
    const x = new Float32Array(2 * 3 * 9 * 8);
    const w = new Float32Array(4 * 3 * 3 * 3);
    prof.backend.conv2d(x, w, new Float32Array(2 * 4 * 5 * 4), { batch: 2, inChannels: 3, height: 9, width: 8, outChannels: 4, kernel: 3, stride: 2, padding: 1 });
    const net = prof.backend.convNet([
      { kind: "conv", input: -1, weight: w, bias: null, inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1, dilation: 1, relu: true },
      { kind: "maxpool", input: 0, kernel: 3, stride: 2, padding: 1 },
    ]);
    net.forward(x, new Float32Array(2 * 4 * 3 * 2), 2, 9, 8);
    const rows = new Map(prof.rows().map((r) => [r.op, r]));
    const flops = 2 * 2 * 4 * 5 * 4 * 3 * 9; // 2 * B * C' * oh * ow * C * k * k
    assert.equal(rows.get("conv2d")!.flops, flops);
    assert.equal(rows.get("convNet.forward")!.flops, flops);
    assert.equal(rows.get("convNet.forward")!.shape, "2 steps, 2x3x9x8");
  });
});

describe("native conv2d / maxPool2d / convNet match the js reference", { skip: native ? false : "native addon not built" }, () => {
  const nb = native!;
  const cases = [
    // [batch, cin, h, w, cout, kernel, stride, padding, dilation]
    [1, 3, 37, 29, 8, 7, 2, 3, 1], // the stem on an odd image
    [2, 5, 11, 10, 6, 3, 2, 1, 1], // stride 2 that drops the last row
    [1, 8, 9, 13, 16, 1, 2, 0, 1], // a strided 1x1 projection (negative right padding in oneDNN terms)
    [1, 4, 10, 7, 4, 3, 1, 2, 2], // dilated 3x3
    [2, 16, 6, 5, 24, 3, 1, 1, 1],
  ];
  for (const [batch, inChannels, height, width, outChannels, kernel, stride, padding, dilation] of cases) {
    it(`conv2d ${batch}x${inChannels}x${height}x${width} -> ${outChannels}, k${kernel} s${stride} p${padding} d${dilation}`, () => {
      const oh = convOutputSize(height, kernel, stride, padding, dilation);
      const ow = convOutputSize(width, kernel, stride, padding, dilation);
      const x = randomArray(batch * inChannels * height * width, 1);
      const w = randomArray(outChannels * inChannels * kernel * kernel, 2, 0.3);
      const bias = randomArray(outChannels, 3);
      const residual = randomArray(batch * outChannels * oh * ow, 4);
      for (const [withBias, accumulate, relu] of [[false, false, false], [true, false, true], [true, true, true], [false, true, false]]) {
        const p = { batch, inChannels, height, width, outChannels, kernel, stride, padding, dilation, bias: withBias ? bias : null, accumulate, relu };
        const oj = residual.slice();
        const on = residual.slice();
        jsBackend.conv2d(x, w, oj, p);
        nb.conv2d(x, w, on, p);
        relClose(on, oj, 1e-5, `bias=${withBias} acc=${accumulate} relu=${relu}`);
        if (relu) assert.ok(on.every((v) => v >= 0));
      }
    });
  }

  it("maxPool2d on odd sizes", () => {
    for (const [batch, channels, height, width] of [[1, 3, 19, 15], [2, 8, 8, 9]]) {
      const x = randomArray(batch * channels * height * width, 5);
      const p = { batch, channels, height, width, kernel: 3, stride: 2, padding: 1 };
      const n = batch * channels * convOutputSize(height, 3, 2, 1) * convOutputSize(width, 3, 2, 1);
      const oj = new Float32Array(n);
      const on = new Float32Array(n);
      jsBackend.maxPool2d(x, oj, p);
      nb.maxPool2d(x, on, p);
      assert.deepEqual(on, oj);
    }
  });

  it("refuses buffers shorter than the shape and impossible sizes, as errors", () => {
    const p = { batch: 1, inChannels: 2, height: 4, width: 4, outChannels: 3, kernel: 3 };
    assert.throws(() => nb.conv2d(new Float32Array(31), new Float32Array(54), new Float32Array(12), p), /x: Float32Array of length 31/);
    assert.throws(() => nb.conv2d(new Float32Array(32), new Float32Array(54), new Float32Array(11), p), /out: Float32Array of length 11/);
    assert.throws(() => nb.conv2d(new Float32Array(2), new Float32Array(54), new Float32Array(12), { ...p, height: 1, width: 1 }), /smaller than the kernel/);
  });

  // A small residual network: stem, pool, a bottleneck with a strided projection, a dilated block
  // whose residual is its input (summed in place), channel counts that are not multiples of 8.
  const conv = (input: number, inChannels: number, outChannels: number, kernel: number, stride: number, dilation: number, relu: boolean, residual?: number, seed = 0): ConvStep => ({
    kind: "conv", input, residual, inChannels, outChannels, kernel, stride, dilation, relu, padding: ((kernel - 1) / 2) * dilation,
    weight: randomArray(outChannels * inChannels * kernel * kernel, 10 + seed, 1 / Math.sqrt(inChannels * kernel * kernel)),
    bias: randomArray(outChannels, 50 + seed, 0.1),
  });
  const steps: ConvStep[] = [
    conv(-1, 3, 6, 7, 2, 1, true, undefined, 0), // 0
    { kind: "maxpool", input: 0, kernel: 3, stride: 2, padding: 1 }, // 1
    conv(1, 6, 4, 1, 1, 1, true, undefined, 2), // 2
    conv(2, 4, 4, 3, 2, 1, true, undefined, 3), // 3
    conv(1, 6, 12, 1, 2, 1, false, undefined, 4), // 4: projection
    conv(3, 4, 12, 1, 1, 1, true, 4, 5), // 5: + projection
    conv(5, 12, 4, 1, 1, 1, true, undefined, 6), // 6
    conv(6, 4, 4, 3, 1, 2, true, undefined, 7), // 7: dilated
    conv(7, 4, 12, 1, 1, 1, true, 5, 8), // 8: + the block's input
  ];

  it("convNet (native, blocked layouts) equals the steps run one by one in js, for several input sizes", () => {
    const nnet = nb.convNet(steps);
    const jnet = jsBackend.convNet(steps);
    // more shapes than the native side keeps plans for, then the first again (re-planned)
    for (const [b, h, w] of [[1, 37, 29], [2, 40, 33], [1, 37, 29], [1, 20, 21], [1, 25, 30], [1, 33, 17], [1, 37, 29]]) {
      const shapes = convNetShapes(steps, 3, h, w);
      const last = shapes[shapes.length - 1];
      const x = randomArray(b * 3 * h * w, h + w);
      const oj = new Float32Array(b * last.channels * last.height * last.width);
      const on = new Float32Array(oj.length);
      jnet.forward(x, oj, b, h, w);
      nnet.forward(x, on, b, h, w);
      relClose(on, oj, 1e-5, `convNet ${b}x3x${h}x${w}`);
      assert.ok(oj.some((v) => v > 0));
    }
  });

  it("convNet refuses steps that read later steps and buffers shorter than the shapes", () => {
    assert.throws(() => nb.convNet([{ ...steps[2], input: 0 }]), /earlier steps/);
    assert.throws(() => nb.convNet([{ ...(steps[0] as ConvStep & { kind: "conv" }), weight: new Float32Array(5) }]), /weight must be a Float32Array/);
    const nnet = nb.convNet(steps);
    assert.throws(() => nnet.forward(new Float32Array(3 * 37 * 29 - 1), new Float32Array(1e4), 1, 37, 29), /x: Float32Array/);
    assert.throws(() => nnet.forward(new Float32Array(3 * 37 * 29), new Float32Array(12 * 5 * 4 - 1), 1, 37, 29), /out: Float32Array/);
  });
});
