import { VitlensError } from "../errors.js";

/**
 * The number of attention heads is not visible in any tensor shape, and a wrong count gives
 * wrong logits without any error. So it is never guessed beyond what is published; otherwise
 * the user is asked for `--heads N`.
 */
export interface HeadsEvidence {
  /** `--heads N`: overrides everything else. */
  explicit?: number;
  /** What the checkpoint's config records (HF `num_attention_heads`, timm `model_args.num_heads`). */
  fromConfig?: number;
  /** A timm / DeiT architecture name (`vit_small_patch16_224`, `deit_tiny_patch16_224`, ...). */
  architecture?: string;
  /** A hand-written family (vit-pytorch, nn.TransformerEncoder): published widths say nothing about it. */
  handWritten?: string;
}

/** Heads of the published ViT widths (Google, timm, HF, torchvision); 1280 is 16 heads of 80. */
export const HEADS_BY_WIDTH: Readonly<Record<number, number>> = { 192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16 };

/** timm / DeiT size names and the (width, heads) they stand for. */
const FAMILY: Readonly<Record<string, [number, number]>> = {
  tiny: [192, 3], small: [384, 6], base: [768, 12], large: [1024, 16], huge: [1280, 16], giant: [1408, 16],
};
const NAME = /^(?:vit|deit3?)_(tiny|small|base|large|huge|giant)_/;

/** The head count for a `width`-wide ViT read from `file`, by the rules above, or a one-line error. */
export function resolveHeads(width: number, file: string, e: HeadsEvidence): number {
  if (e.explicit !== undefined) {
    if (!Number.isInteger(e.explicit) || e.explicit <= 0 || width % e.explicit !== 0) {
      throw new VitlensError(`--heads ${e.explicit}: must divide the width ${width} of ${file}`);
    }
    return e.explicit;
  }
  if (e.fromConfig !== undefined) return e.fromConfig;
  if (e.handWritten) throw new VitlensError(`${file}: a ${e.handWritten} state dict does not record its attention heads; pass --heads N`);
  const family = e.architecture ? NAME.exec(e.architecture) : null;
  if (family) {
    const [nameWidth, heads] = FAMILY[family[1]];
    // Old timm vit_small_patch16_224 was 768 wide with 8 heads (and its own attention scale):
    // a name is trusted only when the weights have the width it stands for.
    if (nameWidth === width) return heads;
    throw new VitlensError(
      `${file}: architecture "${e.architecture}" names a ${nameWidth}-wide ViT but the weights are ${width} wide, and no head count is recorded; pass --heads N`,
    );
  }
  const published = HEADS_BY_WIDTH[width];
  if (published !== undefined) return published;
  throw new VitlensError(`${file}: ${width}-wide ViT and no number of attention heads is recorded (not a published width); pass --heads N`);
}
