/** Escapes text for SVG. */
export function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

export const FONT = "DejaVu Sans, Lato, Liberation Sans, sans-serif";

/** An SVG text strip (white background) of the given size, for titles and captions. */
export function textStrip(text: string, width: number, height: number, size = 14): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>` +
      `<text x="${width / 2}" y="${height / 2 + size * 0.35}" font-family="${FONT}" font-size="${size}" text-anchor="middle" fill="#222">${xml(text)}</text></svg>`,
  );
}
