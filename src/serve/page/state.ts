import type { Info } from "./api.js";

/** What the views share: the model info and the current image. */
export const state = {
  info: null as unknown as Info,
  imageId: null as string | null,
  /** The image as the classifier sees it (GET /api/images/:id). */
  modelView: null as HTMLImageElement | null,
  /** The uploaded image itself (for the captioner, whose input size differs). */
  original: null as HTMLImageElement | null,
  /** performance.now() of the last upload, for the time to the first overlay. */
  uploadStart: 0,
};
