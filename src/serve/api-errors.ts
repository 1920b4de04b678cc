import { VitlensError } from "../errors.js";
import type { ErrorCode } from "./contract.js";

/** A refusal the routes answer with its status and code (contract.ts ErrorAnswer). */
export class ApiError extends VitlensError {
  constructor(readonly status: number, readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** An image id the server does not hold (never uploaded, dropped by the LRU, or from before a restart). */
export class UnknownImageError extends ApiError {
  constructor(message: string) {
    super(404, "unknown-image", message);
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, "not-found", message);
  }
}
