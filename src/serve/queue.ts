import { VitlensError } from "../errors.js";

/** The queue was full: the server answers 503 with Retry-After instead of piling requests up. */
export class QueueFullError extends VitlensError {}

/**
 * Model work waiting for a thread, bounded: at most `capacity` tasks admitted at once (running
 * or waiting); one more is refused at once rather than queued.
 */
export class BoundedQueue {
  private admitted = 0;
  /** The most tasks ever admitted at once (never above capacity). */
  peak = 0;

  constructor(readonly capacity: number, private readonly what = "model") {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.admitted >= this.capacity) {
      throw new QueueFullError(`the ${this.what} queue is full (${this.capacity} requests waiting; --queue); retry in a moment`);
    }
    this.admitted++;
    this.peak = Math.max(this.peak, this.admitted);
    try {
      return await task();
    } finally {
      this.admitted--;
    }
  }

  get length(): number {
    return this.admitted;
  }
}
