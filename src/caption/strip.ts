import { blendHeat, displayImage, tileGrid, type Tile } from "../render/overlay.js";
import type { CaptionResult } from "./evaluate.js";

/**
 * One PNG per image: the image, then one overlay per generated word with the word as its title,
 * in order (wrapping after `columns` tiles), and the whole caption underneath.
 */
export async function captionStrip(result: CaptionResult, modelSize: [number, number], columns = 8): Promise<Buffer> {
  const display = await displayImage(result.image, modelSize);
  const [rows, cols] = result.grid;
  const tiles: Tile[] = [
    { image: display, title: "input" },
    ...result.tokens.map((word, t) => ({ image: blendHeat(display, { values: result.maps[t], rows, cols }), title: `${t + 1}. ${word}` })),
  ];
  return tileGrid(tiles, columns, Math.max(160, Math.min(display.width, 224)), `"${result.caption}" (score ${result.score.toFixed(3)})`);
}
