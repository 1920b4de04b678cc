import type { Backend, ConvNet, ConvStep } from "./backend.js";
import { count, dim, floats } from "./checks.js";

/** PyTorch's output size of a convolution or pooling along one axis. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number, dilation = 1): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

export interface ActivationShape {
  channels: number;
  height: number;
  width: number;
}

/** The (C, H, W) of every step's output for an input of (inChannels, h, w). */
export function convNetShapes(steps: ConvStep[], inChannels: number, h: number, w: number): ActivationShape[] {
  const shapes: ActivationShape[] = [];
  const shapeOf = (i: number): ActivationShape => (i < 0 ? { channels: inChannels, height: h, width: w } : shapes[i]);
  for (const [i, s] of steps.entries()) {
    if (s.input >= i || (s.kind === "conv" && s.residual !== undefined && s.residual >= i)) {
      throw new RangeError(`convNet step ${i}: its input and residual must be earlier steps`);
    }
    const x = shapeOf(s.input);
    if (s.kind === "conv" && x.channels !== s.inChannels) {
      throw new RangeError(`convNet step ${i}: input has ${x.channels} channels, the weights expect ${s.inChannels}`);
    }
    const dilation = s.kind === "conv" ? s.dilation : 1;
    const out = {
      channels: s.kind === "conv" ? s.outChannels : x.channels,
      height: convOutputSize(x.height, s.kernel, s.stride, s.padding, dilation),
      width: convOutputSize(x.width, s.kernel, s.stride, s.padding, dilation),
    };
    if (out.height < 1 || out.width < 1) throw new RangeError(`convNet step ${i}: a ${h}x${w} input is too small`);
    if (s.kind === "conv" && s.residual !== undefined) {
      const r = shapeOf(s.residual);
      if (r.channels !== out.channels || r.height !== out.height || r.width !== out.width) {
        throw new RangeError(`convNet step ${i}: the residual's shape differs from the output's`);
      }
    }
    shapes.push(out);
  }
  return shapes;
}

/** FLOPs (2 per multiply-add) of the network's convolutions on a (b, inChannels, h, w) input. */
export function convNetFlops(steps: ConvStep[], b: number, inChannels: number, h: number, w: number): number {
  const shapes = convNetShapes(steps, inChannels, h, w);
  return steps.reduce((n, s, i) =>
    s.kind === "conv" ? n + 2 * b * shapes[i].channels * shapes[i].height * shapes[i].width * s.inChannels * s.kernel * s.kernel : n, 0);
}

/**
 * The network's input channels, after checking every step as the addon's ConvNet does (same
 * words): integers as dim() checks them, inputs and residuals from earlier steps, weights and
 * biases of the declared sizes, the network's input read by a convolution.
 */
export function checkConvSteps(steps: unknown): number {
  if (!Array.isArray(steps)) throw new TypeError("convNet: expected an array of steps");
  if (steps.length === 0) throw new RangeError("convNet: no steps");
  let inChannels = -1;
  for (const [i, s] of (steps as ConvStep[]).entries()) {
    const where = `convNet step ${i}: `;
    if (typeof s !== "object" || s === null) throw new TypeError(`${where}expected an object`);
    const integer = (name: string, least = 0): number => {
      const v = (s as unknown as Record<string, unknown>)[name];
      if (typeof v !== "number") throw new TypeError(`${where}${name}: expected a number, got ${v === null ? "null" : typeof v}`);
      if (!(v >= least && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v))) {
        throw new RangeError(`${where}${name}: expected an integer of at least ${least}, got ${v}`);
      }
      return v;
    };
    const input = integer("input", -1);
    const residual = (s as { residual?: unknown }).residual === undefined ? -2 : integer("residual", -1);
    if (input >= i || residual >= i) throw new RangeError(`${where}its input and residual must be earlier steps`);
    integer("kernel", 1);
    integer("stride", 1);
    integer("padding");
    if (s.kind === "maxpool") continue;
    integer("dilation", 1);
    const [inC, outC] = [integer("inChannels", 1), integer("outChannels", 1)];
    if (!(s.weight instanceof Float32Array) || s.weight.length !== outC * inC * s.kernel * s.kernel) {
      throw new TypeError(`${where}weight must be a Float32Array of outChannels * inChannels * kernel^2`);
    }
    if (s.bias !== null && s.bias !== undefined && (!(s.bias instanceof Float32Array) || s.bias.length !== outC)) {
      throw new TypeError(`${where}bias must be a Float32Array of outChannels`);
    }
    if (input === -1) inChannels = inC;
  }
  if (inChannels < 0) throw new RangeError("convNet: the network input must feed a convolution");
  return inChannels;
}

/** The reference ConvNet: every step through the backend's conv2d / maxPool2d, each output kept until the end. */
export function stepByStepConvNet(be: Backend, steps: ConvStep[]): ConvNet {
  const inChannels = checkConvSteps(steps);
  return {
    forward(x, out, b, h, w) {
      const fn = "convNet.forward";
      dim(fn, "batch", b);
      dim(fn, "height", h);
      dim(fn, "width", w);
      const shapes = convNetShapes(steps, inChannels, h, w);
      const last = shapes[shapes.length - 1];
      floats(fn, "x", x, count(fn, "x", b, inChannels, h, w));
      floats(fn, "out", out, count(fn, "out", b, last.channels, last.height, last.width));
      if (b === 0) return; // an empty output
      const lastUse = steps.map((_, i) => (i === steps.length - 1 ? Infinity : i));
      for (const [i, s] of steps.entries()) {
        if (s.input >= 0) lastUse[s.input] = i;
        if (s.kind === "conv" && s.residual !== undefined && s.residual >= 0) lastUse[s.residual] = i;
      }
      const values: Array<Float32Array | undefined> = [];
      const shapeOf = (i: number) => (i < 0 ? { channels: inChannels, height: h, width: w } : shapes[i]);
      const valueOf = (i: number) => (i < 0 ? x : values[i]!);
      for (const [i, s] of steps.entries()) {
        const { channels, height, width } = shapeOf(s.input);
        const o = shapes[i];
        const dst = new Float32Array(b * o.channels * o.height * o.width); // (B, C', oh, ow)
        if (s.kind === "maxpool") {
          be.maxPool2d(valueOf(s.input), dst, { batch: b, channels, height, width, kernel: s.kernel, stride: s.stride, padding: s.padding });
        } else {
          if (s.residual !== undefined) dst.set(valueOf(s.residual));
          be.conv2d(valueOf(s.input), s.weight, dst, {
            batch: b, inChannels: channels, height, width, outChannels: s.outChannels, kernel: s.kernel, stride: s.stride,
            padding: s.padding, dilation: s.dilation, bias: s.bias, accumulate: s.residual !== undefined, relu: s.relu,
          });
        }
        values.push(dst);
        // Outputs no later step reads are dropped (a deep trunk would otherwise keep every activation).
        for (let j = 0; j < i; j++) if (lastUse[j] <= i) values[j] = undefined;
      }
      out.set(values[values.length - 1]!);
    },
  };
}
