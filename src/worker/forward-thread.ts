// Worker-thread side of ForwardWorker: loads the model once, then answers forward requests.
import { workerData } from "node:worker_threads";
import { getBackend } from "../backend/index.js";
import { loadModel, type LoadOptions } from "../checkpoint/load.js";
import type { Tensor } from "../tensor.js";
import { serveThread } from "./thread-server.js";

const { spec, options } = workerData as { spec: string; options: LoadOptions };

serveThread(() => {
  const { model, labels } = loadModel(spec, options);
  const be = getBackend();
  return {
    info: { config: model.config, labels, backend: be.name },
    handlers: {
      forward: (pixels: Tensor) => {
        const out = model.forward(pixels, be);
        const buffers = [out.features.data.buffer, ...out.attentions.map((a) => a.data.buffer)];
        if (out.logits) buffers.push(out.logits.data.buffer);
        return { value: out, transfer: buffers as ArrayBuffer[] };
      },
    },
  };
});
