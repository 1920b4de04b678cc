import type { Backend } from "../backend/backend.js";
import type { Params, Tensor } from "../tensor.js";
import type { CatrConfig } from "./catr-config.js";
import { catrEncoderForward, CatrDecoderState } from "./catr-transformer.js";
import { sinePositionEncoding } from "./sine-position.js";

/** The ResNet trunk's forward: pixels (B, 3, h, w) -> features (B, C, gh, gw). */
export interface CatrBackbone {
  forward(pixels: Float32Array, b: number, h: number, w: number): { features: Float32Array; gh: number; gw: number };
}

/** One image batch encoded: what every decoder step reads. */
export interface CatrEncoded {
  memory: Float32Array; // (B, N, D)
  pos: Float32Array; // (B, N, D) sine encoding of the grid
  mask: Uint8Array | null; // (B, N) nonzero = padding; null when no image is padded
  B: number;
  N: number;
  gh: number;
  gw: number;
  /** Per image: the rows and columns of the grid that are not padding. */
  valid: Array<[number, number]>;
}

/**
 * CATR: backbone -> input_proj (1x1 conv) -> + sine position -> DETR encoder -> memory; the
 * decoder then runs on the memory with a cache (`decoder`). Parameters keep CATR's own names.
 */
export class Catr {
  constructor(readonly config: CatrConfig, readonly params: Params, readonly backbone: CatrBackbone | null) {}

  get numParameters(): number {
    let n = 0;
    for (const t of this.params.values()) n += t.data.length;
    return n;
  }

  /**
   * Images (3, h, w) of any sizes, padded as CATR's NestedTensor: zeros at the bottom and right to
   * the largest height and width, the mask true there, then downsampled to the feature grid.
   */
  encode(images: Tensor[], be: Backend): CatrEncoded {
    if (!this.backbone) throw new Error("CATR: no backbone loaded");
    const B = images.length;
    const H = Math.max(...images.map((t) => t.shape[1]));
    const W = Math.max(...images.map((t) => t.shape[2]));
    const pixels = new Float32Array(B * 3 * H * W); // (B, 3, H, W)
    const mask = new Uint8Array(B * H * W).fill(1);
    images.forEach((t, b) => {
      const [, h, w] = t.shape;
      for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) pixels.set(t.data.subarray((c * h + y) * w, (c * h + y + 1) * w), ((b * 3 + c) * H + y) * W);
      for (let y = 0; y < h; y++) mask.fill(0, (b * H + y) * W, (b * H + y) * W + w);
    });
    const { features, gh, gw } = this.backbone.forward(pixels, B, H, W);
    return this.encodeFeatures(features, B, gh, gw, downsampleMask(mask, B, H, W, gh, gw), be);
  }

  /** From backbone features (B, C, gh, gw) and the grid's padding mask (B, gh*gw) on. */
  encodeFeatures(features: Float32Array, B: number, gh: number, gw: number, gridMask: Uint8Array, be: Backend): CatrEncoded {
    const c = this.config;
    const D = c.hiddenSize;
    const C = c.backboneChannels;
    const N = gh * gw;
    const weight = this.params.get("input_proj.weight")!.data; // (D, C, 1, 1): a matmul over channels
    const bias = this.params.get("input_proj.bias")!.data;
    const src = new Float32Array(B * N * D); // (B, N, D)
    for (let b = 0; b < B; b++) {
      // (C, N)^T @ W^T -> (N, D)
      be.matmul(features.subarray(b * C * N, (b + 1) * C * N), weight, src.subarray(b * N * D, (b + 1) * N * D), { m: N, n: D, k: C, transA: true, transB: true, bias });
    }
    const padded = gridMask.some((v) => v !== 0);
    const mask = padded ? gridMask : null;
    const pos = sinePositionEncoding(mask, B, gh, gw, D / 2);
    const memory = catrEncoderForward(be, c, this.params, { src, pos, mask, B, N });
    const valid = Array.from({ length: B }, (_, b): [number, number] => {
      let rows = 0;
      let cols = 0;
      for (let i = 0; i < N; i++) {
        if (gridMask[b * N + i]) continue;
        rows = Math.max(rows, Math.floor(i / gw) + 1);
        cols = Math.max(cols, (i % gw) + 1);
      }
      return [rows, cols];
    });
    return { memory, pos, mask, B, N, gh, gw, valid };
  }

  /** Decoder rows reading images `images` (an index into the batch per row), `capacity` positions cached. */
  decoder(e: CatrEncoded, images: number[], be: Backend, capacity = this.config.maxPositions): CatrDecoderState {
    return new CatrDecoderState(be, this.config, this.params, e, images, Math.min(capacity, this.config.maxPositions));
  }
}

/**
 * F.interpolate(mask, size=(gh, gw)) in its default nearest mode: grid cell (i, j) takes the
 * pixel (floor(i * H / gh), floor(j * W / gw)), the scale computed in float32 as PyTorch does.
 */
export function downsampleMask(mask: Uint8Array, B: number, H: number, W: number, gh: number, gw: number): Uint8Array {
  const f = Math.fround;
  const sy = f(H / gh);
  const sx = f(W / gw);
  const out = new Uint8Array(B * gh * gw);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < gh; i++) {
      const y = Math.min(Math.floor(f(i * sy)), H - 1);
      for (let j = 0; j < gw; j++) out[(b * gh + i) * gw + j] = mask[(b * H + y) * W + Math.min(Math.floor(f(j * sx)), W - 1)];
    }
  }
  return out;
}
