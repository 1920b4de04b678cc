// The HTML report as a user sees it: rendered by headless Chromium, offline, charts drawn,
// images decoded. Chromium comes from Debian (scripts/setup.sh installs it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { haveChromium, launchChromium } from "./browser.js";
import { fixture, root, writeIdxPair } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-report-"));
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8" });

/** 60 8x8 images in 3 classes (stripes / flat), as IDX, so a run trains in seconds. */
function writeTask(name: string, count: number): string {
  return writeIdxPair(dir, name, count, 8, 8, (i) => i % 3, (i, k) =>
    i % 3 === 0 ? ((k >> 4) % 2) * 200 : i % 3 === 1 ? (((k % 8) >> 1) % 2) * 200 : 90 + (i % 7));
}

describe("vitlens report", { skip: haveChromium ? false : "chromium not installed" }, () => {
  it("renders offline in Chromium with its charts, confusion matrix, gallery and figures", async () => {
    const run = join(dir, "run");
    const t = cli("train", "--model", "vit-ti16", "--patch-size", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2", "--mlp-size", "32",
      "--image-size", "8", "--data", writeTask("train", 60), "--val", writeTask("val", 30), "--optimizer", "adamw", "--lr", "0.005",
      "--epochs", "2", "--batch-size", "16", "--out", run);
    assert.equal(t.status, 0, t.stderr);
    const r = cli("report", run);
    assert.equal(r.status, 0, r.stderr);
    const html = join(run, "report.html");
    assert.equal(r.stdout.trim(), html);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const remote: string[] = [];
      page.on("request", (req) => {
        if (!/^(file|data):/.test(req.url())) remote.push(req.url());
      });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`file://${html}`);
      await page.waitForFunction(() => (window as unknown as { vitlensCharts?: unknown[] }).vitlensCharts?.length === 4);
      assert.deepEqual(errors, []);
      assert.deepEqual(remote, [], "the report needs no network");
      // Every chart canvas has drawn pixels.
      const drawn = await page.$$eval("canvas", (canvases) =>
        canvases.map((c) => {
          const ctx = (c as HTMLCanvasElement).getContext("2d")!;
          const { data } = ctx.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
          let ink = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
          return ink;
        }),
      );
      assert.equal(drawn.length, 4);
      assert.ok(drawn.every((ink) => ink > 500), `chart pixels: ${drawn}`);
      const images = await page.$$eval("img", (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
      assert.ok(images.length >= 3, "gallery pairs and the position-embedding figure");
      assert.ok(images.every((w) => w > 0), "every image decodes");
      const cells = await page.$$eval("table.confusion td", (tds) => tds.length);
      assert.equal(cells, 3 * 3 + 3, "3x3 matrix plus per-class accuracy");
      assert.match(await page.textContent("pre") ?? "", /ViTForImageClassification\(/);
    } finally {
      await browser.close();
    }
  });

  it("--captions adds the captions and per-word strips written by vitlens caption", () => {
    const run = join(dir, "run");
    const captions = join(dir, "captions");
    const c = cli("caption", "--model", fixture("captioner-tiny"), "--out", captions, "--max-len", "3", fixture("hf-tiny-0.png"), fixture("timm-tiny-0.png"));
    assert.equal(c.status, 0, c.stderr);
    const out = join(dir, "with-captions.html");
    const r = cli("report", run, "--captions", captions, "--out", out);
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(out, "utf8");
    assert.match(html, /<h2>Captions: one cross-attention map per generated word<\/h2>/);
    assert.equal((html.match(/<figure class="strip"><img src="data:image\/png;base64,/g) ?? []).length, 2);
    const missing = cli("report", run, "--captions", dir, "--out", join(dir, "x.html"));
    assert.match(missing.stderr, /--captions .*: no captions\.json \(expected the --out folder of vitlens caption\)/);
  });
});
