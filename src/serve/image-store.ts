import { createHash } from "node:crypto";
import sharp from "sharp";
import { imagePixels } from "../data/preprocess.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { decodeRawBuffer, type RawImage } from "../data/raw-image.js";
import { VitlensError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { UnknownImageError } from "./api-errors.js";
import { LruCache } from "./cache.js";

export interface StoredImage {
  id: string;
  image: RawImage;
  /** The classifier's input (1, 3, H, W), made once by the one pixel path. */
  pixels?: Tensor;
}

/** Uploaded images, in memory only (never written to disk), by content hash; LRU, bounded in bytes. */
export class ImageStore {
  private readonly images: LruCache<StoredImage>;

  constructor(maxBytes: number, private readonly maxPixels: number) {
    this.images = new LruCache(maxBytes, (s) => s.image.data.byteLength + (s.pixels?.data.byteLength ?? 0));
  }

  /** Decodes a tiny image once, so the first upload does not pay for starting the codec library. */
  async warmUp(): Promise<void> {
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: "#808080" } }).png().toBuffer();
    await decodeRawBuffer(png, "warm-up", this.maxPixels);
  }

  /** Decodes the bytes (sharp, pixel limit first) and keeps the image; the same bytes give the same id. */
  async add(bytes: Buffer): Promise<StoredImage> {
    if (bytes.length === 0) throw new VitlensError("the upload is empty: send an image (JPEG, PNG, WebP, ...)");
    const id = createHash("sha256").update(bytes).digest("hex").slice(0, 32);
    const known = this.images.get(id);
    if (known) return known;
    const image = await decodeRawBuffer(bytes, "upload", this.maxPixels).catch((e: Error) => {
      throw new VitlensError(/more than \d+ pixels/.test(e.message)
        ? `upload: the image has more than ${this.maxPixels} pixels (--max-pixels); refused before decoding`
        : e.message);
    });
    const stored = { id, image };
    this.images.set(id, stored);
    return stored;
  }

  /** The image of an id from add(); a missing or non-string id is a bad request, an unknown string a 404 (code unknown-image). */
  get(id: unknown): StoredImage {
    if (id === undefined || id === null || id === "") throw new VitlensError('no image: send {"image": id} (an id from POST /api/images), ?image=id, or the image as the request body');
    if (typeof id !== "string") throw new VitlensError(`image ${JSON.stringify(id)}: expected an image id, the string POST /api/images answered`);
    const s = this.images.get(id);
    if (!s) throw new UnknownImageError(`image ${JSON.stringify(id)}: the server does not hold this image (never uploaded, dropped to save memory, or uploaded before a restart); upload it again with POST /api/images`);
    return s;
  }

  /** The image through the classifier's preprocessing (as every command does it), batch of one. */
  async pixels(s: StoredImage, pre: PreprocessConfig): Promise<Tensor> {
    if (!s.pixels) {
      const p = await imagePixels(s.image, pre);
      s.pixels = { data: p.data, shape: [1, ...p.shape] };
      this.images.set(s.id, s); // recount its bytes
    }
    return s.pixels;
  }
}
