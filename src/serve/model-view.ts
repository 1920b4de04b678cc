import sharp from "sharp";
import type { RawImage } from "../data/raw-image.js";
import type { ServerContext } from "./context.js";
import type { StoredImage } from "./image-store.js";

/** The image as the classifier sees it: its preprocessed pixels, un-normalized to 8-bit RGB (H, W, 3). */
export async function modelView(ctx: ServerContext, s: StoredImage): Promise<RawImage> {
  const pre = ctx.vit.info.preprocess;
  const { data, shape: [, , H, W] } = await ctx.images.pixels(s, pre);
  const rgb = new Uint8Array(H * W * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < H * W; i++) rgb[i * 3 + c] = Math.min(255, Math.max(0, Math.round((data[c * H * W + i] * pre.std[c] + pre.mean[c]) / pre.rescaleFactor)));
  }
  return { data: rgb, height: H, width: W };
}

export async function rawPng(img: RawImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
}

/** Enlarged to at least 224 px wide for viewing, as `vitlens attention` shows its input (render/overlay.ts displayImage). */
export async function displaySize(img: RawImage): Promise<RawImage> {
  const scale = Math.max(1, Math.ceil(224 / img.width));
  if (scale === 1) return img;
  const data = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(img.width * scale, img.height * scale, { kernel: scale > 2 ? "nearest" : "lanczos3" }).raw().toBuffer();
  return { data: new Uint8Array(data), height: img.height * scale, width: img.width * scale };
}
