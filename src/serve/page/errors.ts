// Errors where they happened: each view and the image picker has its own box, with a dismiss
// button; another view's error is never shown on this one.
import { ApiFailure } from "./api.js";
import { $ } from "./dom.js";

/** `where`: a view's name, or "picker". */
export function showError(where: string, e: unknown): void {
  const box = $(`${where}-error`);
  box.querySelector(".message")!.textContent = e instanceof Error ? e.message : String(e);
  box.dataset.code = e instanceof ApiFailure ? e.code : "";
  box.hidden = false;
}

export function clearError(where: string): void {
  const box = $(`${where}-error`);
  box.hidden = true;
  box.querySelector(".message")!.textContent = "";
}

export function setupErrors(): void {
  for (const box of document.querySelectorAll<HTMLElement>(".error")) {
    box.querySelector("button.dismiss")!.addEventListener("click", () => {
      box.hidden = true;
    });
  }
}
