// What the page learned at start: the model's facts (GET /api/info).
import type { InfoAnswer, ModelInfo } from "../contract.js";

export const app = {
  info: null as unknown as InfoAnswer,
  get model(): ModelInfo {
    return this.info.model;
  },
};

/** The state's layer, or the model's last. */
export const layerOf = (layer: number | null) => layer ?? app.model.layers - 1;

/** The maps' query in words: the CLS token, or the mean of the patch rows of a model without one. */
export const hasCls = () => app.model.query === "CLS";
export const queryShort = () => (hasCls() ? "CLS" : "patch-mean");
