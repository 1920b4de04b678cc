/** An error caused by the user's input (a file, a flag, a key): printed as one line, no stack. */
export class VitlensError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VitlensError";
  }
}
