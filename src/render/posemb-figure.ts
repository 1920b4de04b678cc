import sharp from "sharp";
import type { Tensor } from "../tensor.js";
import { colorAt } from "./colormap.js";
import { FONT, xml } from "./text.js";

/**
 * The ViT paper's Figure 7 as a PNG: for each patch (placed at its row and column), a small map
 * of its position embedding's cosine similarity to every patch; one shared colour scale [-1, 1]
 * with a colorbar; axes labelled "input patch row / column". sim: (P, P), grid (rows, cols).
 */
export async function positionSimilarityFigure(sim: Tensor, rows: number, cols: number, title: string): Promise<Buffer> {
  const P = rows * cols;
  const cell = Math.max(2, Math.floor(56 / Math.max(rows, cols))); // each small map ~56 px wide
  const mapW = cols * cell;
  const mapH = rows * cell;
  const gap = Math.max(3, Math.round(cell * 0.8));
  const left = 70;
  const top = 60;
  const gridW = cols * (mapW + gap) - gap;
  const gridH = rows * (mapH + gap) - gap;
  const width = Math.max(left + gridW + 110, Math.round(title.length * 8.5) + 40);
  const height = top + gridH + 60;
  const parts: string[] = [];
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="28" font-family="${FONT}" font-size="16" text-anchor="middle">${xml(title)}</text>`);
  for (let pr = 0; pr < rows; pr++)
    for (let pc = 0; pc < cols; pc++) {
      const i = pr * cols + pc;
      const ox = left + pc * (mapW + gap);
      const oy = top + pr * (mapH + gap);
      for (let j = 0; j < P; j++) {
        const v = sim.data[i * P + j];
        parts.push(`<rect x="${ox + (j % cols) * cell}" y="${oy + Math.floor(j / cols) * cell}" width="${cell}" height="${cell}" fill="${colorAt("viridis", (v + 1) / 2)}"/>`);
      }
    }
  // Axis ticks: patch rows down the left, columns along the bottom (1-based, like the paper).
  const every = Math.max(1, Math.ceil(Math.max(rows, cols) / 14));
  for (let r = 0; r < rows; r += every) {
    parts.push(`<text x="${left - 8}" y="${top + r * (mapH + gap) + mapH / 2 + 4}" font-family="${FONT}" font-size="11" text-anchor="end">${r + 1}</text>`);
  }
  for (let c = 0; c < cols; c += every) {
    parts.push(`<text x="${left + c * (mapW + gap) + mapW / 2}" y="${top + gridH + 16}" font-family="${FONT}" font-size="11" text-anchor="middle">${c + 1}</text>`);
  }
  parts.push(`<text x="${left + gridW / 2}" y="${top + gridH + 40}" font-family="${FONT}" font-size="13" text-anchor="middle">input patch column</text>`);
  parts.push(`<text transform="translate(22 ${top + gridH / 2}) rotate(-90)" font-family="${FONT}" font-size="13" text-anchor="middle">input patch row</text>`);
  // Colorbar, -1 .. 1.
  const cbX = left + gridW + 30;
  const cbH = Math.min(gridH, 240);
  for (let k = 0; k < 64; k++) {
    parts.push(`<rect x="${cbX}" y="${top + cbH - ((k + 1) * cbH) / 64}" width="16" height="${cbH / 64 + 0.5}" fill="${colorAt("viridis", k / 63)}"/>`);
  }
  for (const [v, y] of [[1, top + 4], [0, top + cbH / 2 + 4], [-1, top + cbH]] as const) {
    parts.push(`<text x="${cbX + 22}" y="${y}" font-family="${FONT}" font-size="11">${v}</text>`);
  }
  parts.push(`<text transform="translate(${cbX + 60} ${top + cbH / 2}) rotate(90)" font-family="${FONT}" font-size="12" text-anchor="middle">cosine similarity</text>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join("")}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
