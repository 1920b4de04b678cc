import { ThreadClient } from "../worker/thread-client.js";
import type { Answer } from "../worker/thread-server.js";

/** A thread's handlers, as its script defines them: each takes one argument and answers {value}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HandlerMap = Record<string, (args: any) => Answer | Promise<Answer>>;

type ValueOf<A> = A extends { value: infer V } ? V : never;
/** What a call of `op` resolves to: its handler's `value`. */
export type Reply<H extends HandlerMap, K extends keyof H> = ValueOf<Awaited<ReturnType<H[K]>>>;

/**
 * ThreadClient with its calls typed by the thread's handler map (`typeof handlers` exported as a
 * type from the thread script): a call names an op the thread has, passes what it takes, and
 * gets what it answers.
 */
export class TypedThread<H extends HandlerMap, Info> {
  private constructor(private readonly client: ThreadClient<Info>) {}

  static async start<H extends HandlerMap, Info>(script: URL, data: unknown): Promise<TypedThread<H, Info>> {
    return new TypedThread<H, Info>(await ThreadClient.start<Info>(script, data));
  }

  get info(): Info {
    return this.client.info;
  }

  call<K extends keyof H & string>(op: K, args: Parameters<H[K]>[0]): Promise<Reply<H, K>> {
    return this.client.call<Reply<H, K>>(op, args);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
