import sharp from "sharp";
import { VitlensError } from "../errors.js";

/** A decoded 8-bit RGB image, (H, W, 3) interleaved: what datasets hand to augmentation. */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
}

/** Decodes any format sharp reads; grayscale becomes RGB, alpha is dropped. */
export async function decodeRaw(path: string): Promise<RawImage> {
  return decodeWithSharp(path, path);
}

/**
 * The same decoding from bytes in memory (the server's uploads), refusing images of more than
 * `maxPixels` before decoding them (sharp reads the size from the header: no decompression bombs).
 */
export async function decodeRawBuffer(bytes: Buffer, name: string, maxPixels: number): Promise<RawImage> {
  return decodeWithSharp(bytes, name, maxPixels);
}

async function decodeWithSharp(input: string | Buffer, name: string, maxPixels?: number): Promise<RawImage> {
  try {
    const { data, info } = await sharp(input, maxPixels === undefined ? {} : { limitInputPixels: maxPixels })
      .removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width };
  } catch (e) {
    throw new VitlensError(`${name}: not a readable image (${(e as Error).message.split("\n")[0]})`);
  }
}

/** Gray (H, W) bytes -> RGB RawImage. */
export function grayToRaw(gray: Uint8Array, height: number, width: number): RawImage {
  const data = new Uint8Array(height * width * 3);
  for (let i = 0; i < height * width; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = gray[i];
  return { data, height, width };
}
