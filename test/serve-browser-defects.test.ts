// Issue 22's defects of the explorer, one test each, in Chromium: what a user saw on the first
// page (a stale map after the server lost the image, nothing saying it was busy, late answers
// drawn over newer ones, runs that never refreshed, controls that did nothing, pickers that
// disagreed, colours without a scale, samples for another model, a wrapped grid).
import assert from "node:assert/strict";
import { cpSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page, Route } from "playwright-core";
import type { RunningServer } from "../src/serve/app.js";
import { paths, type AttentionAnswer, type GridAnswer } from "../src/serve/contract.js";
import { formatValue, rangeOf } from "../src/serve/scales.js";
import { haveChromium, launchChromium } from "./browser.js";
import { writeIdxPair } from "./helpers.js";
import { canvasPixels, observed, openPage, pointAtPatch, slide, text, waitFor } from "./serve-browser-helpers.js";
import { call, cli, postJson, sample, serve } from "./serve-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-serve-defects-"));
const GRID: [number, number] = [7, 7];
const SNEAKER = "fashion/7_sneaker.png";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mapOf = async (page: Page) => (await observed(page)).shown["classify.map"]?.data as AttentionAnswer | undefined;
const visible = (page: Page, selector: string) => page.isVisible(selector);

/** Holds back the answers to requests matching `test` by `ms` (a slow server), passes the rest. */
async function delay(page: Page, test: (url: URL, method: string) => boolean, ms: number): Promise<void> {
  await page.route("**/api/**", async (route: Route) => {
    const req = route.request();
    if (test(new URL(req.url()), req.method())) await sleep(ms);
    await route.continue().catch(() => {}); // aborted by the page meanwhile
  });
}

async function pickSample(page: Page, name: string, ready = true): Promise<void> {
  await page.click(`button.sample[data-sample='${name}']`);
  if (ready) await waitFor(page, `v.state.image && v.state.image?.sample === ${JSON.stringify(name)} && v.shown['classify.map'] && v.shown['classify.map']?.data.image === v.state.image?.id`);
}

describe("vitlens serve in Chromium: issue 22's defects", { skip: haveChromium ? false : "chromium not installed" }, () => {
  let browser: Browser;
  let server: RunningServer;
  const runs = join(dir, "runs");
  const staged = join(dir, "staged");

  before(async () => {
    // A real run (vitlens train, 1 epoch, validation): copied into --runs piece by piece in the runs test.
    const task = (name: string, count: number) => writeIdxPair(dir, name, count, 8, 8, (i) => i % 3, (i, k) =>
      i % 3 === 0 ? ((k >> 4) % 2) * 200 : i % 3 === 1 ? (((k % 8) >> 1) % 2) * 200 : 90 + (i % 7));
    const t = cli("train", "--model", "vit-ti16", "--patch-size", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2", "--mlp-size", "32",
      "--image-size", "8", "--data", task("train", 48), "--val", task("val", 24), "--optimizer", "adamw", "--lr", "0.005",
      "--epochs", "1", "--batch-size", "16", "--out", staged);
    assert.equal(t.status, 0, t.stderr);
    mkdirSync(join(runs, "first"), { recursive: true });
    writeFileSync(join(runs, "first", "run.json"), JSON.stringify({ kind: "classifier", options: { epochs: 1 } }));
    writeFileSync(join(runs, "first", "metrics.jsonl"), JSON.stringify({ type: "step", epoch: 1, step: 1, global_step: 1, loss: 1, accuracy: 0.5 }) + "\n");
    server = await serve({ runs, pollMs: 100 });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("1. the server lost the image (LRU, restart): the page uploads it again and draws what the controls say; a file it has no copy of is asked for in plain words", async () => {
    let s = await serve({ captioner: null, imageCacheBytes: 300_000 });
    const { page, errors } = await openPage(browser, s);
    try {
      await pickSample(page, SNEAKER);
      const id = (await observed(page)).state.image!.id!;
      // Two photos push the sneaker out of the server's memory.
      for (const photo of ["cat.jpg", "coffee.jpg"]) await call(s, paths.images, { method: "POST", headers: { "content-type": "image/jpeg" }, body: new Uint8Array(readFileSync(sample(photo))) });
      assert.equal((await postJson(s, paths.predict(), { image: id })).body.code, "unknown-image");
      await slide(page, "#layer", 1);
      await waitFor(page, "v.shown['classify.map']?.data.layer === 1");
      assert.equal((await observed(page)).reuploads, 1);
      assert.equal(await text(page, "#layer-value"), "1 (0..3)");
      assert.match(await text(page, "#overlay-info"), /layer 1,/);
      assert.equal(await visible(page, "#classify-error"), false);
      const expected = (await postJson(s, "/api/attention", { image: id, layer: 1 })).body as unknown as AttentionAnswer;
      assert.deepEqual((await mapOf(page))!.map, expected.map);
      await pointAtPatch(page, "#overlay", 10, GRID);
      await waitFor(page, "v.shown['classify.hover'] && v.shown['classify.hover'].data.query === 10");

      // A restart on the same port: every image is gone.
      const port = Number(new URL(s.url).port);
      await s.close();
      s = await serve({ captioner: null, port });
      await page.mouse.move(2, 2);
      await page.selectOption("#head", "2");
      await waitFor(page, "v.shown['classify.map']?.data.head === 2 && v.reuploads === 2");
      assert.equal(await visible(page, "#classify-error"), false);

      // An uploaded file, then a reload after a restart: the page has no copy left to send.
      const file = join(dir, "my-sneaker.png");
      copyFileSync(sample(SNEAKER), file);
      await page.setInputFiles("#file", file);
      await waitFor(page, "v.state.image?.name === 'my-sneaker.png' && v.shown['classify.map']?.data.image === v.state.image?.id");
      assert.match(page.url(), /[?&]image=[0-9a-f]{32}&name=my-sneaker\.png/);
      await s.close();
      s = await serve({ captioner: null, port });
      await page.reload();
      await page.waitForSelector("#classify-error:not([hidden])");
      assert.match(await text(page, "#classify-error .message"), /^the server no longer holds this image \(it restarted, or dropped it to make room for newer uploads\) and this page has no copy of it: choose the file again$/);
      assert.equal(await page.getAttribute("#overlay-box", "data-empty"), "no map", "no stale map");
      assert.equal(await text(page, "#overlay-info"), "");
      // A sample link survives restarts: the page fetches the sample again.
      await page.goto(new URL(`/?sample=${encodeURIComponent(SNEAKER)}&layer=2`, s.url).toString());
      await waitFor(page, "v.shown['classify.map'] && v.shown['classify.map']?.data.layer === 2");
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await s.close();
    }
  });

  it("2. every view that waits says so: a new image clears the last one's results at once, a slow map shows busy (colour bar included), no black square before an image", async () => {
    const { page } = await openPage(browser, server);
    try {
      assert.equal(await page.getAttribute("#overlay-box", "data-empty"), "choose an image");
      assert.equal((await canvasPixels(page, "#overlay")).ink, 0, "nothing drawn before an image");
      assert.notEqual(await page.$eval("#overlay", (c) => getComputedStyle(c).backgroundColor), "rgb(0, 0, 0)");
      await pickSample(page, SNEAKER);
      // An error from a bad file, then a slow upload of another image.
      const bad = join(dir, "notes.txt");
      writeFileSync(bad, "not an image");
      await page.setInputFiles("#file", bad);
      await page.waitForSelector("#picker-error:not([hidden])");
      await delay(page, (u, m) => u.pathname === "/api/images" && m === "POST", 800);
      await page.click("button.sample[data-sample='fashion/8_bag.png']");
      await sleep(60);
      assert.equal(await visible(page, "#picker-error"), false, "the old error is gone");
      assert.equal(await page.$$eval("#top5 li", (li) => li.length), 0, "the old prediction is gone");
      assert.equal(await page.getAttribute("#overlay-box", "data-empty"), "uploading…");
      assert.equal(await text(page, "#image-name"), "fashion/8_bag.png: uploading…");
      await page.waitForSelector("#view-classify[aria-busy=true]", { timeout: 600 });
      await waitFor(page, "v.state.image?.sample === 'fashion/8_bag.png' && v.shown['classify.map'] && v.shown['classify.map']?.data.image === v.state.image?.id");
      assert.equal(await page.getAttribute("#view-classify", "aria-busy"), null);
      await page.unroute("**/api/**");
      // A slow attribution: the overlay, its colour bar and its line are marked busy until it comes.
      await delay(page, (u) => u.pathname === "/api/attention" && u.searchParams.get("method") === "attribution", 700);
      await page.selectOption("#method", "attribution");
      await page.waitForSelector("#overlay-box[aria-busy=true] #overlay-bar", { timeout: 500 });
      await waitFor(page, "v.shown['classify.map']?.data.method === 'attribution'");
      const a = (await mapOf(page))!;
      assert.equal(await page.getAttribute("#overlay-bar", "data-range"), rangeOf(a.map, true).join(","));
      assert.ok((await observed(page)).busy.some((b) => b.slot === "classify.map" && b.ms > 150));
    } finally {
      await page.close();
    }
  });

  it("3. answers for an older state are dropped: fast layer changes and pin / unpin on the grid end on the last state's maps", async () => {
    const { page } = await openPage(browser, server);
    try {
      await pickSample(page, SNEAKER);
      await delay(page, (u) => u.pathname === "/api/attention" && u.searchParams.get("layer") === "1", 800);
      await slide(page, "#layer", 1);
      await sleep(50);
      await slide(page, "#layer", 2);
      await waitFor(page, "v.shown['classify.map']?.data.layer === 2");
      await sleep(1000); // the layer-1 answer would have landed by now
      assert.equal((await mapOf(page))!.layer, 2);
      assert.equal(await text(page, "#layer-value"), "2 (0..3)");
      assert.ok((await observed(page)).requests.aborted >= 1, "the layer-1 request was cancelled");
      await page.unroute("**/api/**");

      await page.click("nav button[data-view=heads]");
      await waitFor(page, "v.shown.heads && v.shown.heads?.data.query === null");
      await delay(page, (u) => u.pathname === "/api/attention/grid" && u.searchParams.has("query"), 700);
      await pointAtPatch(page, "#heads-query", 24, GRID, true);
      await sleep(40);
      await page.keyboard.press("Escape");
      await pointAtPatch(page, "#heads-query", 30, GRID, true);
      await sleep(40);
      await page.keyboard.press("Escape");
      await sleep(1200);
      const seen = await observed(page);
      assert.equal((seen.shown.heads.data as { query: number | null }).query, null);
      assert.equal(await page.$$eval("#heads-grid button.cell", (c) => c.length), 4 * 5, "exactly layers x (heads + mean)");
      const api = (await call(server, paths.grid(seen.state.image!.id!, { query: null }))).body as unknown as GridAnswer;
      assert.match(await text(page, "#heads-query-info"), /^rows: the CLS token's attention/);
      assert.equal(api.query, null);
    } finally {
      await page.close();
    }
  });

  it("4. runs: a run started after the page opened appears; one opened before its first epoch shows its evaluation when it ends; finished is finished, epoch 0 not counted", async () => {
    const { page } = await openPage(browser, server, { path: "/?view=runs" });
    try {
      await page.waitForSelector("#runs-list tr[data-run='first']");
      // A run that has written its first steps only.
      const early = join(runs, "early");
      mkdirSync(early);
      copyFileSync(join(staged, "run.json"), join(early, "run.json"));
      const metrics = readFileSync(join(staged, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.includes('"type":"step"'));
      writeFileSync(join(early, "metrics.jsonl"), metrics.slice(0, 2).join("\n") + "\n");
      await page.waitForSelector("#runs-list tr[data-run='early']", { timeout: 5000 });
      await page.click("#runs-list tr[data-run='early'] button.run-name");
      await page.waitForFunction(() => /early has no best\/ or last\/ model yet/.test(document.getElementById("run-report")!.textContent ?? ""));
      assert.match(await text(page, "#runs-list tr[data-run='early']"), /live.*0 of 1 epoch/);
      // The epoch ends: the trainer writes the rest of the metrics, its models and its state.
      for (const f of ["best", "last"]) cpSync(join(staged, f), join(early, f), { recursive: true });
      for (const f of ["state.json", ...readdirSync(staged).filter((f) => /^state-\d+$/.test(f))]) cpSync(join(staged, f), join(early, f), { recursive: true });
      copyFileSync(join(staged, "metrics.jsonl"), join(early, "metrics.jsonl"));
      await waitFor(page, "v.shown['runs.report'] && v.shown['runs.report'].data.run === 'early'", 30_000);
      assert.equal(await page.$$eval("#run-report table.confusion tr", (r) => r.length), 1 + 3);
      const row = await text(page, "#runs-list tr[data-run='early']");
      assert.match(row, /finished/);
      assert.doesNotMatch(row, /live/);
      assert.match(row, /1 of 1 epoch/);
      assert.doesNotMatch(row, /2 of 1|2 epochs/, "epoch 0, the starting weights' validation, is not an epoch run");
      assert.ok(readFileSync(join(staged, "metrics.jsonl"), "utf8").includes('"epoch":0'), "the run has an epoch-0 line to leave out");
    } finally {
      await page.close();
    }
  });

  it("5. controls that do not apply are off; hover rows only for CLS attention; attribution starts on the predicted class; the colour bar is the map's", async () => {
    const { page } = await openPage(browser, server);
    try {
      await pickSample(page, SNEAKER);
      const enabled = async () => Object.fromEntries(await Promise.all(["layer", "head", "discard", "class"].map(async (id) => [id, await page.isEnabled(`#${id}`)])));
      assert.deepEqual(await enabled(), { layer: true, head: true, discard: false, class: false });
      await page.selectOption("#method", "rollout");
      await waitFor(page, "v.shown['classify.map']?.data.method === 'rollout'");
      assert.deepEqual(await enabled(), { layer: false, head: true, discard: true, class: false });
      const raws: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("method=raw")) raws.push(r.url());
      });
      const before = await canvasPixels(page, "#overlay");
      await pointAtPatch(page, "#overlay", 26, GRID);
      await sleep(400);
      assert.deepEqual(raws, [], "no attention row asked for in rollout");
      assert.equal((await canvasPixels(page, "#overlay")).sum, before.sum, "the rollout map stays");
      assert.match(await text(page, "#overlay-info"), /^rollout over every layer, mean of heads · patch 26 \(row 3, col 5 of 7x7\): [\d.]+ · hover rows are for CLS attention$/);
      await page.mouse.move(2, 2);
      await page.selectOption("#method", "attribution");
      await waitFor(page, "v.shown['classify.map']?.data.method === 'attribution'");
      assert.deepEqual(await enabled(), { layer: false, head: false, discard: false, class: true });
      const a = (await mapOf(page))!;
      assert.deepEqual([a.class, a.classFrom], [7, "predicted"]);
      assert.equal(await page.$eval("#class", (s) => (s as HTMLSelectElement).selectedOptions[0].textContent), "the predicted class: Sneaker (7)");
      assert.match(await text(page, "#overlay-info"), /^attribution for "Sneaker" \(the predicted class\)/);
      assert.equal(await page.getAttribute("#overlay-bar", "data-range"), rangeOf(a.map, true).join(","));
      await page.selectOption("#class", "1");
      await waitFor(page, "v.shown['classify.map']?.data.class === 1");
      const b = (await mapOf(page))!;
      assert.equal(await page.getAttribute("#overlay-bar", "data-range"), rangeOf(b.map, true).join(","), "the bar follows the new map");
      await page.selectOption("#method", "norm");
      await waitFor(page, "v.shown['classify.map']?.data.method === 'norm'");
      assert.deepEqual(await enabled(), { layer: true, head: false, discard: false, class: false });
      assert.match(await text(page, "#overlay-info"), /^token norm after layer 3 · CLS [\d.]+/);
      assert.match(page.url(), /method=norm/, "the method is in the URL");
    } finally {
      await page.close();
    }
  });

  it("6. one image, named once; errors dismissable and kept to their view; a reload keeps the view and the image, back and forward move between views", async () => {
    const { page } = await openPage(browser, server);
    try {
      await pickSample(page, SNEAKER);
      assert.deepEqual(await page.$$eval("#samples button.sample.on", (b) => b.map((x) => (x as HTMLElement).dataset.sample)), [SNEAKER]);
      const file = join(dir, "my-bag.png");
      copyFileSync(sample("fashion/8_bag.png"), file);
      await page.setInputFiles("#file", file);
      await waitFor(page, "v.state.image?.name === 'my-bag.png' && v.shown['classify.map']?.data.image === v.state.image?.id");
      assert.equal(await text(page, "#image-name"), "my-bag.png: 28x28");
      assert.equal(await page.$$eval("#samples button.sample.on", (b) => b.length), 0, "no sample is marked");
      assert.equal(await page.$eval("#file", (f) => (f as HTMLInputElement).value), "", "the file input names no other file");

      await page.setInputFiles("#file", join(dir, "notes.txt"));
      await page.waitForSelector("#picker-error:not([hidden])");
      assert.match(await text(page, "#picker-error .message"), /upload: not a readable image/);
      await page.click("#picker-error button.dismiss");
      assert.equal(await visible(page, "#picker-error"), false);

      await pickSample(page, SNEAKER);
      await page.route("**/api/attention?*", (r) => r.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: "the model queue is full (32 requests waiting; --queue); retry in a moment", code: "queue-full" }) }));
      await slide(page, "#layer", 0);
      await page.waitForSelector("#classify-error:not([hidden])");
      await page.click("nav button[data-view=posemb]");
      await page.waitForFunction(() => document.querySelectorAll("#posemb-grid canvas").length === 49);
      assert.equal(await page.$$eval(".error", (es) => es.filter((e) => (e as HTMLElement).offsetParent !== null).length), 0, "no error on the other view");
      await page.click("nav button[data-view=classify]");
      assert.equal(await visible(page, "#classify-error"), true);
      await page.click("#classify-error button.dismiss");
      assert.equal(await visible(page, "#classify-error"), false);
      await page.unroute("**/api/attention?*");

      await page.click("nav button[data-view=heads]");
      await waitFor(page, "v.shown.heads !== undefined");
      await page.reload();
      await page.waitForSelector("body[data-ready='1']");
      await waitFor(page, `v.state.view === 'heads' && v.shown.heads && v.state.image?.sample === ${JSON.stringify(SNEAKER)}`);
      assert.equal(await page.$eval("nav button.active", (b) => (b as HTMLElement).dataset.view), "heads");
      await page.click("nav button[data-view=dino]");
      await waitFor(page, "v.shown.dino !== undefined");
      await page.goBack();
      await waitFor(page, "v.state.view === 'heads'");
      assert.equal(await visible(page, "#view-heads"), true);
      await page.goForward();
      await waitFor(page, "v.state.view === 'dino'");
    } finally {
      await page.close();
    }
  });

  it("7. a colour bar on every map, shared scales per map / layer / view, values on hover; from 0 by default", async () => {
    const { page } = await openPage(browser, server);
    try {
      await pickSample(page, SNEAKER);
      const a = (await mapOf(page))!;
      assert.equal(await page.getAttribute("#overlay-bar", "data-range"), `0,${Math.max(...a.map)}`);
      await page.uncheck("#zero");
      await page.waitForFunction(() => !document.getElementById("overlay-bar")!.dataset.range!.startsWith("0,"));
      assert.equal(await page.getAttribute("#overlay-bar", "data-range"), `${Math.min(...a.map)},${Math.max(...a.map)}`);
      await page.check("#zero");

      await page.click("nav button[data-view=heads]");
      await waitFor(page, "v.shown.heads !== undefined");
      const g = (await call(server, paths.grid((await observed(page)).state.image!.id!, {}))).body as unknown as GridAnswer;
      for (const mode of ["map", "layer", "view"] as const) {
        await page.selectOption("#heads-scale", mode);
        await page.waitForSelector(`#heads-grid[data-scale=${mode}]`);
        const bars = await page.$$eval("#heads-grid .cbar", (b) => b.map((x) => (x as HTMLElement).dataset.range));
        if (mode === "map") assert.deepEqual(bars, g.maps.flatMap((row) => row.map((m) => `0,${Math.max(...m)}`)));
        if (mode === "layer") assert.deepEqual(bars, g.maps.map((row) => `0,${Math.max(...row.flat())}`));
        if (mode === "view") {
          assert.deepEqual(bars, []);
          assert.equal(await page.getAttribute("#heads-bar", "data-range"), `0,${Math.max(...g.maps.flat(2))}`);
        }
      }
      await pointAtPatch(page, "#heads-grid button.cell[data-layer='1'][data-head='2'] canvas", 17, GRID);
      const range: [number, number] = [0, Math.max(...g.maps.flat(2))];
      assert.equal(await text(page, "#heads-hover"), `layer 1, head 2 · patch 17 (row 2, col 3 of 7x7): ${formatValue(g.maps[1][2][17], range)}`);

      for (const [view, bars] of [["posemb", ["#posemb-bar", "#posemb-large-bar"]], ["dino", ["#dino-bar", "#dino-heads-bar"]], ["caption", ["#caption-bar", "#caption-strip-bar"]]] as const) {
        await page.click(`nav button[data-view=${view}]`);
        await waitFor(page, `v.shown.${view} !== undefined`);
        for (const bar of bars) assert.match(await page.getAttribute(bar, "data-range") ?? "", /^-?[\d.e-]+,[\d.e-]+$/, `${view} ${bar}`);
      }
      assert.equal(await page.getAttribute("#posemb-bar", "data-range"), "-1,1");
    } finally {
      await page.close();
    }
  });

  it("8. samples fit the model: Fashion items for the Fashion ViT, grids for the grid captioner; the caption view starts on the layer that grounds best", async () => {
    const { page } = await openPage(browser, server);
    try {
      const gallery = () => page.$$eval("#samples button.sample", (b) => b.map((x) => (x as HTMLElement).dataset.sample!));
      const classify = await gallery();
      assert.equal(classify.length, 10);
      assert.ok(classify.every((s) => s.startsWith("fashion/")), classify.join());
      await page.click("nav button[data-view=caption]");
      const caption = await gallery();
      assert.ok(caption.length > 0 && caption.every((s) => s.startsWith("grids/")), caption.join());
      assert.equal(await page.$eval("#cap-layer", (s) => (s as HTMLSelectElement).value), "0");
      assert.match(await page.$eval("#cap-layer", (s) => (s as HTMLSelectElement).selectedOptions[0].textContent ?? ""), /layer 0 \(grounds best\)/);
    } finally {
      await page.close();
    }
  });

  it("9. layout: a layers x heads grid, thumbnails enlarge; loss and accuracy on their own charts; no picker, chart box or black square where nothing is shown; 2x canvases; a colour bar that does not move", async () => {
    const { page } = await openPage(browser, server);
    try {
      await pickSample(page, SNEAKER);
      const bar = async () => (await (await page.$("#overlay-bar canvas"))!.boundingBox())!;
      const at3 = await bar();
      await slide(page, "#layer", 0);
      await waitFor(page, "v.shown['classify.map']?.data.layer === 0");
      const at0 = await bar();
      assert.notEqual(await page.getAttribute("#overlay-bar", "data-range"), null);
      assert.deepEqual([at0.x, at0.width], [at3.x, at3.width], "the bar stays put as its labels change");

      await page.click("nav button[data-view=heads]");
      await waitFor(page, "v.shown.heads !== undefined");
      const boxes = await page.$$eval("#heads-grid button.cell", (cs) => cs.map((c) => {
        const r = c.getBoundingClientRect();
        return { layer: (c as HTMLElement).dataset.layer, x: Math.round(r.x), y: Math.round(r.y) };
      }));
      for (let l = 0; l < 4; l++) {
        const row = boxes.filter((b) => b.layer === String(l));
        assert.equal(row.length, 5);
        assert.equal(new Set(row.map((b) => b.y)).size, 1, `layer ${l} is one row`);
        assert.deepEqual(row.map((b) => b.x), boxes.filter((b) => b.layer === "0").map((b) => b.x), "heads line up in columns");
      }
      await page.click("#heads-grid button.cell[data-layer='3'][data-head='mean']");
      await page.waitForSelector("#heads-zoom:not([hidden])");
      assert.equal(await page.$eval("#heads-zoom-canvas", (c) => (c as HTMLCanvasElement).getBoundingClientRect().width), 336);

      for (const view of ["posemb", "runs"]) {
        await page.click(`nav button[data-view=${view}]`);
        assert.equal(await visible(page, "#picker"), false, `no picker on ${view}`);
      }
      await page.waitForSelector("#runs-list tr[data-run='first'] input");
      while (await page.$("#runs-list input:checked")) {
        await page.click("#runs-list input:checked >> nth=0");
        await sleep(100);
      }
      await page.waitForSelector("#charts", { state: "hidden" });
      assert.equal(await text(page, "#charts-note"), "tick a run to plot it");
      await page.check("#runs-list tr[data-run='first'] input");
      await page.waitForSelector("#charts:not([hidden])");
      const labels = await page.evaluate(() => {
        const C = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { datasets: Array<{ label: string }> } } } }).Chart;
        return Object.fromEntries(["loss", "accuracy"].map((id) => [id, C.getChart(document.getElementById(`chart-${id}`) as HTMLCanvasElement).data.datasets.map((d) => d.label)]));
      });
      assert.ok(labels.loss.length > 0 && labels.loss.every((l) => /loss/.test(l)), labels.loss.join());
      assert.ok(labels.accuracy.length > 0 && labels.accuracy.every((l) => /accuracy/.test(l)), labels.accuracy.join());
      assert.equal(await visible(page, "#chart-grad-box"), false, "no empty box for a metric the run lacks");
    } finally {
      await page.close();
    }
    const two = await openPage(browser, server, { scale: 2, path: `/?sample=${encodeURIComponent(SNEAKER)}` });
    try {
      await waitFor(two.page, "v.shown['classify.map'] !== undefined");
      assert.deepEqual([(await canvasPixels(two.page, "#overlay")).width, await two.page.$eval("#overlay", (c) => c.getBoundingClientRect().width)], [672, 336]);
    } finally {
      await two.page.close();
    }
  });

  it("10. the page acts on the API's codes: an unknown image id in a link answers 404 unknown-image, and the page says what to do", async () => {
    const { page } = await openPage(browser, server, { path: `/?image=${"ab".repeat(16)}&name=lost.png&view=dino` });
    try {
      await page.waitForSelector("#dino-error:not([hidden])");
      assert.equal(await page.getAttribute("#dino-error", "data-code"), "unknown-image");
      assert.match(await text(page, "#dino-error .message"), /choose the file again$/);
      const r = await postJson(server, paths.predict(), { image: "ab".repeat(16) });
      assert.deepEqual([r.status, r.body.code], [404, "unknown-image"]);
    } finally {
      await page.close();
    }
  });
});
