// The explorer as a user sees it: headless Chromium on the page vitlens serve gives, offline.
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import type { RunningServer } from "../src/serve/app.js";
import { haveChromium, launchChromium } from "./browser.js";
import { maxAbsDiff } from "./helpers.js";
import { BUNDLED_CAPTIONER, BUNDLED_MODEL, cli, sample, serve } from "./serve-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-serve-browser-"));
const shots = join(dir, "screenshots");
const SNEAKER = sample("fashion/7_sneaker.png");

type Observed = {
  timings: Record<string, number>; top: Array<{ index: number; label: string; score: number }>;
  lastMap: { request: Record<string, unknown>; answer: { map: number[] } } | null;
  lastHover: { request: Record<string, unknown>; answer: { map: number[]; cls: number } } | null;
  caption: Record<string, unknown> | null; shownWord: number; posembPatch: number; runRecords: number;
};
const observed = (page: Page) => page.evaluate(() => (window as unknown as { vitlens: Observed }).vitlens);
const waitFor = (page: Page, predicate: string) => page.waitForFunction(`(() => { const v = window.vitlens; return ${predicate}; })()`, undefined, { timeout: 15_000 });

/** Non-transparent pixels and a checksum of a canvas. */
const canvasPixels = (page: Page, id: string) => page.$eval(`#${id}`, (c) => {
  const { data } = (c as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
  let [ink, sum] = [0, 0];
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) ink++;
    sum = (sum * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) % 1_000_000_007;
  }
  return { ink, sum };
});

async function select(page: Page, id: string, value: string): Promise<void> {
  await page.selectOption(`#${id}`, value);
}

describe("vitlens serve in Chromium", { skip: haveChromium ? false : "chromium not installed" }, () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const remote: string[] = [];
  const errors: string[] = [];
  const runs = join(dir, "runs");
  const metrics = join(runs, "demo", "metrics.jsonl");
  // What the CLI says about the same file: the page must show the same numbers.
  const attentionOut = join(dir, "attention");

  before(async () => {
    mkdirSync(shots, { recursive: true });
    mkdirSync(join(runs, "demo"), { recursive: true });
    writeFileSync(join(runs, "demo", "run.json"), JSON.stringify({ recipe: "demo" }));
    const lines = [];
    for (let s = 1; s <= 20; s++) lines.push(JSON.stringify({ type: "step", global_step: s, loss: 2.3 / Math.sqrt(s), accuracy: 1 - 0.9 / Math.sqrt(s), lr: 0.001 }));
    lines.push(JSON.stringify({ type: "epoch", epoch: 1, train_loss: 1.1, val_loss: 1.2, train_accuracy: 0.6, val_accuracy: 0.55 }));
    writeFileSync(metrics, lines.join("\n") + "\n");
    server = await serve({ runs, pollMs: 100 });
    browser = await launchChromium();
    // bypassCSP: the test's own waitForFunction strings are evaluated in the page, which the page's CSP forbids.
    page = await browser.newPage({ viewport: { width: 1200, height: 900 }, bypassCSP: true });
    page.on("request", (req) => {
      if (!req.url().startsWith(server.url) && !/^(blob|data):/.test(req.url())) remote.push(req.url());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector("body[data-ready='1']");
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    process.stdout.write(`# screenshots: ${shots} (${readdirSync(shots).join(", ")})\n`);
  });

  it("classify: a sample's top-5 equals predict --json; the overlay follows hover, layer, head and method", async () => {
    await select(page, "sample", "fashion/7_sneaker.png");
    await waitFor(page, "v.top.length === 5 && v.timings.firstOverlay !== undefined");
    const seen = await observed(page);
    const t = (o: Observed) => `${o.timings.firstOverlay.toFixed(1)} ms (upload answered ${o.timings.uploaded.toFixed(1)}, image shown ${o.timings.imagesShown.toFixed(1)})`;
    process.stdout.write(`# upload to first overlay (bundled model, in Chromium), first image after start: ${t(seen)}\n`);
    const predicted = JSON.parse(cli("predict", "--model", BUNDLED_MODEL, "--json", SNEAKER).stdout);
    assert.deepEqual(seen.top.map((t) => t.index), predicted.top.map((t: { index: number }) => t.index));
    assert.ok(maxAbsDiff(seen.top.map((t) => t.score), predicted.top.map((t: { score: number }) => t.score)) < 1e-6);
    assert.deepEqual(await page.$$eval("#top5 li", (li) => li.length), 5);
    // A second image, then the first again (new uploads each time: the page posts the bytes, the model recomputes on a new id).
    await select(page, "sample", "fashion/8_bag.png");
    await waitFor(page, "v.timings.firstOverlay !== undefined && v.lastMap.request.image !== " + JSON.stringify(seen.lastMap!.request.image));
    process.stdout.write(`# upload to first overlay, a second image: ${t(await observed(page))}\n`);
    await select(page, "sample", "fashion/7_sneaker.png");
    await waitFor(page, "v.timings.firstOverlay !== undefined && v.lastMap.request.image === " + JSON.stringify(seen.lastMap!.request.image));
    await page.screenshot({ path: join(shots, "classify.png") });

    const r = cli("attention", "--model", BUNDLED_MODEL, "--out", attentionOut, "--raw", SNEAKER);
    assert.equal(r.status, 0, r.stderr);
    const tensors = readSafetensors(join(attentionOut, "7_sneaker.cls.safetensors")).tensors;
    const [H, N] = tensors.get("layer.3")!.shape;
    const row = (layer: number, head: number | "mean", token: number) => {
      const t = tensors.get(`layer.${layer}`)!.data;
      const heads = head === "mean" ? [...Array(H).keys()] : [head];
      return Array.from({ length: N - 1 }, (_, j) => heads.reduce((s, h) => s + t[h * N * N + token * N + 1 + j], 0) / heads.length);
    };
    assert.ok(maxAbsDiff(seen.lastMap!.answer.map, row(3, "mean", 0)) < 1e-5, "the first overlay is the last layer's CLS attention");

    // Hover patch 26 (row 3, col 5 of 7x7): the overlay changes to its attention row.
    const before = await canvasPixels(page, "overlay");
    const box = (await page.$("#overlay"))!.boundingBox();
    const b = (await box)!;
    await page.mouse.move(b.x + (5.5 / 7) * b.width, b.y + (3.5 / 7) * b.height);
    await waitFor(page, "v.lastHover && v.lastHover.request.query === 26");
    const hover = (await observed(page)).lastHover!;
    assert.ok(maxAbsDiff(hover.answer.map, row(3, "mean", 27)) < 1e-5, "the hovered row equals attention --raw's");
    const during = await canvasPixels(page, "overlay");
    assert.notEqual(during.sum, before.sum, "the canvas changed on hover");
    await page.screenshot({ path: join(shots, "classify-hover.png"), clip: { x: 0, y: 0, width: 1000, height: 560 } });
    await page.mouse.move(b.x - 40, b.y - 40);

    // Layer 1, then head 2: the map is that layer's / head's CLS row.
    await page.$eval("#layer", (el) => {
      (el as HTMLInputElement).value = "1";
      el.dispatchEvent(new Event("change"));
    });
    await waitFor(page, "v.lastMap.request.layer === 1 && v.lastMap.request.head === 'mean'");
    assert.ok(maxAbsDiff((await observed(page)).lastMap!.answer.map, row(1, "mean", 0)) < 1e-5);
    await select(page, "head", "2");
    await waitFor(page, "v.lastMap.request.layer === 1 && v.lastMap.request.head === 2");
    assert.ok(maxAbsDiff((await observed(page)).lastMap!.answer.map, row(1, 2, 0)) < 1e-5);
    const perHead = await canvasPixels(page, "overlay");
    assert.notEqual(perHead.sum, before.sum);

    // Attribution needs a class, and says so; with one it draws.
    await select(page, "method", "attribution");
    await page.waitForFunction(() => /attribution needs a class/.test(document.getElementById("map-note")!.textContent ?? ""));
    await select(page, "class", "7");
    await waitFor(page, "v.lastMap.request.method === 'attribution' && v.lastMap.request.class === 7");
    assert.equal(await page.textContent("#map-note"), "");
    await select(page, "method", "rollout");
    await waitFor(page, "v.lastMap.request.method === 'rollout'");
    await page.check("#all-heads");
    await page.waitForFunction(() => document.querySelectorAll("#strip canvas").length === 4);
  });

  it("position embeddings: the Figure-7 grid; hovering a patch shows its map large", async () => {
    await page.click("nav button[data-view=posemb]");
    await page.waitForFunction(() => document.querySelectorAll("#posemb-grid canvas").length === 49);
    await page.hover("#posemb-grid canvas:nth-child(11)");
    await waitFor(page, "v.posembPatch === 10");
    assert.match(await page.textContent("#posemb-info") ?? "", /^patch 10 \(row 1, col 3\): similarity/);
    assert.ok((await canvasPixels(page, "posemb-large")).ink > 1000);
    await page.screenshot({ path: join(shots, "posemb.png") });
  });

  it("caption: the words equal caption --json; hovering word k shows map k", async () => {
    await page.click("nav button[data-view=caption]");
    await waitFor(page, "v.caption !== null && v.shownWord === 0");
    const expected = JSON.parse(cli("caption", "--model", BUNDLED_CAPTIONER, "--json", SNEAKER).stdout);
    const words = (expected.words ?? expected.tokens) as string[];
    const chips = await page.$$eval("#chips .chip", (cs) => cs.map((c) => c.firstChild!.textContent));
    assert.deepEqual(chips, words);
    assert.equal((await observed(page)).caption!.caption, expected.caption);
    const k = words.length - 1;
    await page.hover(`#chips .chip:nth-child(${k + 1})`);
    await waitFor(page, `v.shownWord === ${k}`);
    assert.equal(await page.$$eval("#chips .chip.on", (cs) => cs.length), 1);
    assert.equal(await page.$$eval("#caption-strip canvas", (cs) => cs.length), words.length);
    await page.screenshot({ path: join(shots, "caption.png") });
  });

  it("runs: curves drawn; an appended metrics line shows up without reload", async () => {
    await page.click("nav button[data-view=runs]");
    await page.waitForFunction(() => document.querySelectorAll("#run-select option").length === 2);
    await select(page, "run-select", "demo");
    await waitFor(page, "v.runRecords === 21");
    assert.ok((await canvasPixels(page, "chart-loss")).ink > 500, "the loss curve has pixels");
    appendFileSync(metrics, JSON.stringify({ type: "step", global_step: 21, loss: 0.3, accuracy: 0.9, lr: 0.001 }) + "\n");
    await waitFor(page, "v.runRecords === 22");
    await page.screenshot({ path: join(shots, "runs.png") });
  });

  it("a bad upload shows the server's message in the page; nothing was requested outside 127.0.0.1", async () => {
    const bad = join(dir, "notes.txt");
    writeFileSync(bad, "not an image");
    await page.click("nav button[data-view=classify]");
    await page.setInputFiles("#file", bad);
    await page.waitForFunction(() => !document.getElementById("error")!.hidden);
    assert.match(await page.textContent("#error") ?? "", /upload: not a readable image/);
    await page.screenshot({ path: join(shots, "bad-upload.png") });
    assert.deepEqual(errors, []);
    assert.deepEqual(remote, []);
  });
});
