// Worker-thread side of ForwardWorker: loads the model once, then answers forward requests.
import { parentPort, workerData } from "node:worker_threads";
import { getBackend } from "../backend/index.js";
import { loadModel, type LoadOptions } from "../checkpoint/load.js";
import type { Tensor } from "../tensor.js";

const { spec, options } = workerData as { spec: string; options: LoadOptions };
const port = parentPort!;

try {
  const { model, labels } = loadModel(spec, options);
  const be = getBackend();
  port.postMessage({ type: "ready", config: model.config, labels, backend: be.name });
  port.on("message", (msg: { id: number; pixels: Tensor }) => {
    try {
      const out = model.forward(msg.pixels, be);
      const buffers = [out.features.data.buffer, ...out.attentions.map((a) => a.data.buffer)];
      if (out.logits) buffers.push(out.logits.data.buffer);
      port.postMessage({ type: "result", id: msg.id, out }, buffers as ArrayBuffer[]);
    } catch (e) {
      port.postMessage({ type: "error", id: msg.id, message: (e as Error).message });
    }
  });
} catch (e) {
  port.postMessage({ type: "error", id: -1, message: (e as Error).message });
}
