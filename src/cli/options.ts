import { InvalidArgumentError } from "commander";

/** Commander parsers that reject bad flag values with a message naming what was expected. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** "224" or "224x160" (height x width). */
export function imageSize(value: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected a size like "224" or "224x160" (height x width)');
  const h = Number(m[1]);
  return [h, m[2] ? Number(m[2]) : h];
}

/** How every command's --model is described: what resolveModel accepts. */
export const MODEL_HELP = "run folder, model directory, .safetensors/.pth/.npz file, preset, or Hugging Face Hub id owner/name[@revision]";

/** A non-negative number for the flag `name`. */
export const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative number for ${name}`);
  return n;
};

export const fraction = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError("expected a fraction in [0, 1)");
  return n;
};
