import { VitlensError } from "../errors.js";
import { CATR_DEFAULT_HEADS, catrParameterShapes, type CatrConfig } from "../models/catr-config.js";
import { sameShape, shapeString, type Tensor } from "../tensor.js";

/** Where CATR's ResNet lives in its state dict (Joiner(Backbone, PositionEmbeddingSine)[0].body). */
export const CATR_BACKBONE_PREFIX = "backbone.0.body.";

/** The key groups only a CATR state dict has together. */
const MARKERS = [
  CATR_BACKBONE_PREFIX, "input_proj.", "transformer.encoder.layers.0.", "transformer.decoder.layers.0.",
  "transformer.embeddings.word_embeddings.", "transformer.embeddings.position_embeddings.", "transformer.embeddings.LayerNorm.", "mlp.layers.0.",
];

/** True when every one of CATR's key groups is present. */
export function isCatrStateDict(keys: Iterable<string>): boolean {
  const list = [...keys];
  return MARKERS.every((m) => list.some((k) => k.startsWith(m)));
}

/** The CATR key groups a state dict lacks (for the refusal of a file that is not CATR's). */
export function missingCatrGroups(keys: Iterable<string>): string[] {
  const list = [...keys];
  return MARKERS.filter((m) => !list.some((k) => k.startsWith(m))).map((m) => m.replace(/\.$/, ""));
}

export interface CatrReadOptions {
  /** --heads: CATR's configuration (8) when absent. */
  heads?: number;
  /** layer4 dilated (CATR's configuration); --no-dilation turns it off. */
  dilation?: boolean;
}

/** How many numbered layers `prefix.N.` there are; they must run 0..n-1. */
function countLayers(keys: string[], prefix: string, file: string): number {
  const found = new Set<number>();
  for (const k of keys) {
    const m = k.startsWith(prefix) ? /^(\d+)\./.exec(k.slice(prefix.length)) : null;
    if (m) found.add(Number(m[1]));
  }
  for (let i = 0; i < found.size; i++) if (!found.has(i)) throw new VitlensError(`${file}: ${prefix}${i}.* is missing (layers are numbered 0..${found.size})`);
  return found.size;
}

function shapeOf(tensors: Map<string, Tensor>, key: string, file: string, rank: number): number[] {
  const t = tensors.get(key);
  if (!t) throw new VitlensError(`${file}: missing key ${key} (a CATR checkpoint has it)`);
  if (t.shape.length !== rank) throw new VitlensError(`${file}: key ${key} has shape ${shapeString(t.shape)}, expected ${rank} dimensions`);
  return t.shape;
}

/**
 * CATR's configuration from a state dict's shapes: widths from input_proj, the feed-forward, the
 * embeddings and the head; layer counts from the numbered keys; pre-norm from
 * transformer.encoder.norm. Then every transformer tensor is checked against it, so shapes that
 * disagree with each other are refused naming the key. Backbone keys are the ResNet loader's.
 */
export function catrConfigFromState(tensors: Map<string, Tensor>, file: string, o: CatrReadOptions = {}): CatrConfig {
  const keys = [...tensors.keys()];
  if (!isCatrStateDict(keys)) {
    throw new VitlensError(`${file}: not a CATR checkpoint (no ${missingCatrGroups(keys).join(", ")} keys; expected the state dict of saahiluppal/catr's Caption model)`);
  }
  const [D, C] = shapeOf(tensors, "input_proj.weight", file, 4);
  const [F] = shapeOf(tensors, "transformer.encoder.layers.0.linear1.weight", file, 2);
  const [V] = shapeOf(tensors, "transformer.embeddings.word_embeddings.weight", file, 2);
  const [P] = shapeOf(tensors, "transformer.embeddings.position_embeddings.weight", file, 2);
  const [M] = shapeOf(tensors, "mlp.layers.0.weight", file, 2);
  const heads = o.heads ?? CATR_DEFAULT_HEADS;
  if (!Number.isInteger(heads) || heads < 1 || D % heads !== 0) {
    throw new VitlensError(`${o.heads !== undefined ? `--heads ${heads}` : `CATR's default of ${heads} heads`}: must divide the hidden width ${D} of ${file}${o.heads === undefined ? "; pass --heads N" : ""}`);
  }
  const config: CatrConfig = {
    hiddenSize: D, numHeads: heads, feedForward: F, vocabSize: V, maxPositions: P, mlpHidden: M, backboneChannels: C,
    encoderLayers: countLayers(keys, "transformer.encoder.layers.", file),
    decoderLayers: countLayers(keys, "transformer.decoder.layers.", file),
    preNorm: tensors.has("transformer.encoder.norm.weight"),
    dilation: o.dilation ?? true,
  };
  const expected = catrParameterShapes(config);
  for (const [key, shape] of expected) {
    const t = tensors.get(key);
    if (!t) throw new VitlensError(`${file}: missing key ${key} (a CATR checkpoint with ${config.encoderLayers}+${config.decoderLayers} layers has it)`);
    if (!sameShape(t.shape, shape)) {
      throw new VitlensError(`${file}: key ${key} has shape ${shapeString(t.shape)}, expected ${shapeString(shape)} (hidden ${D}, feed-forward ${F}, vocabulary ${V}, positions ${P}, head ${M}, backbone channels ${C})`);
    }
  }
  const known = new Set(expected.map(([k]) => k));
  const stray = keys.find((k) => !known.has(k) && !k.startsWith(CATR_BACKBONE_PREFIX));
  if (stray) throw new VitlensError(`${file}: unexpected key ${stray} in a CATR checkpoint`);
  return config;
}
