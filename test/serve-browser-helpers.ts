// Shared by the explorer's browser tests: a page on a server, what it shows (window.vitlens), canvases, screenshots.
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type { RunningServer } from "../src/serve/app.js";

/** Where screenshots go: $VITLENS_SCREENSHOTS (the README's come from there), else a temporary folder. */
export const SHOTS = process.env.VITLENS_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "vitlens-shots-"));
mkdirSync(SHOTS, { recursive: true });

export interface Observed {
  state: Record<string, unknown> & { view: string; image: { id: string | null; name: string; sample: string | null } | null };
  shown: Record<string, { key: string; data: unknown; at: number }>;
  timings: Record<string, number>;
  busy: Array<{ slot: string; ms: number }>;
  requests: { started: number; aborted: number; dropped: number };
  reuploads: number;
}

export interface Opened {
  page: Page;
  /** Uncaught page errors and requests to anything but the server. */
  errors: string[];
  remote: string[];
}

/** A new page on the server (bypassCSP: the tests' own waitForFunction strings run in the page). */
export async function openPage(browser: Browser, server: RunningServer, o: { scale?: number; path?: string; width?: number; height?: number } = {}): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: o.width ?? 1280, height: o.height ?? 900 }, deviceScaleFactor: o.scale ?? 1, bypassCSP: true });
  const errors: string[] = [];
  const remote: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (req) => {
    if (!req.url().startsWith(server.url) && !/^(blob|data):/.test(req.url())) remote.push(req.url());
  });
  await page.goto(new URL(o.path ?? "/", server.url).toString());
  await page.waitForSelector("body[data-ready='1']");
  return { page, errors, remote };
}

export const observed = (page: Page) => page.evaluate(() => (window as unknown as { vitlens: Observed }).vitlens);

/** Waits until `predicate` (JavaScript over v = window.vitlens) holds. */
export const waitFor = (page: Page, predicate: string, timeout = 20_000) =>
  page.waitForFunction(`(() => { const v = window.vitlens; return ${predicate}; })()`, undefined, { timeout, polling: 20 });

/** Painted pixels and a checksum of a canvas. */
export const canvasPixels = (page: Page, selector: string) => page.$eval(selector, (c) => {
  const canvas = c as HTMLCanvasElement;
  const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
  let [ink, sum] = [0, 0];
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) ink++;
    sum = (sum * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) % 1_000_000_007;
  }
  return { ink, sum, width: canvas.width, height: canvas.height };
});

export const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? "";

export async function shot(page: Page, name: string, o: { fullPage?: boolean } = {}): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: o.fullPage ?? false });
}

/** Sets a range input and sends its input event, as dragging does. */
export const slide = (page: Page, selector: string, value: number) => page.$eval(selector, (el, v) => {
  (el as HTMLInputElement).value = String(v);
  el.dispatchEvent(new Event("input"));
}, value);

/** The mouse at the centre of patch p of a (gh, gw) grid drawn on the element. */
export async function pointAtPatch(page: Page, selector: string, p: number, [gh, gw]: [number, number], click = false): Promise<void> {
  const b = (await (await page.$(selector))!.boundingBox())!;
  const [x, y] = [b.x + ((p % gw) + 0.5) * (b.width / gw), b.y + (Math.floor(p / gw) + 0.5) * (b.height / gh)];
  if (click) await page.mouse.click(x, y);
  else await page.mouse.move(x, y);
}
