import { readFile } from "node:fs/promises";
import sharp from "sharp";
import decodeBmp from "decode-bmp";
import decodeIco from "decode-ico";
import { VitlensError } from "../errors.js";

/** A decoded 8-bit RGB image, (H, W, 3) interleaved: what datasets hand to augmentation. */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
}

/** A file (or upload) that does not decode: skipped by every command unless `--strict`. */
export class UnreadableImageError extends VitlensError {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: not a readable image (${reason})`);
  }
}

/**
 * EXIF orientation is applied by default, as PIL's `ImageOps.exif_transpose` (which transformers'
 * `load_image` and `datasets`' Image feature call) does; `--no-exif-rotate` turns it off for the
 * whole process.
 */
let exifRotate = true;
export function setExifRotate(on: boolean): void {
  exifRotate = on;
}

/**
 * Decodes as PIL's `Image.open(f).convert("RGB")` after `exif_transpose`: grayscale and palette
 * become RGB, alpha is dropped, CMYK goes through PIL's naive formula (not an ICC transform);
 * sharp reads JPEG, PNG, WebP, GIF, TIFF, AVIF, and kept decoders read BMP and ICO.
 */
export async function decodeRaw(path: string): Promise<RawImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UnreadableImageError(path, code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a folder" : (e as Error).message);
  }
  return decodeBytes(bytes, path);
}

/**
 * The same decoding from bytes in memory (the server's uploads), refusing images of more than
 * `maxPixels` before decoding them (sharp reads the size from the header: no decompression bombs).
 */
export async function decodeRawBuffer(bytes: Buffer, name: string, maxPixels: number): Promise<RawImage> {
  return decodeBytes(bytes, name, maxPixels);
}

/** Encoded bytes (a parquet cell), named `name` in errors. */
export async function decodeBytesNamed(bytes: Buffer, name: string): Promise<RawImage> {
  return decodeBytes(bytes, name);
}

async function decodeBytes(bytes: Buffer, name: string, maxPixels?: number): Promise<RawImage> {
  if (bytes.length === 0) throw new UnreadableImageError(name, "empty file");
  if (bytes[0] === 0x42 && bytes[1] === 0x4d && bytes.length >= 26) {
    const pixels = Math.abs(bytes.readInt32LE(18)) * Math.abs(bytes.readInt32LE(22)); // the header's size, before decoding
    if (maxPixels !== undefined && pixels > maxPixels) throw new UnreadableImageError(name, `more than ${maxPixels} pixels; refused before decoding`);
    return fromRgba(name, () => decodeBmp(bytes), maxPixels, "BMP");
  }
  if (bytes.length >= 6 && bytes.readUInt32BE(0) === 0x00000100) return fromIco(name, bytes, maxPixels);
  try {
    const input = sharp(bytes, maxPixels === undefined ? {} : { limitInputPixels: maxPixels });
    const oriented = exifRotate ? input.autoOrient() : input;
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (meta.space === "cmyk") {
      const { data, info } = await oriented.pipelineColourspace("cmyk").toColourspace("cmyk").raw().toBuffer({ resolveWithObject: true });
      return { data: cmykToRgb(data, info.channels), height: info.height, width: info.width };
    }
    const { data, info } = await oriented.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width };
  } catch (e) {
    throw new UnreadableImageError(name, inVitlensWords((e as Error).message, maxPixels));
  }
}

/** libvips' messages, said the way a user reads them. */
function inVitlensWords(message: string, maxPixels?: number): string {
  if (/unsupported image format/i.test(message)) return "not a format vitlens reads: JPEG, PNG, WebP, GIF, TIFF, AVIF, BMP or ICO";
  if (/pixel limit/i.test(message)) return `more than ${maxPixels} pixels; refused before decoding`;
  const format = /jpe?g/i.test(message) ? "JPEG" : /png/i.test(message) ? "PNG" : /webp/i.test(message) ? "WebP" : /gif/i.test(message) ? "GIF" : /tiff/i.test(message) ? "TIFF" : /heif|avif/i.test(message) ? "AVIF" : "image";
  if (/premature end|truncated|not enough data|end of (file|stream)|unexpected end/i.test(message)) return `truncated ${format}`;
  if (format !== "image" && /read error|corrupt|invalid|bad |error/i.test(message)) return `broken ${format}`;
  return message.split("\n")[0].replace(/^Vips\w*:\s*/, "").replace(/^Input (file|buffer) /, "");
}

/** PIL's cmyk2rgb: R = (255 - K) - round(C (255 - K) / 255), the same for G (M) and B (Y). */
export function cmykToRgb(cmyk: Buffer | Uint8Array, channels: number): Uint8Array {
  const n = cmyk.length / channels;
  const rgb = new Uint8Array(n * 3);
  const mulDiv255 = (a: number, b: number) => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let i = 0; i < n; i++) {
    const nk = 255 - cmyk[i * channels + 3];
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.max(0, nk - mulDiv255(cmyk[i * channels + c], nk));
  }
  return rgb;
}

/** An ICO's largest entry (PIL's default size); PNG entries go through sharp. */
async function fromIco(name: string, bytes: Buffer, maxPixels?: number): Promise<RawImage> {
  let entries: ReturnType<typeof decodeIco>;
  try {
    entries = decodeIco(bytes);
  } catch (e) {
    throw new UnreadableImageError(name, `broken ICO (${(e as Error).message})`);
  }
  if (entries.length === 0) throw new UnreadableImageError(name, "an ICO with no images");
  const largest = entries.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  if (largest.type === "png") return decodeBytes(Buffer.from(largest.data), name, maxPixels);
  return fromRgba(name, () => largest, maxPixels, "ICO");
}

/** RGBA from a JS decoder -> RGB (alpha dropped, as PIL's convert("RGB") drops it). */
function fromRgba(name: string, decode: () => { data: Uint8Array | Uint8ClampedArray; width: number; height: number }, maxPixels: number | undefined, format: string): RawImage {
  let img: { data: Uint8Array | Uint8ClampedArray; width: number; height: number };
  try {
    img = decode();
  } catch (e) {
    throw new UnreadableImageError(name, `broken ${format} (${(e as Error).message})`);
  }
  const n = img.width * img.height;
  if (maxPixels !== undefined && n > maxPixels) throw new UnreadableImageError(name, `more than ${maxPixels} pixels; refused before decoding`);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = img.data[4 * i];
    rgb[3 * i + 1] = img.data[4 * i + 1];
    rgb[3 * i + 2] = img.data[4 * i + 2];
  }
  return { data: rgb, height: img.height, width: img.width };
}

/** Gray (H, W) bytes -> RGB RawImage. */
export function grayToRaw(gray: Uint8Array, height: number, width: number): RawImage {
  const data = new Uint8Array(height * width * 3);
  for (let i = 0; i < height * width; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = gray[i];
  return { data, height, width };
}
