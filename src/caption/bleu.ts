/**
 * Corpus BLEU-4 (Papineni et al. 2002): clipped n-gram precisions for n = 1..4 pooled over the
 * corpus, geometric mean, brevity penalty against the reference closest in length. Tokens in,
 * no smoothing (what COCO's evaluation reports).
 */
export function corpusBleu(hypotheses: string[][], references: string[][][], maxN = 4): number {
  const matches = new Array(maxN).fill(0);
  const totals = new Array(maxN).fill(0);
  let hypLength = 0;
  let refLength = 0;
  hypotheses.forEach((hyp, i) => {
    const refs = references[i];
    hypLength += hyp.length;
    refLength += refs.map((r) => r.length).reduce((best, len) => (Math.abs(len - hyp.length) < Math.abs(best - hyp.length) || (Math.abs(len - hyp.length) === Math.abs(best - hyp.length) && len < best) ? len : best));
    for (let n = 1; n <= maxN; n++) {
      const counts = ngrams(hyp, n);
      const maxRef = new Map<string, number>();
      for (const r of refs) for (const [g, c] of ngrams(r, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, c));
      for (const [g, c] of counts) matches[n - 1] += Math.min(c, maxRef.get(g) ?? 0);
      totals[n - 1] += Math.max(hyp.length - n + 1, 0);
    }
  });
  if (matches.some((m) => m === 0)) return 0;
  const logPrecision = matches.reduce((s, m, k) => s + Math.log(m / totals[k]), 0) / maxN;
  const brevity = hypLength >= refLength ? 1 : Math.exp(1 - refLength / Math.max(hypLength, 1));
  return brevity * Math.exp(logPrecision);
}

function ngrams(tokens: string[], n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const g = tokens.slice(i, i + n).join(" ");
    out.set(g, (out.get(g) ?? 0) + 1);
  }
  return out;
}
