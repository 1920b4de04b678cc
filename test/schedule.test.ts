// Learning-rate schedules, freeze specs, SGD details (nesterov, no momentum).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { frozenNames } from "../src/train/freeze.js";
import { Optimizer } from "../src/train/optimizer.js";
import { learningRate } from "../src/train/schedule.js";

describe("schedules", () => {
  it("StepLR halves every step_size epochs (the seed recipe: 10, 0.5)", () => {
    const s = { kind: "step" as const, stepSize: 10, gamma: 0.5 };
    assert.equal(learningRate(s, 1e-5, 0, 0), 1e-5);
    assert.equal(learningRate(s, 1e-5, 9, 999), 1e-5);
    assert.equal(learningRate(s, 1e-5, 10, 0), 5e-6);
    assert.equal(learningRate(s, 1e-5, 25, 0), 2.5e-6);
  });

  it("cosine warms up linearly, peaks at the base rate, ends at the minimum", () => {
    const s = { kind: "cosine" as const, warmupSteps: 10, totalSteps: 110, minLr: 0 };
    assert.ok(Math.abs(learningRate(s, 1, 0, 0) - 0.1) < 1e-12);
    assert.equal(learningRate(s, 1, 0, 9), 1);
    assert.ok(Math.abs(learningRate(s, 1, 0, 60) - 0.5) < 1e-12);
    assert.ok(learningRate(s, 1, 0, 110) < 1e-12);
  });
});

describe("freeze specs", () => {
  const names = ["cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.norm1.weight", "blocks.1.mlp.fc1.weight", "blocks.7.attn.qkv.weight", "norm.weight", "head.weight", "head.bias"];
  it("backbone is everything but the head; ranges cover blocks A..B", () => {
    assert.deepEqual([...frozenNames("backbone", names)], names.slice(0, 7));
    assert.deepEqual([...frozenNames("patch_embed,blocks.0-1", names)], ["patch_embed.proj.weight", "blocks.0.norm1.weight", "blocks.1.mlp.fc1.weight"]);
    assert.throws(() => frozenNames("blocks.9-12", names), /--freeze blocks\.9-12: the model has 8 blocks \(blocks\.0-7\); expected a range within them/);
    assert.throws(() => frozenNames("blocks.3-1", names), /--freeze blocks\.3-1: .*expected a range within them/);
  });
});

describe("SGD variants", () => {
  const run = (momentum: number, nesterov: boolean) => {
    const params = new Map([["w", { data: Float32Array.from([1]), shape: [1] }]]);
    const grads = new Map([["w", { data: Float32Array.from([0.5]), shape: [1] }]]);
    const opt = new Optimizer({ kind: "sgd", momentum, dampening: 0, nesterov }, [{ names: ["w"], lrScale: 1, weightDecay: 0 }]);
    opt.update(params, grads, 0.1, jsBackend);
    opt.update(params, grads, 0.1, jsBackend);
    return params.get("w")!.data[0];
  };
  it("plain, momentum and nesterov match torch.optim.SGD by hand", () => {
    assert.ok(Math.abs(run(0, false) - (1 - 0.05 - 0.05)) < 1e-7);
    // momentum: buf1 = 0.5, buf2 = 0.9*0.5 + 0.5 = 0.95
    assert.ok(Math.abs(run(0.9, false) - (1 - 0.05 - 0.095)) < 1e-7);
    // nesterov: d = g + m*buf: step1 0.5 + 0.45 = 0.95, step2 0.5 + 0.9*0.95 = 1.355
    assert.ok(Math.abs(run(0.9, true) - (1 - 0.095 - 0.1355)) < 1e-7);
  });
});
