/** Rows of cells as aligned text columns: `align` per column (text left, numbers right), `gap` spaces between. */
export function formatTable(rows: string[][], align: Array<"left" | "right">, o: { indent?: string; gap?: number } = {}): string[] {
  const widths = align.map((_, j) => Math.max(0, ...rows.map((r) => [...(r[j] ?? "")].length)));
  const pad = (cell: string, j: number) => {
    const fill = " ".repeat(widths[j] - [...cell].length);
    return align[j] === "right" ? fill + cell : cell + fill;
  };
  return rows.map((r) => (o.indent ?? "  ") + align.map((_, j) => pad(r[j] ?? "", j)).join(" ".repeat(o.gap ?? 2)).trimEnd());
}

/** A percentage with two decimals; `–` when there is nothing to take a share of (a class with no images). */
export const percent = (x: number, digits = 2): string => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : "–");
