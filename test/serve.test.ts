// vitlens serve's API on 127.0.0.1: the same numbers as the CLI, bad input, the safety rules, load.
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadModel } from "../src/checkpoint/load.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { positionSimilarity } from "../src/explain/posemb.js";
import type { RunningServer } from "../src/serve/app.js";
import type { RunSummary } from "../src/serve/contract.js";
import { maxAbsDiff, root, writeIdxPair } from "./helpers.js";
import { BUNDLED_MODEL, call, cli, eventStream, postJson, sample, serve } from "./serve-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-serve-"));
const runs = join(dir, "runs");
const SNEAKER = sample("fashion/7_sneaker.png");
const png = readFileSync(SNEAKER);
const upload = (server: RunningServer, bytes: Buffer | string, type = "image/png") => call(server, "/api/images", { method: "POST", headers: { "content-type": type }, body: typeof bytes === "string" ? bytes : new Uint8Array(bytes) });

/** A PNG whose header claims width x height (the pixel data is a 1x1 image's: never reached). */
function pngClaiming(width: number, height: number): Buffer {
  const b = Buffer.from(png);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt32BE(crc32(b.subarray(12, 29)), 29); // the IHDR chunk's CRC, so only the size is wrong
  return b;
}

function crc32(bytes: Buffer): number {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A raw HTTP request with a Host header of our choosing (fetch does not let us forge it). */
function rawGet(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject).end();
  });
}

describe("vitlens serve API", () => {
  let server: RunningServer;
  let id: string;
  before(async () => {
    mkdirSync(join(runs, "run-a"), { recursive: true });
    writeFileSync(join(runs, "run-a", "run.json"), JSON.stringify({ recipe: "test" }));
    writeFileSync(join(runs, "run-a", "metrics.jsonl"), `${JSON.stringify({ type: "step", global_step: 1, loss: 2.5 })}\n`);
    mkdirSync(join(dir, "outside"));
    writeFileSync(join(dir, "outside", "run.json"), "{}");
    symlinkSync(join(dir, "outside"), join(runs, "escape"));
    // A real run, trained in seconds (60 8x8 images in 3 classes), for the report endpoint.
    const task = (name: string, count: number) => writeIdxPair(dir, name, count, 8, 8, (i) => i % 3, (i, k) =>
      i % 3 === 0 ? ((k >> 4) % 2) * 200 : i % 3 === 1 ? (((k % 8) >> 1) % 2) * 200 : 90 + (i % 7));
    const t = cli("train", "--model", "vit-ti16", "--patch-size", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2", "--mlp-size", "32",
      "--image-size", "8", "--data", task("train", 60), "--val", task("val", 30), "--optimizer", "adamw", "--lr", "0.005",
      "--epochs", "1", "--batch-size", "16", "--out", join(runs, "tiny"));
    assert.equal(t.status, 0, t.stderr);
    server = await serve({ runs, pollMs: 50 });
    const r = await upload(server, png);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    id = r.body.id as string;
  });
  after(() => server.close());

  it("uploads answer {id, width, height}; the id is the content hash, the same bytes the same id", async () => {
    assert.match(id, /^[0-9a-f]{32}$/);
    const again = await upload(server, png);
    assert.deepEqual(again.body, { id, width: 28, height: 28 });
    const form = new FormData();
    form.append("image", new Blob([new Uint8Array(png)], { type: "image/png" }), "sneaker.png");
    const multipart = await call(server, "/api/images", { method: "POST", body: form });
    assert.deepEqual(multipart.body, { id, width: 28, height: 28 });
    const shown = await fetch(new URL(`/api/images/${id}`, server.url));
    assert.equal(shown.headers.get("content-type"), "image/png");
  });

  it("predict: the object predict --json prints, with the image id, by id or by upload", async () => {
    const r = cli("predict", "--model", BUNDLED_MODEL, "--json", SNEAKER);
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout);
    for (const got of [await postJson(server, "/api/predict", { image: id }), await call(server, "/api/predict", { method: "POST", headers: { "content-type": "image/png" }, body: new Uint8Array(png) })]) {
      assert.equal(got.status, 200);
      assert.equal(got.body.image, id);
      assert.ok(maxAbsDiff(got.body.logits as number[], expected.logits) < 1e-5);
      const top = got.body.top as Array<{ index: number; label: string; score: number }>;
      assert.deepEqual(top.map((t) => [t.index, t.label]), expected.top.map((t: { index: number; label: string }) => [t.index, t.label]));
      assert.ok(maxAbsDiff(top.map((t) => t.score), expected.top.map((t: { score: number }) => t.score)) < 1e-6);
    }
  });

  it("attention: cls, raw rows, rollout, attribution and token norms equal vitlens attention --raw", async () => {
    const raw = (method: string, ...extra: string[]) => {
      const out = join(dir, `att-${method}${extra.join("")}`);
      const r = cli("attention", "--model", BUNDLED_MODEL, "--out", out, "--method", method, "--raw", ...extra, SNEAKER);
      assert.equal(r.status, 0, r.stderr);
      return readSafetensors(join(out, `7_sneaker.${method}.safetensors`)).tensors;
    };
    const cls = raw("cls", "--layer", "2", "--head", "1");
    const a = await postJson(server, "/api/attention", { image: id, method: "cls", layer: 2, head: 1 });
    assert.deepEqual(a.body.shape, [7, 7]);
    assert.ok(maxAbsDiff(a.body.map as number[], cls.get("map")!.data) < 1e-5);
    // raw: query patch q's row of layer 2, head 1 and the mean of heads, CLS column left out.
    const layer = cls.get("layer.2")!; // (heads, N, N)
    const [H, N] = layer.shape;
    for (const q of [0, 24, 48]) {
      const row = (h: number) => Array.from(layer.data.subarray(h * N * N + (1 + q) * N, h * N * N + (2 + q) * N));
      const one = await postJson(server, "/api/attention", { image: id, method: "raw", layer: 2, head: 1, query: q });
      assert.ok(maxAbsDiff(one.body.map as number[], row(1).slice(1)) < 1e-5);
      assert.ok(maxAbsDiff(one.body.prefix as number[], row(1).slice(0, 1)) < 1e-5, "the row's share on CLS");
      const mean = await postJson(server, "/api/attention", { image: id, method: "raw", layer: 2, head: "mean", query: q });
      const expected = row(0).map((_, j) => [...Array(H).keys()].reduce((s, h) => s + row(h)[j], 0) / H);
      assert.ok(maxAbsDiff(mean.body.map as number[], expected.slice(1)) < 1e-5);
    }
    const rollout = raw("rollout", "--discard-ratio", "0.5");
    const r = await postJson(server, "/api/attention", { image: id, method: "rollout", discardRatio: 0.5 });
    assert.ok(maxAbsDiff(r.body.map as number[], rollout.get("map")!.data) < 1e-5);
    const attribution = raw("attribution", "--class", "5");
    const t = await postJson(server, "/api/attention", { image: id, method: "attribution", class: 5 });
    assert.ok(maxAbsDiff(t.body.map as number[], attribution.get("map")!.data) < 1e-5);
    assert.equal(t.body.classFrom, "asked");
    // No class: the predicted one, as the CLI's default.
    const predicted = raw("attribution");
    const p = await postJson(server, "/api/attention", { image: id, method: "attribution" });
    assert.equal(p.body.classFrom, "predicted");
    assert.equal(p.body.class, 7);
    assert.ok(maxAbsDiff(p.body.map as number[], predicted.get("map")!.data) < 1e-5);
    const norm = raw("norm", "--layer", "2");
    const n = await postJson(server, "/api/attention", { image: id, method: "norm", layer: 2, head: 3 });
    assert.equal(n.status, 200, JSON.stringify(n.body));
    assert.equal(n.body.head, "mean", "a norm has no heads: the field is normalised");
    assert.ok(maxAbsDiff(n.body.map as number[], norm.get("map")!.data) < 1e-4);
    assert.equal((n.body.prefix as number[]).length, 1, "the CLS token's norm");
    const first = await postJson(server, "/api/attention", { image: id, method: "norm", layer: 0 });
    assert.ok(maxAbsDiff(first.body.map as number[], n.body.map as number[]) > 1e-3, "another layer, another map");
  });

  it("attention: bad requests name the field and what was expected", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ method: "attribution", class: 10 }, /class 10: expected a class index 0\.\.9/],
      [{ method: "raw" }, /query undefined: expected the query patch \(method raw needs one\), an index 0\.\.48/],
      [{ method: "raw", query: 49 }, /query 49/],
      [{ layer: 4 }, /layer 4: expected a layer 0\.\.3 \(the model has 4 layers\)/],
      [{ head: "median" }, /head "median": expected "mean", "max", "min" or a head index 0\.\.3/],
      [{ method: "grad" }, /method "grad": expected one of cls, raw, rollout, attribution, norm/],
      [{ layer: "two" }, /layer "two": expected a layer 0\.\.3/],
      [{ method: "rollout", discardRatio: 1 }, /discardRatio 1: expected a number in \[0, 1\)/],
    ];
    for (const [body, message] of cases) {
      const r = await postJson(server, "/api/attention", { image: id, ...body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error as string, message);
      assert.equal(r.body.code, "bad-request");
    }
  });

  it("posemb: the whole (P, P) similarity and one patch's map", async () => {
    const sim = positionSimilarity(loadModel(BUNDLED_MODEL).model.params.get("pos_embed")!);
    const whole = await call(server, "/api/posemb");
    assert.deepEqual(whole.body.shape, [7, 7]);
    assert.ok(maxAbsDiff(whole.body.similarity as number[], sim.data) < 1e-6);
    const one = await call(server, "/api/posemb?patch=10");
    assert.ok(maxAbsDiff(one.body.map as number[], sim.data.subarray(490, 539)) < 1e-6);
    assert.equal((await call(server, "/api/posemb?patch=49")).status, 400);
  });

  it("caption: caption --json's words and score, one map per word over the captioner's grid", async () => {
    const grid = sample("grids/val");
    const file = join(grid, (await import("node:fs")).readdirSync(grid).sort()[0]);
    const r = cli("caption", "--model", join(BUNDLED_MODEL, "..", "fashion-grid-captioner"), "--json", "--beam", "2", file);
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout);
    const up = await upload(server, readFileSync(file));
    const c = await postJson(server, "/api/caption", { image: up.body.id, beam: 2, layer: 0, head: 1 });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    for (const key of Object.keys(expected).filter((k) => k !== "image")) {
      // Numbers within float noise: the server's thread runs one OpenMP thread, the CLI two (another summation order).
      if (typeof expected[key] === "number") assert.ok(Math.abs((c.body[key] as number) - expected[key]) < 1e-5, key);
      else assert.deepEqual(c.body[key], expected[key], key);
    }
    const words = (expected.words ?? expected.tokens) as string[];
    const maps = c.body.maps as number[][];
    assert.equal(maps.length, words.length);
    assert.ok(maps.every((m) => m.length === 14 * 14));
    assert.equal((c.body.cls as number[]).length, words.length);
    const bad = await postJson(server, "/api/caption", { image: up.body.id, layer: 7 });
    assert.match(bad.body.error as string, /--layer 7: the decoder has layers 0\.\.1/);
  });

  it("uploads: non-images, empty bodies, too large files and pixel bombs are refused with a message", async () => {
    const text = await upload(server, "hello", "text/plain");
    assert.equal(text.status, 400);
    assert.match(text.body.error as string, /upload: not a readable image/);
    assert.match((await upload(server, Buffer.alloc(0))).body.error as string, /the upload is empty/);
    const bomb = await upload(server, pngClaiming(100_000, 100_000));
    assert.equal(bomb.status, 400);
    assert.match(bomb.body.error as string, /more than 40000000 pixels \(--max-pixels\)/);
    const form = new FormData();
    form.append("picture", new Blob([new Uint8Array(png)], { type: "image/png" }), "x.png");
    const field = await call(server, "/api/images", { method: "POST", body: form });
    assert.equal(field.status, 400);
    assert.match(field.body.error as string, /expected a field named image/);
    const small = await serve({ maxUpload: 1000, captioner: null });
    try {
      const big = await upload(small, Buffer.concat([png, Buffer.alloc(2000)]));
      assert.equal(big.status, 413);
      assert.match(big.body.error as string, /^the upload is larger than 1000 bytes \(--max-upload\)$/);
      const multi = new FormData();
      multi.append("image", new Blob([new Uint8Array(5000)], { type: "image/png" }), "big.png");
      const tooBig = await call(small, "/api/images", { method: "POST", body: multi });
      assert.equal(tooBig.status, 413);
      assert.match(tooBig.body.error as string, /^the upload is larger than 1000 bytes \(--max-upload\)$/);
      const caption = await postJson(small, "/api/caption", { image: id });
      assert.match(caption.body.error as string, /no captioner/);
    } finally {
      await small.close();
    }
  });

  it("refuses foreign Host headers (DNS rebinding) and cross-origin requests", async () => {
    const port = Number(new URL(server.url).port);
    assert.equal(await rawGet(port, "/api/info", { host: `127.0.0.1:${port}` }), 200);
    assert.equal(await rawGet(port, "/api/info", { host: `localhost:${port}` }), 200);
    assert.equal(await rawGet(port, "/api/info", { host: `evil.example:${port}` }), 403);
    assert.equal(await rawGet(port, "/api/runs", { host: "127.0.0.1" }), 403);
    assert.equal(await rawGet(port, "/api/runs", { host: `127.0.0.1:${port}`, origin: "http://evil.example" }), 403);
    assert.equal(await rawGet(port, "/api/runs", { host: `127.0.0.1:${port}`, origin: `http://localhost:${port + 1}` }), 403);
    assert.equal(await rawGet(port, "/api/runs", { host: `127.0.0.1:${port}`, "sec-fetch-site": "cross-site" }), 403);
    const opaque = await call(server, "/api/predict", { method: "POST", headers: { "content-type": "application/json", origin: "null" }, body: JSON.stringify({ image: id }) });
    assert.equal(opaque.status, 403);
    const cross = await call(server, "/api/predict", { method: "POST", headers: { "content-type": "application/json", origin: "http://evil.example" }, body: JSON.stringify({ image: id }) });
    assert.equal(cross.status, 403);
    assert.match(cross.body.error as string, /cross-origin request from http:\/\/evil\.example: refused/);
    const same = await call(server, "/api/predict", { method: "POST", headers: { "content-type": "application/json", origin: server.url.slice(0, -1) }, body: JSON.stringify({ image: id }) });
    assert.equal(same.status, 200);
    const page = await fetch(server.url);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  });

  it("runs: only names listed under --runs; .., absolute paths and symlinks out answer 404", async () => {
    const listed = (await call(server, "/api/runs")).body.runs as RunSummary[];
    assert.deepEqual(listed.map((r) => r.name), ["run-a", "tiny"]);
    // The run vitlens train wrote (1 epoch): finished, from its saved state.
    const tiny = listed[1];
    assert.deepEqual([tiny.status, tiny.epochsDone, tiny.epochsTotal, tiny.kind], ["finished", 1, 1, "classifier"]);
    const a = await call(server, "/api/runs/run-a");
    assert.deepEqual(a.body.run, { recipe: "test" });
    assert.deepEqual(a.body.metrics, [{ type: "step", global_step: 1, loss: 2.5 }]);
    for (const bad of ["escape", "..", "%2e%2e", "..%2Foutside", "%2Fetc", "%2Fetc%2Fpasswd", "run-a%2F..%2F..", "nope"]) {
      const r = await call(server, `/api/runs/${bad}`);
      assert.equal(r.status, 404, bad);
    }
    assert.equal((await call(server, "/api/runs/escape/events")).status, 404);
  });

  it("runs: vitlens report's confusion matrix and gallery, computed in a thread", async () => {
    const r = await call(server, "/api/runs/tiny/report");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const ev = r.body.evaluation as { samples: number; accuracy: number; confusion: number[][] };
    assert.equal(ev.samples, 30);
    assert.equal(ev.confusion.length, 3);
    assert.equal(ev.confusion.flat().reduce((a, b) => a + b, 0), 30);
    assert.ok(Math.abs(ev.accuracy - ev.confusion.reduce((s, row, i) => s + row[i], 0) / 30) < 1e-12);
    const gallery = r.body.gallery as Array<{ input: string; overlay: string }>;
    assert.ok(gallery.length > 0 && gallery.every((g) => g.input.startsWith("data:image/png;base64,") && g.overlay.startsWith("data:image/png;base64,")));
    const fake = await call(server, "/api/runs/run-a/report");
    assert.equal(fake.status, 400);
    assert.match(fake.body.error as string, /run\.json/);
  });

  it("runs: Server-Sent Events follow metrics.jsonl through partial lines and a shorter replacement", async () => {
    const res = await fetch(new URL("/api/runs/run-a/events", server.url));
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const { next, cancel } = eventStream(res);
    const metrics = join(runs, "run-a", "metrics.jsonl");
    assert.deepEqual(await next(), { event: "reset", data: [{ type: "step", global_step: 1, loss: 2.5 }] });
    appendFileSync(metrics, `${JSON.stringify({ type: "step", global_step: 2, loss: 2 })}\n{"type": "step", "glo`);
    assert.deepEqual(await next(), { event: "metric", data: { type: "step", global_step: 2, loss: 2 } });
    appendFileSync(metrics, `bal_step": 3, "loss": 1.5}\n`);
    assert.deepEqual(await next(), { event: "metric", data: { type: "step", global_step: 3, loss: 1.5 } });
    writeFileSync(metrics, `${JSON.stringify({ type: "step", global_step: 1, loss: 9 })}\n`); // a resumed run rewrote it shorter
    assert.deepEqual(await next(), { event: "reset", data: [{ type: "step", global_step: 1, loss: 9 }] });
    await cancel();
  });
});

describe("vitlens serve under load", () => {
  it("8 clients x 25 sequential requests: no error, memory bounded", async () => {
    const server = await serve({ captioner: null });
    try {
      const files = ["0_t-shirt-top", "1_trouser", "2_pullover", "5_sandal", "7_sneaker", "8_bag"].map((f) => readFileSync(sample(`fashion/${f}.png`)));
      const ids = await Promise.all(files.map(async (f) => (await upload(server, f)).body.id as string));
      const rssBefore = process.memoryUsage().rss;
      const statuses: number[] = [];
      await Promise.all([...Array(8).keys()].map(async (client) => {
        for (let i = 0; i < 25; i++) {
          const image = ids[(client + i) % ids.length];
          const r = i % 3 === 0 ? await postJson(server, "/api/predict", { image })
            : await postJson(server, "/api/attention", { image, method: i % 3 === 1 ? "raw" : "rollout", layer: i % 4, head: i % 5 === 0 ? "max" : client % 4, query: (client * 25 + i) % 49 });
          statuses.push(r.status);
        }
      }));
      const grown = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
      process.stdout.write(`# 8 clients x 25 requests: RSS ${(rssBefore / 1024 / 1024).toFixed(0)} MB before, ${grown.toFixed(1)} MB more after\n`);
      assert.equal(statuses.length, 200);
      assert.deepEqual([...new Set(statuses)], [200]);
      assert.ok(grown < 150, `RSS grew by ${grown.toFixed(0)} MB`);
    } finally {
      await server.close();
    }
  });

  it("100 requests at once against a queue of 8: the overflow gets 503 with a message and Retry-After, then it answers normally", async () => {
    const server = await serve({ model: "vit-ti16", captioner: null, queue: 8 });
    try {
      const id = (await upload(server, readFileSync(sample("cat.jpg")), "image/jpeg")).body.id as string;
      // Rollouts with 100 different discard ratios: 100 answers to compute (12 products of 197x197 matrices each).
      const answers = await Promise.all([...Array(100).keys()].map((q) =>
        postJson(server, "/api/attention", { image: id, method: "rollout", head: q % 3, discardRatio: q / 200 })));
      const refused = answers.filter((a) => a.status === 503);
      const ok = answers.filter((a) => a.status === 200);
      process.stdout.write(`# 100 at once, queue 8: ${ok.length} answered, ${refused.length} refused\n`);
      assert.equal(ok.length + refused.length, 100);
      assert.ok(ok.length >= 8 && refused.length >= 20, `${ok.length} ok, ${refused.length} refused`);
      assert.equal(server.ctx.vitQueue.peak, 8, "never more than the queue's 8 admitted");
      for (const r of refused) {
        assert.match(r.body.error as string, /the model queue is full \(8 requests waiting; --queue\); retry in a moment/);
        assert.equal(r.headers.get("retry-after"), "1");
      }
      const after = await postJson(server, "/api/predict", { image: id });
      assert.equal(after.status, 200);
      assert.equal((after.body.top as unknown[]).length, 5);
    } finally {
      await server.close();
    }
  });
});

describe("vitlens serve command", () => {
  it("prints its URL, serves, and stops cleanly on Ctrl-C (SIGINT)", async () => {
    const child = spawn(process.execPath, [join(root, "bin", "vitlens.js"), "serve", "--port", "0", "--captioner", "none", "--runs", runs], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /vitlens explorer: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on("exit", () => reject(new Error(`exited early: ${stderr}`)));
    });
    const info = await (await fetch(`${url}api/info`)).json();
    assert.equal(info.model.layers, 4);
    assert.match(info.captioner.error, /no captioner/);
    const code = await new Promise<number | null>((resolve) => {
      child.on("exit", resolve);
      child.kill("SIGINT");
    });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /vitlens: stopping/);
  });

  it("any grid: resampled position embeddings (--image-size) give a (gh, gw) grid of that size", async () => {
    const server = await serve({ captioner: null, loadOptions: { imageSize: [56, 28] } });
    try {
      const whole = await call(server, "/api/posemb");
      assert.deepEqual(whole.body.shape, [14, 7]);
      assert.equal((whole.body.similarity as number[]).length, 98 * 98);
      const expected = positionSimilarity(loadModel(BUNDLED_MODEL, { imageSize: [56, 28] }).model.params.get("pos_embed")!);
      assert.ok(maxAbsDiff(whole.body.similarity as number[], expected.data) < 1e-6);
      const id = (await upload(server, png)).body.id;
      const a = await postJson(server, "/api/attention", { image: id, method: "raw", query: 97 });
      assert.deepEqual(a.body.shape, [14, 7]);
      assert.equal((a.body.map as number[]).length, 98);
    } finally {
      await server.close();
    }
  });
});
