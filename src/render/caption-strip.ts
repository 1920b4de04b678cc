import { blendHeat, displayImage, tileGrid, type Tile } from "./overlay.js";

/** What a strip shows: the image file, its words, one map per word over the patch grid. */
export interface StripInput {
  image: string;
  caption: string;
  words: string[];
  score: number;
  maps: Float32Array[]; // per word: (gh * gw)
  grid: [number, number];
}

/**
 * One PNG per image: the image, then one overlay per generated word with the word as its title,
 * in order (wrapping after `columns` tiles), and the whole caption underneath.
 */
export async function captionStrip(result: StripInput, modelSize: [number, number], columns = 8): Promise<Buffer> {
  const display = await displayImage(result.image, modelSize);
  const [rows, cols] = result.grid;
  const tiles: Tile[] = [
    { image: display, title: "input" },
    ...result.words.map((word, t) => ({ image: blendHeat(display, { values: result.maps[t], rows, cols }), title: `${t + 1}. ${word}` })),
  ];
  return tileGrid(tiles, columns, Math.max(160, Math.min(display.width, 224)), `"${result.caption}" (score ${result.score.toFixed(3)})`);
}
