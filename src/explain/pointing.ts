/**
 * The pointing game (Zhang et al. 2016): a map "hits" when its maximum lies inside the
 * object's box. Maps are on the patch grid; the hit test uses the arg-max patch's centre.
 */
export function pointingHit(map: ArrayLike<number>, rows: number, cols: number, imageSize: [number, number], box: [number, number, number, number]): boolean {
  let best = 0;
  for (let i = 1; i < rows * cols; i++) if (map[i] > map[best]) best = i;
  const [H, W] = imageSize;
  const cy = ((Math.floor(best / cols) + 0.5) * H) / rows;
  const cx = (((best % cols) + 0.5) * W) / cols;
  const [x, y, w, h] = box;
  return cx >= x && cx <= x + w && cy >= y && cy <= y + h;
}

/** What pointing at random scores: the box's share of the image. */
export function randomPointingRate(box: [number, number, number, number], imageSize: [number, number]): number {
  return (box[2] * box[3]) / (imageSize[0] * imageSize[1]);
}
