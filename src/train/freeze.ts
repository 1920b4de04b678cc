import { VitlensError } from "../errors.js";
import { plural } from "../words.js";

/**
 * Parameter names to freeze from a spec like "patch_embed,blocks.0-5,pos_embed" or "backbone"
 * (everything but the head). Each part must match at least one parameter.
 */
export function frozenNames(spec: string, names: string[]): Set<string> {
  const frozen = new Set<string>();
  for (const raw of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    let matches: string[];
    const range = /^blocks\.(\d+)-(\d+)$/.exec(raw);
    if (raw === "backbone") matches = names.filter((n) => !n.startsWith("head."));
    else if (range) {
      const [lo, hi] = [Number(range[1]), Number(range[2])];
      const layers = 1 + Math.max(-1, ...names.map((n) => Number(/^blocks\.(\d+)\./.exec(n)?.[1] ?? -1)));
      if (lo > hi || hi >= layers) throw new VitlensError(`--freeze ${raw}: the model has ${plural(layers, "block")} (blocks.0-${layers - 1}); expected a range within them`);
      matches = names.filter((n) => {
        const m = /^blocks\.(\d+)\./.exec(n);
        return m !== null && Number(m[1]) >= lo && Number(m[1]) <= hi;
      });
    } else matches = names.filter((n) => n === raw || n.startsWith(`${raw}.`));
    if (matches.length === 0) {
      throw new VitlensError(`--freeze ${raw}: matches no parameter (use backbone, patch_embed, cls_token, pos_embed, blocks.N, blocks.A-B, norm, head)`);
    }
    matches.forEach((n) => frozen.add(n));
  }
  return frozen;
}
