// The explorer as a user sees it: headless Chromium on the page vitlens serve gives, offline; every
// view checked against the CLI or the API, screenshotted at 1x and 2x, and timed (not asserted).
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import type { RunningServer } from "../src/serve/app.js";
import { paths, type AttentionAnswer, type CaptionAnswer, type DinoAnswer, type GridAnswer } from "../src/serve/contract.js";
import { haveChromium, launchChromium } from "./browser.js";
import { fixture, maxAbsDiff } from "./helpers.js";
import { canvasPixels, observed, openPage, pointAtPatch, shot, SHOTS, slide, text, waitFor } from "./serve-browser-helpers.js";
import { BUNDLED_CAPTIONER, BUNDLED_MODEL, call, cli, sample, serve } from "./serve-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-serve-browser-"));
const SNEAKER = sample("fashion/7_sneaker.png");
const say = (line: string) => process.stdout.write(`# ${line}\n`);
const GRID: [number, number] = [7, 7];

/** A run as the trainer writes it: steps with loss, accuracy, lr and grad norm, epochs with validation; finished. */
function writeRun(runs: string, name: string, seed: number, epochs: number): string {
  const path = join(runs, name);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, "run.json"), JSON.stringify({ kind: "classifier", options: { epochs } }));
  const lines = [];
  const t0 = Date.parse("2026-11-01T10:00:00Z");
  lines.push({ type: "epoch", epoch: 0, val_loss: 2.4, val_accuracy: 0.1, time: new Date(t0).toISOString() });
  for (let e = 1; e <= epochs; e++) {
    for (let s = 1; s <= 10; s++) {
      const g = (e - 1) * 10 + s;
      const noise = Math.sin(g * 12.9898 + seed) * 0.15;
      lines.push({ type: "step", epoch: e, step: s, global_step: g, loss: 2.3 / Math.sqrt(g + seed) + noise, accuracy: Math.min(1, 0.2 + g / 30 + noise), lr: 0.01 * 0.5 ** (e - 1), grad_norm: 3 / Math.sqrt(g) + noise, time: new Date(t0 + g * 4000).toISOString() });
    }
    lines.push({ type: "epoch", epoch: e, train_loss: 1.5 / e, val_loss: 1.6 / e + seed / 10, train_accuracy: 0.5 + e / 10, val_accuracy: 0.45 + e / 10, lr: 0.01 * 0.5 ** (e - 1), time: new Date(t0 + e * 40_000).toISOString() });
  }
  writeFileSync(join(path, "metrics.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  mkdirSync(join(path, "state-1"));
  writeFileSync(join(path, "state-1", "progress.json"), JSON.stringify({ progress: { epoch: epochs } }));
  writeFileSync(join(path, "state.json"), JSON.stringify({ current: "state-1" }));
  return path;
}

describe("vitlens serve in Chromium: the views", { skip: haveChromium ? false : "chromium not installed" }, () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let remote: string[];
  const runs = join(dir, "runs");
  let cliTensors: ReturnType<typeof readSafetensors>["tensors"];
  /** The CLI's attention row of `token` (0: CLS), patches only. */
  const row = (layer: number, head: number | "mean", token: number) => {
    const t = cliTensors.get(`layer.${layer}`)!;
    const [H, N] = t.shape;
    const heads = head === "mean" ? [...Array(H).keys()] : [head];
    return Array.from({ length: N - 1 }, (_, j) => heads.reduce((s, h) => s + t.data[h * N * N + token * N + 1 + j], 0) / heads.length);
  };

  before(async () => {
    writeRun(runs, "fashion-a", 0, 2);
    writeRun(runs, "fashion-b", 3, 2);
    const r = cli("attention", "--model", BUNDLED_MODEL, "--out", join(dir, "attention"), "--raw", SNEAKER);
    assert.equal(r.status, 0, r.stderr);
    cliTensors = readSafetensors(join(dir, "attention", "7_sneaker.cls.safetensors")).tensors;
    server = await serve({ runs, pollMs: 100 });
    browser = await launchChromium();
    ({ page, errors, remote } = await openPage(browser, server));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    say(`screenshots: ${SHOTS} (${readdirSync(SHOTS).sort().join(", ")})`);
  });

  it("classify: a sample's top-5 and overlay are the CLI's; hover shows a patch's row, a click pins it, arrows move it, Esc unpins", async () => {
    await page.click("button.sample[data-sample='fashion/7_sneaker.png']");
    await waitFor(page, "v.shown['classify.map'] && v.shown['classify.top'] && v.timings.sampleToOverlay !== undefined");
    let seen = await observed(page);
    say(`sample -> overlay (bundled 28x28 ViT, first image after start): ${seen.timings.sampleToOverlay.toFixed(0)} ms (upload answered in ${seen.timings.uploaded.toFixed(0)} ms)`);
    const predicted = JSON.parse(cli("predict", "--model", BUNDLED_MODEL, "--json", SNEAKER).stdout);
    const top = seen.shown["classify.top"].data as Array<{ index: number; score: number }>;
    assert.deepEqual(top.map((t) => t.index), predicted.top.map((t: { index: number }) => t.index));
    assert.ok(maxAbsDiff(top.map((t) => t.score), predicted.top.map((t: { score: number }) => t.score)) < 1e-6);
    const map = seen.shown["classify.map"].data as AttentionAnswer;
    assert.deepEqual([map.method, map.layer, map.head], ["cls", 3, "mean"]);
    assert.ok(maxAbsDiff(map.map, row(3, "mean", 0)) < 1e-5, "the first overlay is the last layer's CLS attention");
    assert.match(await text(page, "#overlay-info"), /^CLS attention · layer 3, mean of heads/);
    assert.match(await text(page, "#image-name"), /^fashion\/7_sneaker\.png: 28x28$/);
    await shot(page, "classify");

    // Hover patch 26 (row 3, col 5): its row; the value under the pointer is read out.
    const before = await canvasPixels(page, "#overlay");
    await pointAtPatch(page, "#overlay", 26, GRID);
    await waitFor(page, "v.shown['classify.hover'] && v.shown['classify.hover'].data.query === 26");
    seen = await observed(page);
    const hover = seen.shown["classify.hover"].data as AttentionAnswer;
    assert.ok(maxAbsDiff(hover.map, row(3, "mean", 27)) < 1e-5, "the hovered row equals attention --raw's");
    say(`hover -> map (bundled ViT): ${seen.timings.hoverToMap.toFixed(0)} ms`);
    assert.notEqual((await canvasPixels(page, "#overlay")).sum, before.sum);
    assert.match(await text(page, "#overlay-info"), /^patch 26 \(row 3, col 5 of 7x7\) as query · layer 3, mean of heads · on CLS 0\.\d{4} · patch 26 \(row 3, col 5 of 7x7\): \d\.\d+/);

    // Click pins it (in the URL too); arrows move the query; Esc unpins.
    await pointAtPatch(page, "#overlay", 26, GRID, true);
    await waitFor(page, "v.state.query === 26 && v.shown['classify.map']?.data.query === 26");
    assert.match(page.url(), /[?&]query=26/);
    await page.mouse.move(5, 5);
    await page.keyboard.press("ArrowUp");
    await waitFor(page, "v.shown['classify.map']?.data.query === 19");
    assert.ok(maxAbsDiff(((await observed(page)).shown["classify.map"].data as AttentionAnswer).map, row(3, "mean", 20)) < 1e-5, "patch 19's row");
    await shot(page, "classify-pinned");
    await page.keyboard.press("Escape");
    await waitFor(page, "v.state.query === null && v.shown['classify.map']?.data.method === 'cls'");

    // Layer 1, head 2: that layer's and head's CLS row.
    await slide(page, "#layer", 1);
    await page.selectOption("#head", "2");
    await waitFor(page, "v.shown['classify.map']?.data.layer === 1 && v.shown['classify.map']?.data.head === 2");
    assert.ok(maxAbsDiff(((await observed(page)).shown["classify.map"].data as AttentionAnswer).map, row(1, 2, 0)) < 1e-5);
    await page.selectOption("#head", "mean");
    await slide(page, "#layer", 3);
  });

  it("layers x heads: every layer's heads and their mean, as the grid API gives them; click enlarges; a pinned patch gives its rows", async () => {
    await page.click("nav button[data-view=heads]");
    await waitFor(page, "v.shown.heads && v.shown.heads?.data.query === null");
    const seen = await observed(page);
    assert.equal((seen.shown.heads.data as { cells: number }).cells, 4 * 5);
    const cells = await page.$$eval("#heads-grid button.cell", (cs) => cs.map((c) => `${(c as HTMLElement).dataset.layer}/${(c as HTMLElement).dataset.head}`));
    assert.deepEqual(cells.slice(0, 5), ["0/0", "0/1", "0/2", "0/3", "0/mean"]);
    const id = seen.state.image!.id!;
    const api = (await call(server, paths.grid(id, { query: null }))).body as unknown as GridAnswer;
    assert.ok(maxAbsDiff(api.maps[2][1], row(2, 1, 0)) < 1e-5);
    await shot(page, "heads");
    await page.click("#heads-grid button.cell[data-layer='2'][data-head='1']");
    await page.waitForSelector("#heads-zoom:not([hidden])");
    assert.match(await text(page, "#heads-zoom-title"), /^layer 2, head 1, CLS row$/);
    assert.equal((await canvasPixels(page, "#heads-zoom-canvas")).width, 336);
    await shot(page, "heads-zoom");
    await page.keyboard.press("Escape");
    await page.waitForSelector("#heads-zoom", { state: "hidden" });
    await pointAtPatch(page, "#heads-query", 24, GRID, true);
    await waitFor(page, "v.shown.heads?.data.query === 24");
    assert.match(await text(page, "#heads-query-info"), /^rows: patch 24 \(row 3, col 3 of 7x7\) as query/);
    await page.keyboard.press("Escape");
    await waitFor(page, "v.shown.heads?.data.query === null");
  });

  it("DINO heads: each head's CLS map with its keep-mass mask; the keep slider changes what is kept", async () => {
    await page.click("nav button[data-view=dino]");
    await waitFor(page, "v.shown.dino && v.shown.dino?.data.keep === 0.6");
    const d = (await observed(page)).shown.dino.data as DinoAnswer;
    assert.deepEqual(d.heads.map((h) => h.head), [0, 1, 2, 3, "mean"]);
    assert.ok(maxAbsDiff(d.heads[1].map, row(3, 1, 0)) < 1e-5);
    assert.equal(await page.$$eval("#dino-heads button.tile", (t) => t.length), 5);
    assert.match(await text(page, "#dino-caption"), new RegExp(`^layer 3, mean of heads: ${d.heads[4].kept} of 49 patches hold 60% of the mass$`));
    assert.equal(await page.isHidden("#dino-prefix"), true, "no registers, no share line");
    await shot(page, "dino");
    await slide(page, "#keep", 0.9);
    await waitFor(page, "v.shown.dino?.data.keep === 0.9");
    const wider = (await observed(page)).shown.dino.data as DinoAnswer;
    assert.ok(wider.heads.every((h, i) => h.kept >= d.heads[i].kept) && wider.heads.some((h, i) => h.kept > d.heads[i].kept));
    await slide(page, "#keep", 0.6);
  });

  it("DINO heads on a model with registers: the CLS row's share on them, per head", async () => {
    const reg = await serve({ model: fixture("family-hf-dinov2-reg"), captioner: null });
    const other = await openPage(browser, reg, { path: "/?view=dino&sample=fashion/7_sneaker.png" });
    try {
      await waitFor(other.page, "v.shown.dino !== undefined");
      const d = (await observed(other.page)).shown.dino.data as DinoAnswer;
      const mean = d.heads[d.heads.length - 1];
      const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
      assert.equal(await text(other.page, "#dino-prefix"), `CLS row on registers ${pct(mean.prefix[1] + mean.prefix[2])} (r0 ${pct(mean.prefix[1])}, r1 ${pct(mean.prefix[2])}), CLS itself ${pct(mean.prefix[0])}`);
      assert.match(await text(other.page, "#model-info"), /2 more tokens before them \(register 0, register 1\)/);
      assert.match(await text(other.page, "#top5"), /a backbone: no classification head/);
      await shot(other.page, "dino-registers");
      assert.deepEqual(other.errors, []);
    } finally {
      await other.page.close();
      await reg.close();
    }
  });

  it("CATR's maps keep the photo's shape (its grid follows the photo's aspect ratio; a ViT's is square)", async () => {
    const catr = await serve({ captioner: fixture("catr", "catr-tiny.pth"), captionerTokenizer: fixture("catr", "vocab.txt") });
    const other = await openPage(browser, catr, { path: "/?view=caption" });
    try {
      await other.page.setInputFiles("#file", fixture("catr", "photo-0.png")); // 128 x 96
      await waitFor(other.page, "v.shown.caption !== undefined");
      const a = (await observed(other.page)).shown.caption.data as CaptionAnswer;
      assert.notEqual(a.grid[0], a.grid[1], "a landscape photo gives CATR a wider grid");
      const css = (sel: string) => other.page.$eval(sel, (c) => [parseFloat((c as HTMLElement).style.width), parseFloat((c as HTMLElement).style.height)]);
      assert.deepEqual(await css("#caption-canvas"), [336, 252], "the big map at the photo's 4:3");
      assert.deepEqual(await css("#caption-strip canvas"), [96, 72]);
      assert.deepEqual(other.errors, []);
    } finally {
      await other.page.close();
      await catr.close();
    }
  });

  it("a model without a CLS token: the maps say they read the mean of the patch rows", async () => {
    const nocls = await serve({ model: fixture("family-timm-nocls-avg"), captioner: null });
    const other = await openPage(browser, nocls, { path: "/?sample=fashion/7_sneaker.png" });
    try {
      await waitFor(other.page, "v.shown['classify.map'] !== undefined");
      assert.match(await text(other.page, "#overlay-info"), /^attention of the mean patch row \(no CLS token\) · layer 1, mean of heads/);
      assert.equal(await other.page.$eval("#method option[value=cls]", (o) => o.textContent), "patch-mean attention (no CLS token)");
      await other.page.click("nav button[data-view=heads]");
      await waitFor(other.page, "v.shown.heads !== undefined");
      assert.match(await text(other.page, "#heads-query-info"), /^rows: the mean of the patch rows \(no CLS token\)/);
      assert.deepEqual(other.errors, []);
    } finally {
      await other.page.close();
      await nocls.close();
    }
  });

  it("position embeddings: the Figure-7 grid on one scale [-1, 1]; a patch's map large with its values", async () => {
    await page.click("nav button[data-view=posemb]");
    await page.waitForFunction(() => document.querySelectorAll("#posemb-grid canvas").length === 49);
    assert.equal(await page.isHidden("#picker"), true, "no image picker where no image is used");
    await page.hover("#posemb-grid canvas:nth-child(11)");
    await waitFor(page, "v.shown.posemb?.data.patch === 10");
    assert.match(await text(page, "#posemb-info"), /^patch 10 \(row 1, col 3 of 7x7\): similarity with the others/);
    assert.equal(await page.getAttribute("#posemb-bar", "data-range"), "-1,1");
    await shot(page, "posemb");
  });

  it("caption: the words caption --json gives at the layer that grounds best; hovering word k shows map k", async () => {
    await page.click("nav button[data-view=caption]");
    // The captioner's own kind of image: a grid from its gallery.
    const first = await page.getAttribute("#samples button.sample", "data-sample");
    assert.match(first ?? "", /^grids\//);
    await page.click("#samples button.sample");
    await waitFor(page, `v.shown.caption && v.state.image?.sample === ${JSON.stringify(first)}`);
    const expected = JSON.parse(cli("caption", "--model", BUNDLED_CAPTIONER, "--json", "--layer", "0", sample(first!)).stdout);
    const a = (await observed(page)).shown.caption.data as CaptionAnswer;
    assert.equal(a.layer, 0);
    assert.equal(a.caption, expected.caption);
    assert.ok(Math.abs(a.score - expected.score) < 1e-5);
    const words = (expected.words ?? expected.tokens) as string[];
    assert.deepEqual(await page.$$eval("#chips .chip", (cs) => cs.map((c) => c.firstChild!.textContent)), words);
    const k = words.length - 1;
    await page.hover(`#chips .chip:nth-child(${k + 1})`);
    await waitFor(page, `v.shown['caption.word']?.data.word === ${k}`);
    assert.equal(await page.$$eval("#caption-strip canvas", (cs) => cs.length), words.length);
    assert.match(await text(page, "#cap-layer-why"), /^starts on layer 0: it grounds best/);
    await shot(page, "caption");
  });

  it("runs: several runs on one chart, smoothing, log scale, step / epoch / wall-time axes, lr and grad norm; a new line shows live", async () => {
    await page.click("nav button[data-view=runs]");
    await page.waitForSelector("#runs-list tr[data-run='fashion-b']");
    await page.check("#runs-list tr[data-run='fashion-a'] input");
    await page.check("#runs-list tr[data-run='fashion-b'] input");
    await waitFor(page, "v.shown['runs.fashion-a'] && v.shown['runs.fashion-b']");
    for (const id of ["loss", "accuracy", "lr", "grad"]) assert.equal(await page.isVisible(`#chart-${id}-box`), true, id);
    // 2 runs x (20 steps raw + 20 smoothed + 2 epochs train + 3 epochs val (epoch 0 included)).
    assert.equal(await page.getAttribute("#chart-loss-box", "data-points"), String(2 * (20 + 20 + 2 + 3)));
    assert.match(await text(page, "#runs-list tr[data-run='fashion-a']"), /finished.*2 of 2 epochs.*20 steps/);
    await shot(page, "runs", { fullPage: true });
    await page.selectOption("#x-axis", "time");
    await page.check("#log");
    await slide(page, "#smooth", 0.9);
    await waitFor(page, "v.state.x === 'time' && v.state.log === true && v.state.smooth === 0.9");
    assert.match(page.url(), /x=time/);
    appendFileSync(join(runs, "fashion-a", "metrics.jsonl"), JSON.stringify({ type: "step", epoch: 3, step: 1, global_step: 21, loss: 0.3, accuracy: 0.9, lr: 0.0025, time: "2026-11-01T10:01:30Z" }) + "\n");
    await waitFor(page, "v.shown['runs.fashion-a']?.data.records === 24");
    assert.match(await page.getAttribute("#runs-list tr[data-run='fashion-a'] a", "href") ?? "", /\/api\/runs\/fashion-a\/metrics\.csv$/);
    await page.selectOption("#x-axis", "step");
    await page.uncheck("#log");
  });

  it("every view at 2x device scale: canvases drawn at the display's resolution", async () => {
    const s = (await observed(page)).state;
    const two = await openPage(browser, server, { scale: 2, path: `/?sample=${encodeURIComponent(s.image!.sample ?? "fashion/7_sneaker.png")}` });
    try {
      await waitFor(two.page, "v.shown['classify.map'] !== undefined");
      assert.equal((await canvasPixels(two.page, "#overlay")).width, 672);
      await shot(two.page, "classify@2x");
      for (const [view, ready] of [["heads", "v.shown.heads"], ["dino", "v.shown.dino"], ["posemb", "v.shown.posemb"], ["caption", "v.shown.caption"], ["runs", "v.shown['runs.fashion-a']"]]) {
        await two.page.click(`nav button[data-view=${view}]`);
        await waitFor(two.page, ready);
        await shot(two.page, `${view}@2x`, { fullPage: view === "runs" });
      }
      assert.equal((await canvasPixels(two.page, "#heads-query")).width, 448);
      assert.deepEqual(two.errors, []);
    } finally {
      await two.page.close();
    }
  });

  it("timings on ViT-B/16 (224 px, 12 x 12 heads): sample -> overlay, hover -> map, the layers x heads grid", async () => {
    const big = await serve({ model: "vit-b16", captioner: null });
    const b = await openPage(browser, big);
    try {
      await b.page.click("button.sample[data-sample='cat.jpg']");
      await waitFor(b.page, "v.shown['classify.map'] && v.timings.sampleToOverlay !== undefined", 60_000);
      await pointAtPatch(b.page, "#overlay", 100, [14, 14]);
      await waitFor(b.page, "v.shown['classify.hover'] && v.shown['classify.hover'].data.query === 100", 60_000);
      await b.page.click("nav button[data-view=heads]");
      await waitFor(b.page, "v.shown.heads !== undefined", 60_000);
      const t = (await observed(b.page)).timings;
      assert.equal(((await observed(b.page)).shown.heads.data as { cells: number }).cells, 12 * 13);
      say(`ViT-B/16 (random weights, ${big.ctx.vit.info.backend} backend, 1 OpenMP thread): sample -> overlay ${t.sampleToOverlay.toFixed(0)} ms, hover -> map ${t.hoverToMap.toFixed(0)} ms, grid of 144 head maps + 12 means ${t.gridMs.toFixed(0)} ms`);
      await shot(b.page, "heads-vit-b16");
      assert.deepEqual(b.errors, []);
    } finally {
      await b.page.close();
      await big.close();
    }
  });

  it("nothing was requested outside the server; no page errors", () => {
    assert.deepEqual(errors, []);
    assert.deepEqual(remote, []);
  });
});
