// Forward passes off the main thread: same numbers, and the event loop keeps running meanwhile.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadModel } from "../src/checkpoint/load.js";
import { getBackend } from "../src/backend/index.js";
import { ForwardWorker } from "../src/worker/forward-worker.js";
import { expected, fixture } from "./helpers.js";

describe("ForwardWorker", () => {
  it("returns the main thread's logits and attentions", async () => {
    const worker = await ForwardWorker.start(fixture("hf-tiny"));
    try {
      const pixels = expected("hf-tiny.expected.safetensors").get("pixels")!;
      const fromWorker = await worker.forward(pixels);
      const local = loadModel(fixture("hf-tiny")).model.forward(pixels, getBackend());
      assert.deepEqual(fromWorker.logits!.data, local.logits!.data);
      assert.equal(fromWorker.attentions.length, 2);
      assert.deepEqual(fromWorker.attentions[1].data, local.attentions[1].data);
      assert.deepEqual(worker.labels, ["cat", "coffee", "rocket", "astronaut", "other"]);
    } finally {
      await worker.close();
    }
  });

  it("keeps the main event loop responsive during a large forward pass", async () => {
    const worker = await ForwardWorker.start("vit-s16", { imageSize: [224, 224] });
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const t0 = Date.now();
      await worker.forward({ data: new Float32Array(4 * 3 * 224 * 224), shape: [4, 3, 224, 224] });
      const elapsed = Date.now() - t0;
      clearInterval(timer);
      // A blocked loop would tick at most once; a free one ticks about every 5 ms.
      assert.ok(ticks >= Math.min(10, elapsed / 20), `only ${ticks} ticks in ${elapsed} ms`);
    } finally {
      await worker.close();
    }
  });

  it("reports a load failure as a rejected start", async () => {
    await assert.rejects(ForwardWorker.start("no-such-model"), /not a preset/);
  });
});
