import { IGNORE } from "./train-step.js";

/**
 * Teacher forcing as transformers' VisionEncoderDecoderModel does it: labels = the caption's
 * pieces + EOS (padding ignored, -100 in HF); decoder inputs = the labels shifted right behind the
 * decoder start token, ignored positions filled with the pad token. (B, T), T the longest + 1.
 */
export function hfTeacherForcing(captions: number[][], t: { start: number; eos: number; pad: number; maxPieces: number }): { ids: Int32Array; targets: Int32Array; T: number } {
  const rows = captions.map((c) => [...c.slice(0, t.maxPieces), t.eos]);
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(t.pad);
  const targets = new Int32Array(rows.length * T).fill(IGNORE);
  rows.forEach((r, b) => {
    ids[b * T] = t.start;
    r.forEach((id, i) => {
      targets[b * T + i] = id;
      if (i + 1 < T) ids[b * T + i + 1] = id;
    });
  });
  return { ids, targets, T };
}
