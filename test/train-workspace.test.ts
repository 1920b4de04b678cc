// A training loop's workspace (activations and scratch reused from step to step) changes nothing
// but allocations: two SGD steps through one equal PyTorch's, and a batch of another size between
// steps gets its own buffers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadModel } from "../src/checkpoint/load.js";
import { vitBackward, vitForward } from "../src/models/vit-pass.js";
import { TrainWorkspace, zeroGrads } from "../src/models/vit-train.js";
import { Rng } from "../src/random.js";
import { crossEntropy } from "../src/train/loss.js";
import { Optimizer } from "../src/train/optimizer.js";
import { backends, expected, fixture, maxAbsDiff } from "./helpers.js";

const ref = expected("timm-tiny.train-steps.safetensors");
const pixels = expected("timm-tiny.expected.safetensors").get("pixels")!;

for (const be of backends()) {
  describe(`training through a TrainWorkspace (${be.name} backend)`, () => {
    it("two SGD steps reuse the step's buffers and match PyTorch's parameters (1e-5 relative)", () => {
      const { model } = loadModel(fixture("timm-tiny"));
      const names = [...model.params.keys()];
      const opt = new Optimizer({ kind: "sgd", momentum: 0.9, dampening: 0, nesterov: false }, [{ names, lrScale: 1, weightDecay: 1e-4 }]);
      const ws = new TrainWorkspace();
      const grads = zeroGrads(model.params);
      const seen: Float32Array[] = [];
      for (let step = 0; step < 2; step++) {
        for (const g of grads.values()) g.data.fill(0);
        const fwd = vitForward(model, pixels, be, { dropout: new Rng(0), workspace: ws });
        seen.push(fwd.acts.blocks[0].mlp.hidden);
        const { dlogits } = crossEntropy(fwd.logits!.data, [1, 2], 3);
        const attentionGrads = vitBackward(model, fwd, dlogits, grads, be, { workspace: ws });
        assert.equal(attentionGrads.length, 0, "a workspace step keeps no attention gradients");
        opt.update(model.params, grads, 0.1, be);
      }
      assert.equal(seen[0], seen[1], "the second step wrote into the first step's activations");
      for (const n of names) {
        const want = ref.get(`sgd.after2.${n}`)!.data;
        const scale = Math.max(...want.map(Math.abs), 1e-12);
        const e = maxAbsDiff(model.params.get(n)!.data, want) / scale;
        assert.ok(e <= 1e-5, `${n} after 2 steps: relative error ${e}`);
      }
    });

    it("a smaller batch (an epoch's last) gets fresh buffers; the next full batch computes what a fresh pass does", () => {
      const { model } = loadModel(fixture("timm-tiny"));
      const ws = new TrainWorkspace();
      const one = { data: pixels.data.slice(0, pixels.data.length / 2), shape: [1, ...pixels.shape.slice(1)] };
      const first = vitForward(model, pixels, be, { workspace: ws }).logits!.data.slice();
      const small = vitForward(model, one, be, { workspace: ws });
      assert.deepEqual(Array.from(small.logits!.data), Array.from(vitForward(model, one, be, { keep: true }).logits!.data));
      const again = vitForward(model, pixels, be, { workspace: ws }).logits!.data;
      assert.deepEqual(Array.from(again), Array.from(first));
    });
  });
}
