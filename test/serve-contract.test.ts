// vitlens serve's API as contract.ts defines it: error codes, fields in the query string, the
// layers x heads grid, DINO's masks, register tokens, export, samples that fit, runs' status.
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { getBackend } from "../src/backend/index.js";
import { loadModel } from "../src/checkpoint/load.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { loadBatch } from "../src/data/preprocess.js";
import { clsAttention, keepMask, prefixShares, queryName, rollout } from "../src/explain/attention-maps.js";
import { tokenLayout } from "../src/models/vit-config.js";
import { colorize } from "../src/render/colormap.js";
import { upsampleBilinear } from "../src/render/upsample.js";
import type { RunningServer } from "../src/serve/app.js";
import { paths, RUNS_EVENT, type AttentionAnswer, type CaptionAnswer, type DinoAnswer, type ErrorAnswer, type ExportAnswer, type GridAnswer, type InfoAnswer, type RunsAnswer, type SamplesAnswer } from "../src/serve/contract.js";
import { fixture, maxAbsDiff } from "./helpers.js";
import { BUNDLED_CAPTIONER, BUNDLED_MODEL, call, cli, eventStream, postJson, sample, serve } from "./serve-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-serve-contract-"));
const runs = join(dir, "runs");
const SNEAKER = sample("fashion/7_sneaker.png");
const png = readFileSync(SNEAKER);
const upload = async (server: RunningServer, bytes: Buffer) =>
  (await call(server, paths.images, { method: "POST", headers: { "content-type": "image/png" }, body: new Uint8Array(bytes) })).body.id as string;
const postImage = (server: RunningServer, path: string, bytes: Buffer) => call(server, path, { method: "POST", headers: { "content-type": "image/png" }, body: new Uint8Array(bytes) });

/** vitlens attention --raw on the sneaker (once): its PNG and tensors. */
let attentionOut: string | null = null;
function cliAttention(): string {
  if (attentionOut) return attentionOut;
  const out = join(dir, "att");
  const r = cli("attention", "--model", BUNDLED_MODEL, "--out", out, "--raw", SNEAKER);
  assert.equal(r.status, 0, r.stderr);
  return (attentionOut = out);
}

/** A run folder as the trainers write it: run.json, metrics.jsonl, and a saved state `epoch` epochs in. */
function writeRun(name: string, o: { epochs: number; done: number | null; steps: number; epochRecords: number[]; ageMs?: number }): string {
  const path = join(runs, name);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, "run.json"), JSON.stringify({ kind: "classifier", options: { epochs: o.epochs } }));
  const t0 = Date.now() - (o.ageMs ?? 0) - 60_000;
  const lines = [];
  for (const e of o.epochRecords.filter((e) => e === 0)) lines.push({ type: "epoch", epoch: e, val_loss: 2.3, val_accuracy: 0.1, time: new Date(t0).toISOString() });
  for (let s = 1; s <= o.steps; s++) lines.push({ type: "step", epoch: 1, step: s, global_step: s, loss: 2 / s, accuracy: 0.5, lr: 1e-3, grad_norm: 1 / s, time: new Date(t0 + s * 1000).toISOString() });
  for (const e of o.epochRecords.filter((e) => e > 0)) lines.push({ type: "epoch", epoch: e, train_loss: 0.9, val_loss: 1, val_accuracy: 0.6, lr: 1e-3, time: new Date(t0 + 50_000).toISOString() });
  writeFileSync(join(path, "metrics.jsonl"), lines.map((l) => JSON.stringify(l) + "\n").join(""));
  if (o.done !== null) {
    mkdirSync(join(path, `state-${o.steps}`));
    writeFileSync(join(path, `state-${o.steps}`, "progress.json"), JSON.stringify({ progress: { epoch: o.done, globalStep: o.steps }, options: { epochs: o.epochs } }));
    writeFileSync(join(path, "state.json"), JSON.stringify({ current: `state-${o.steps}` }));
  }
  if (o.ageMs) {
    const then = new Date(Date.now() - o.ageMs);
    for (const f of readdirSync(path)) utimesSync(join(path, f), then, then);
  }
  return path;
}

describe("vitlens serve API contract", () => {
  let server: RunningServer;
  let id: string;
  before(async () => {
    mkdirSync(runs, { recursive: true });
    writeRun("finished", { epochs: 1, done: 1, steps: 47, epochRecords: [0, 1] });
    writeRun("live", { epochs: 3, done: 1, steps: 20, epochRecords: [1] });
    writeRun("idle", { epochs: 3, done: 1, steps: 20, epochRecords: [1], ageMs: 3_600_000 });
    server = await serve({ runs, pollMs: 50 });
    id = await upload(server, png);
  });
  after(() => server.close());

  it("malformed image fields are 400; any string id the server does not hold is 404 with code unknown-image", async () => {
    const empty = await postJson(server, "/api/predict", {});
    assert.equal(empty.status, 400);
    assert.equal((empty.body as unknown as ErrorAnswer).code, "bad-request");
    assert.match(empty.body.error as string, /^no image: send \{"image": id\}/);
    const number = await postJson(server, "/api/predict", { image: 12 });
    assert.equal(number.status, 400);
    assert.match(number.body.error as string, /^image 12: expected an image id, the string POST \/api\/images answered$/);
    for (const unknown of ["feed", "0".repeat(32), "../../etc/passwd", "ÿ"]) {
      for (const r of [await postJson(server, "/api/predict", { image: unknown }), await call(server, paths.attention({ image: unknown }), { method: "POST" }),
        await call(server, paths.image(unknown)), await call(server, paths.grid(unknown, {})), await call(server, paths.exportFile("png", unknown, {}))]) {
        assert.equal(r.status, 404, unknown);
        assert.equal((r.body as unknown as ErrorAnswer).code, "unknown-image", unknown);
        assert.match(r.body.error as string, /the server does not hold this image/);
      }
    }
  });

  it("an image dropped by the LRU answers unknown-image; the same bytes uploaded again get the same id back", async () => {
    const small = await serve({ captioner: null, imageCacheBytes: 20_000 });
    try {
      const first = await upload(small, png);
      for (const f of ["0_t-shirt-top", "1_trouser", "2_pullover", "3_dress", "4_coat", "5_sandal", "8_bag", "9_ankle-boot"]) await upload(small, readFileSync(sample(`fashion/${f}.png`)));
      const gone = await postJson(small, "/api/predict", { image: first });
      assert.equal(gone.status, 404);
      assert.equal(gone.body.code, "unknown-image");
      assert.equal(await upload(small, png), first);
      assert.equal((await postJson(small, "/api/predict", { image: first })).status, 200);
    } finally {
      await small.close();
    }
  });

  it("attention and caption take the image as the body, their fields in the query string (numbers from text)", async () => {
    const json = (await postJson(server, "/api/attention", { image: id, method: "raw", layer: 2, head: 1, query: 24 })).body as unknown as AttentionAnswer;
    const byBody = await postImage(server, "/api/attention?method=raw&layer=2&head=1&query=24", png);
    assert.equal(byBody.status, 200, JSON.stringify(byBody.body));
    assert.deepEqual(byBody.body, json);
    const byId = await call(server, paths.attention({ image: id, method: "raw", layer: 2, head: 1, query: 24 }), { method: "POST" });
    assert.deepEqual(byId.body, json);
    const bad = await postImage(server, "/api/attention?method=cls&layer=x", png);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error as string, /^layer "x": expected a layer 0\.\.3/);

    const grid = readFileSync(join(sample("grids/val"), readdirSync(sample("grids/val")).sort()[0]));
    const gridId = await upload(server, grid);
    const cap = (await postJson(server, "/api/caption", { image: gridId, beam: 2, layer: 0, head: 1 })).body as unknown as CaptionAnswer;
    const capBody = await postImage(server, paths.caption({ beam: 2, layer: 0, head: 1 }), grid);
    assert.equal(capBody.status, 200, JSON.stringify(capBody.body));
    assert.deepEqual(capBody.body, cap);
    assert.equal((await postImage(server, "/api/caption?beam=0", grid)).status, 400);
  });

  it("grid: every layer x head map (and the mean) equals the CLI's attention --raw rows; a query patch gives its rows", async () => {
    const tensors = readSafetensors(join(cliAttention(), "7_sneaker.cls.safetensors")).tensors;
    const [H, N] = tensors.get("layer.0")!.shape;
    const row = (l: number, h: number | "mean", token: number) => {
      const t = tensors.get(`layer.${l}`)!.data;
      const hs = h === "mean" ? [...Array(H).keys()] : [h];
      return Array.from({ length: N }, (_, j) => hs.reduce((s, k) => s + t[k * N * N + token * N + j], 0) / hs.length);
    };
    for (const query of [null, 24]) {
      const g = (await call(server, paths.grid(id, { query }))).body as unknown as GridAnswer;
      assert.deepEqual(g.layers, [0, 1, 2, 3]);
      assert.deepEqual(g.heads, [0, 1, 2, 3, "mean"]);
      for (const [i, l] of g.layers.entries()) {
        for (const [j, h] of g.heads.entries()) {
          const expected = row(l, h as number | "mean", query === null ? 0 : 1 + query);
          assert.ok(maxAbsDiff(g.maps[i][j], expected.slice(1)) < 1e-5, `layer ${l} head ${h}`);
          assert.ok(maxAbsDiff(g.prefix[i][j], expected.slice(0, 1)) < 1e-5);
        }
      }
    }
    const some = (await call(server, paths.grid(id, { layers: [1, 3], heads: ["max", 2] }))).body as unknown as GridAnswer;
    assert.deepEqual([some.layers, some.heads, some.maps.length, some.maps[0].length], [[1, 3], ["max", 2], 2, 2]);
    assert.equal((await call(server, paths.grid(id, { layers: [4] }))).status, 400);
  });

  it("dino: each head's mask is keepMask of its CLS map; keep must be a share in (0, 1]", async () => {
    const d = (await call(server, paths.dino(id, { layer: 3, keep: 0.6 }))).body as unknown as DinoAnswer;
    assert.deepEqual(d.heads.map((h) => h.head), [0, 1, 2, 3, "mean"]);
    const g = (await call(server, paths.grid(id, { layers: [3] }))).body as unknown as GridAnswer;
    d.heads.forEach((h, j) => {
      assert.deepEqual(h.map, g.maps[0][j]);
      assert.deepEqual(h.mask, Array.from(keepMask(Float32Array.from(h.map), 0.6)));
      assert.equal(h.kept, h.mask.filter(Boolean).length);
      assert.ok(h.kept > 0 && h.kept < 49);
    });
    const all = (await call(server, paths.dino(id, { keep: 1 }))).body as unknown as DinoAnswer;
    assert.ok(all.heads.every((h) => h.kept === 49));
    for (const keep of [0, 1.5]) {
      const bad = await call(server, paths.dino(id, { keep }));
      assert.equal(bad.status, 400);
      assert.match(bad.body.error as string, /^keep /);
    }
  });

  it("a model with register tokens: maps leave them out; the CLS row's share on each is reported", async () => {
    const model = fixture("family-hf-dinov2-reg");
    const reg = await serve({ model, captioner: null });
    try {
      const info = (await call(reg, paths.info)).body as unknown as InfoAnswer;
      assert.deepEqual(info.model.prefix, ["CLS", "register 0", "register 1"]);
      const rid = await upload(reg, png);
      const d = (await call(reg, paths.dino(rid, { layer: 1 }))).body as unknown as DinoAnswer;
      const loaded = loadModel(model);
      const att = loaded.model.forward(await loadBatch([SNEAKER], loaded.preprocess), getBackend()).attentions[1];
      for (const h of d.heads) {
        assert.equal(h.map.length, 16);
        assert.ok(maxAbsDiff(h.prefix, prefixShares(att, 0, h.head, { prefix: 3, cls: true })) < 1e-5);
        assert.ok(maxAbsDiff(h.map, clsAttention(att, 0, h.head, 3)) < 1e-5);
        assert.ok(Math.abs(h.prefix.reduce((a, b) => a + b, 0) + h.map.reduce((a, b) => a + b, 0) - 1) < 1e-5, "the row sums to 1");
      }
      const predict = await postJson(reg, "/api/predict", { image: rid });
      assert.equal(predict.status, 400);
      assert.match(predict.body.error as string, /no classification head/);
    } finally {
      await reg.close();
    }
  });

  it("a model without a CLS token: maps read the mean of the patch rows, as explain/ does, and say so", async () => {
    const model = fixture("family-timm-nocls-avg");
    const nocls = await serve({ model, captioner: null });
    try {
      const info = (await call(nocls, paths.info)).body as unknown as InfoAnswer;
      assert.deepEqual([info.model.prefix, info.model.query], [[], queryName(tokenLayout(loadModel(model).model.config))]);
      const nid = await upload(nocls, png);
      const loaded = loadModel(model);
      const layout = tokenLayout(loaded.model.config);
      const atts = loaded.model.forward(await loadBatch([SNEAKER], loaded.preprocess), getBackend()).attentions;
      const g = (await call(nocls, paths.grid(nid, {}))).body as unknown as GridAnswer;
      g.layers.forEach((l, i) => g.heads.forEach((h, j) => assert.ok(maxAbsDiff(g.maps[i][j], clsAttention(atts[l], 0, h, layout)) < 1e-5, `layer ${l} head ${h}`)));
      const r = (await postJson(nocls, "/api/attention", { image: nid, method: "rollout" })).body as unknown as AttentionAnswer;
      assert.ok(maxAbsDiff(r.map, rollout(atts, 0, "mean", 0, layout)) < 1e-5);
      assert.equal((await postJson(nocls, "/api/predict", { image: nid })).status, 200);
    } finally {
      await nocls.close();
    }
  });

  it("a model with relative position bias only (BEiT): /api/posemb says there is nothing to draw, as vitlens posemb does", async () => {
    const beit = await serve({ model: fixture("family-hf-beit"), captioner: null });
    try {
      const r = await call(beit, paths.posemb());
      assert.equal(r.status, 404);
      assert.equal(r.body.code, "not-found");
      assert.match(String(r.body.error), /no absolute position embedding .*: nothing to draw/);
    } finally {
      await beit.close();
    }
  });

  it("export: the maps as JSON with their shared ranges, and as the PNG vitlens attention draws", async () => {
    const e = (await call(server, paths.exportFile("json", id, { method: "cls", layers: "all", heads: ["all"], scale: "layer", zero: true }))).body as unknown as ExportAnswer;
    assert.equal(e.maps.length, 16);
    assert.equal(e.maps[5].title, "layer 1, head 1");
    const g = (await call(server, paths.grid(id, { heads: ["all"] }))).body as unknown as GridAnswer;
    assert.deepEqual(e.maps[5].map, g.maps[1][1]);
    for (let l = 0; l < 4; l++) {
      const layer = e.maps.slice(4 * l, 4 * l + 4);
      assert.ok(layer.every((m) => m.range[0] === 0 && m.range[1] === Math.max(...layer.flatMap((x) => x.map))), `layer ${l} shares one range from 0`);
    }
    assert.equal(e.caption, "predicted: Sneaker (91.2%)");
    const view = (await call(server, paths.exportFile("json", id, { method: "cls", layers: "all", heads: ["all"], scale: "view", zero: false }))).body as unknown as ExportAnswer;
    assert.equal(new Set(view.maps.map((m) => m.range.join())).size, 1);
    assert.equal(view.maps[0].range[0], Math.min(...view.maps.flatMap((m) => m.map)));
    const masked = (await call(server, paths.exportFile("json", id, { method: "cls", layer: 3, keep: 0.5 }))).body as unknown as ExportAnswer;
    assert.deepEqual(masked.maps[0].mask, Array.from(keepMask(Float32Array.from(masked.maps[0].map), 0.5)));
    const rolloutKeep = await call(server, paths.exportFile("json", id, { method: "rollout", keep: 0.5 }));
    assert.equal(rolloutKeep.status, 400, "as attention --keep: a mask of the cls maps only");
    assert.match(rolloutKeep.body.error as string, /^keep applies to the cls and raw maps .*not rollout/);

    // One map: the page laid out as vitlens attention lays it out (tileGrid: the input, then the
    // overlay), the input tile pixel for pixel the CLI's, the overlay the map coloured on the range the JSON gives.
    const one = { method: "cls", layer: 3, scale: "map", zero: false } as const;
    const res = await fetch(new URL(paths.exportFile("png", id, one), server.url));
    assert.equal(res.headers.get("content-type"), "image/png");
    assert.match(res.headers.get("content-disposition") ?? "", /attachment; filename=".*\.cls\.png"/);
    const ours = sharp(Buffer.from(await res.arrayBuffer()));
    const theirs = sharp(join(cliAttention(), "7_sneaker.cls.png"));
    const [a, b] = [await ours.metadata(), await theirs.metadata()];
    assert.deepEqual([a.width, a.height], [b.width, b.height]);
    const tile = (left: number) => ({ left, top: 6 + 22, width: 224, height: 224 });
    const input = await theirs.clone().extract(tile(6)).removeAlpha().raw().toBuffer();
    assert.deepEqual(await ours.clone().extract(tile(6)).removeAlpha().raw().toBuffer(), input, "the input tile is the CLI's");
    const m = ((await call(server, paths.exportFile("json", id, one))).body as unknown as ExportAnswer).maps[0];
    assert.equal(m.range[0], Math.min(...m.map));
    const heat = colorize(upsampleBilinear(m.map, 7, 7, 224, 224), "inferno", m.range);
    const expected = Uint8Array.from(input, (v, i) => Math.round(0.5 * v + 0.5 * heat[i]));
    assert.ok(maxAbsDiff(await ours.clone().extract(tile(6 + 224 + 6)).removeAlpha().raw().toBuffer(), expected) <= 1, "the overlay tile: the map on its range, alpha 0.5");
    // DINO's masks: the tile vitlens attention --keep draws, pixel for pixel.
    const keepOut = join(dir, "att-keep");
    const k = cli("attention", "--model", BUNDLED_MODEL, "--out", keepOut, "--layer", "3", "--head", "1", "--keep", "0.6", SNEAKER);
    assert.equal(k.status, 0, k.stderr);
    const keepPng = sharp(Buffer.from(await (await fetch(new URL(paths.exportFile("png", id, { method: "cls", layer: 3, head: 1, keep: 0.6 }), server.url))).arrayBuffer()));
    const cliKeep = sharp(join(keepOut, "7_sneaker.cls.png"));
    assert.deepEqual(await keepPng.clone().extract(tile(6 + 224 + 6)).raw().toBuffer(), await cliKeep.clone().extract(tile(6 + 224 + 6)).raw().toBuffer(), "the mask tile is the CLI's");
    const grid = await sharp(Buffer.from(await (await fetch(new URL(paths.exportFile("png", id, { method: "cls", layers: "all", heads: ["all", "mean"] }), server.url))).arrayBuffer())).metadata();
    assert.equal(grid.width, 6 * (224 + 6) + 6, "a row per layer: the input, then 4 heads and the mean");
  });

  it("samples: only images the model was made for, its own first", async () => {
    const s = (await call(server, paths.samples)).body as unknown as SamplesAnswer;
    assert.ok(s.classify.length === 10 && s.classify.every((x) => x.set === "fashion" && x.own), "the Fashion-MNIST ViT gets Fashion images only");
    assert.ok(s.caption.length > 0 && s.caption.every((x) => x.set === "grids" && x.own), "the grid captioner gets its grids only");
    assert.deepEqual(s.notes, []);
    assert.equal((await call(server, paths.sample(s.caption[0].name))).status, 200);
    const big = await serve({ model: "vit-ti16", captioner: null });
    try {
      const b = (await call(big, paths.samples)).body as unknown as SamplesAnswer;
      assert.deepEqual(b.classify.map((x) => x.name), ["astronaut.jpg", "cat.jpg", "coffee.jpg", "rocket.jpg"]);
      assert.deepEqual(b.caption, []);
    } finally {
      await big.close();
    }
  });

  it("the caption view's default decoder layer is the one that grounds best in the captioner's own validation", async () => {
    const info = (await call(server, paths.info)).body as unknown as InfoAnswer;
    assert.ok(!("error" in info.captioner));
    const metrics = readFileSync(join(BUNDLED_CAPTIONER, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const perLayer = metrics.at(-1).val_grounding_per_layer as number[];
    assert.equal(info.captioner.defaultLayer, perLayer.indexOf(Math.max(...perLayer)));
    assert.equal(info.captioner.defaultLayer, 0);
    assert.match(info.captioner.defaultLayerWhy ?? "", /grounds best/);
  });

  it("runs: finished, live or idle from the run's state; epoch 0 (the starting weights) is not an epoch run", async () => {
    const list = (await call(server, paths.runs)).body as unknown as RunsAnswer;
    const by = Object.fromEntries(list.runs.map((r) => [r.name, r]));
    assert.deepEqual([by.finished.status, by.finished.epochsDone, by.finished.epochsTotal, by.finished.steps], ["finished", 1, 1, 47]);
    assert.deepEqual([by.live.status, by.live.epochsDone, by.live.epochsTotal], ["live", 1, 3]);
    assert.equal(by.idle.status, "idle");
    const since = new Date(Math.max(...["run.json", "state.json", "metrics.jsonl"].map((f) => statSync(join(runs, "idle", f)).mtimeMs))).toISOString();
    assert.equal(by.idle.statusWhy, `not finished (1 of 3 epochs) and no write since ${since} (10 min without one ends "live"): stopped, or waiting for --resume`);
  });

  it("runs: the list streams (SSE): a run started after the page opened appears, and its status changes when it finishes", async () => {
    const events = eventStream(await fetch(new URL(paths.runsEvents, server.url)));
    const next = async (): Promise<RunsAnswer> => {
      const { event, data } = await events.next();
      assert.equal(event, RUNS_EVENT);
      return data as RunsAnswer;
    };
    assert.ok(!(await next()).runs.some((r) => r.name === "late"));
    const late = writeRun("late", { epochs: 1, done: null, steps: 3, epochRecords: [] });
    const seen = await next();
    assert.deepEqual(seen.runs.find((r) => r.name === "late")?.status, "live");
    appendFileSync(join(late, "metrics.jsonl"), JSON.stringify({ type: "epoch", epoch: 1, val_accuracy: 0.5 }) + "\n");
    mkdirSync(join(late, "state-3"));
    writeFileSync(join(late, "state-3", "progress.json"), JSON.stringify({ progress: { epoch: 1 } }));
    writeFileSync(join(late, "state.json"), JSON.stringify({ current: "state-3" }));
    let after = await next();
    while (after.runs.find((r) => r.name === "late")!.status !== "finished") after = await next();
    assert.equal(after.runs.find((r) => r.name === "late")!.epochsDone, 1);
    await events.cancel();
  });

  it("runs: every record as CSV, the union of their fields as columns", async () => {
    const res = await fetch(new URL(paths.runCsv("finished"), server.url));
    assert.match(res.headers.get("content-type") ?? "", /^text\/csv/);
    const lines = (await res.text()).trim().split("\n");
    assert.equal(lines.length, 1 + 1 + 47 + 1);
    assert.deepEqual(lines[0].split(","), ["type", "epoch", "val_loss", "val_accuracy", "time", "step", "global_step", "loss", "accuracy", "lr", "grad_norm", "train_loss"]);
    assert.equal((await call(server, paths.runCsv("nope"))).status, 404);
  });

  it("serve --help gives --max-upload in MB, its default 20", () => {
    const r = cli("serve", "--help");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--max-upload <MB>\s+largest upload, in MB \(default: 20\)/);
  });
});
