/**
 * Row i of each buffer (K equal rows) becomes old row parents[i]. Beams mostly keep their own
 * row, so only the rows that change are copied, from a copy of the rows they read.
 */
export function reorderRows(buffers: Float32Array[], parents: number[], K: number): void {
  const moved = parents.map((from, to) => [from, to] as const).filter(([from, to]) => from !== to);
  if (moved.length === 0) return;
  const sources = [...new Set(moved.map(([from]) => from))];
  for (const buf of buffers) {
    const per = buf.length / K;
    const saved = new Map(sources.map((from) => [from, buf.slice(from * per, (from + 1) * per)]));
    for (const [from, to] of moved) buf.set(saved.get(from)!, to * per);
  }
}
