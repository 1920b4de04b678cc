import { parentPort } from "node:worker_threads";
import { getBackend, type Backend } from "../backend/index.js";
import { withPrecision, type Precision } from "../backend/precision.js";
import { VitlensError } from "../errors.js";

/**
 * This thread's backend, with `threads` OpenMP threads for its kernels (native only; OpenMP
 * keeps the count per calling thread). The server's model threads share the cores: one each
 * avoids oversubscription, whose fork/join stalls cost far more than a small model's forward.
 * `precision`: the products', resolved by the main thread (serve --precision).
 */
export function threadBackend(threads: number, precision: Precision = "fp32"): Backend {
  const be = getBackend() as Backend & { setThreads?: (n: number) => void };
  if (threads > 0) be.setThreads?.(threads);
  return withPrecision(be, precision);
}

/** A call's answer and the buffers to move (not copy) to the main thread. */
export interface Answer {
  value: unknown;
  transfer?: ArrayBuffer[];
}

export type Handlers = Record<string, (args: never) => Answer | Promise<Answer>>;

/**
 * The thread side of ThreadClient: `init` loads the model (its result is the ready info), then
 * calls run one at a time, in arrival order (an async handler does not let the next one start).
 */
export function serveThread(init: () => { info: unknown; handlers: Handlers }): void {
  const port = parentPort!;
  let handlers: Handlers;
  try {
    const started = init();
    handlers = started.handlers;
    port.postMessage({ type: "ready", info: started.info });
  } catch (e) {
    port.postMessage({ type: "error", id: -1, message: (e as Error).message, userError: e instanceof VitlensError });
    return;
  }
  let chain = Promise.resolve();
  port.on("message", (msg: { id: number; op: string; args: never }) => {
    chain = chain.then(async () => {
      try {
        const handler = handlers[msg.op];
        if (!handler) throw new Error(`unknown call ${msg.op}`);
        const answer = await handler(msg.args);
        port.postMessage({ type: "result", id: msg.id, value: answer.value }, answer.transfer ?? []);
      } catch (e) {
        port.postMessage({ type: "error", id: msg.id, message: (e as Error).message, userError: e instanceof VitlensError });
      }
    });
  });
}
