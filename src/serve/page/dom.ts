// Small DOM helpers: find by id, make an element with text and attributes.

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

/** Sets a control's value only when it differs (a slider being dragged keeps its position). */
export function setValue(id: string, value: string): void {
  const c = $<HTMLInputElement | HTMLSelectElement>(id);
  if (c.value !== value) c.value = value;
}

/** Enables or disables a control and greys its label, with the reason as a tooltip. */
export function setEnabled(id: string, on: boolean, why = ""): void {
  const c = $<HTMLInputElement | HTMLSelectElement>(id);
  c.disabled = !on;
  const label = c.closest("label");
  label?.classList.toggle("off", !on);
  if (label) label.title = on ? "" : why;
}
