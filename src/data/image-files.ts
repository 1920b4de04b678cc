import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { VitlensError } from "../errors.js";

/** The image formats sharp decodes, by file name. */
export const IMAGE_EXT = /\.(png|jpe?g|webp|gif|tiff?|bmp|ico|avif)$/i;

/** Files as given; folders expanded to their image files, sorted. */
export function expandImages(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (existsSync(a) && statSync(a).isDirectory()) {
      const files = readdirSync(a).filter((f) => IMAGE_EXT.test(f)).sort();
      if (files.length === 0) throw new VitlensError(`${a}: folder holds no images`);
      out.push(...files.map((f) => join(a, f)));
    } else out.push(a);
  }
  return out;
}
