// Hugging Face Hub download against a local stand-in server: cache layout, offline mode, resume,
// integrity checks, errors, sharded weights, and the CLI path.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { loadModel } from "../src/checkpoint/load.js";
import { readSafetensors, writeSafetensors } from "../src/checkpoint/safetensors.js";
import { hubOptionsFromEnv, type HubOptions } from "../src/hub/download.js";
import { downloadModel, parseHubId } from "../src/hub/snapshot.js";
import { FakeHub, sha256, type FakeRepo, type Faults } from "./hub-server.js";
import { fixture, randomArray, root } from "./helpers.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const tinyFiles = () => new Map(["config.json", "model.safetensors", "preprocessor_config.json"].map((f) => [f, readFileSync(fixture("hf-tiny", f))]));
const weights = readFileSync(fixture("hf-tiny", "model.safetensors"));
const pixels = { data: randomArray(2 * 3 * 32 * 32, 7), shape: [2, 3, 32, 32] };
const logitsOf = (dir: string) => loadModel(dir).model.forward(pixels, jsBackend).logits!.data;

function shardedFiles(): Map<string, Buffer> {
  const tensors = [...readSafetensors(fixture("hf-tiny", "model.safetensors")).tensors];
  const half = Math.ceil(tensors.length / 2);
  const dir = mkdtempSync(join(tmpdir(), "vitlens-shards-"));
  const files = new Map<string, Buffer>([["config.json", readFileSync(fixture("hf-tiny", "config.json"))]]);
  const weightMap: Record<string, string> = {};
  [tensors.slice(0, half), tensors.slice(half)].forEach((part, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(join(dir, name), new Map(part));
    files.set(name, readFileSync(join(dir, name)));
    for (const [key] of part) weightMap[key] = name;
  });
  files.set("model.safetensors.index.json", Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap })));
  return files;
}

const repos = () => new Map<string, FakeRepo>([
  ["acme/tiny-vit", { commit: COMMIT, files: tinyFiles() }],
  ["acme/gated-vit", { commit: COMMIT, files: tinyFiles(), gated: true }],
  ["acme/sharded-vit", { commit: COMMIT.replace("0", "f"), files: shardedFiles() }],
  ["acme/not-a-model", { commit: COMMIT, files: new Map([["README.md", Buffer.from("hi")]]) }],
]);

describe("Hugging Face Hub download (local stand-in server)", () => {
  let hub: FakeHub;
  let endpoint: string;
  const fresh = (extra: Partial<HubOptions> = {}): HubOptions => ({
    ...hubOptionsFromEnv({ HF_HOME: mkdtempSync(join(tmpdir(), "vitlens-hf-")), HF_ENDPOINT: endpoint }), ...extra,
  });
  async function withHub<T>(faults: Faults, run: (hub: FakeHub, endpoint: string) => Promise<T>): Promise<T> {
    const h = new FakeHub(repos(), "hf_secret", faults);
    const url = await h.start();
    try {
      return await run(h, url);
    } finally {
      await h.stop();
    }
  }

  before(async () => {
    hub = new FakeHub(repos(), "hf_secret");
    endpoint = await hub.start();
  });
  after(async () => hub.stop());

  it("reads the environment like huggingface_hub", () => {
    const o = hubOptionsFromEnv({ HF_HOME: "/h", HF_ENDPOINT: "http://x/", HF_TOKEN: "t", HF_HUB_OFFLINE: "1" });
    assert.deepEqual(o, { endpoint: "http://x", cacheDir: "/h/hub", token: "t", offline: true });
    assert.equal(hubOptionsFromEnv({ HF_HUB_CACHE: "/c", HF_HOME: "/h" }).cacheDir, "/c");
    assert.equal(hubOptionsFromEnv({}).endpoint, "https://huggingface.co");
    assert.deepEqual(parseHubId("google/vit-base-patch16-224@v1.0"), { repoId: "google/vit-base-patch16-224", revision: "v1.0" });
    assert.equal(parseHubId("models/../etc"), null);
    assert.equal(parseHubId("vit-b16"), null);
  });

  it("downloads into the HF cache layout and loads the same logits as the local files", async () => {
    const opts = fresh();
    const dir = await downloadModel("acme/tiny-vit", opts);
    const folder = join(opts.cacheDir, "models--acme--tiny-vit");
    assert.equal(dir, join(folder, "snapshots", COMMIT));
    assert.equal(readFileSync(join(folder, "refs", "main"), "utf8"), COMMIT);
    const link = join(dir, "model.safetensors");
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readlinkSync(link), join("..", "..", "blobs", sha256(weights)), "relative link to the blob named by its sha256");
    assert.deepEqual(readFileSync(link), weights);
    assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model.safetensors", "preprocessor_config.json"]);
    assert.ok(!readdirSync(join(folder, "blobs")).some((f) => f.endsWith(".incomplete")));
    assert.deepEqual(logitsOf(dir), logitsOf(fixture("hf-tiny")));
  });

  it("a second run, a commit-hash revision and HF_HUB_OFFLINE=1 are served from the cache", async () => {
    const opts = fresh();
    await downloadModel("acme/tiny-vit", opts);
    const before = hub.log.length;
    const offline = await downloadModel("acme/tiny-vit", { ...opts, offline: true });
    const pinned = await downloadModel(`acme/tiny-vit@${COMMIT}`, { ...opts, offline: true });
    assert.equal(hub.log.length, before, "offline mode made no request");
    assert.equal(offline, pinned);
    await assert.rejects(downloadModel("acme/tiny-vit", { ...fresh(), offline: true }),
      /acme\/tiny-vit@main: config\.json is not in the cache .*models--acme--tiny-vit and HF_HUB_OFFLINE=1 forbids downloading it/);
  });

  it("an unreachable hub falls back to the cache with a warning, and names the endpoint when the cache is empty", async () => {
    const opts = fresh();
    await downloadModel("acme/tiny-vit", opts);
    const warnings: string[] = [];
    const closed = new FakeHub(new Map());
    const dead = await closed.start();
    await closed.stop(); // nothing listens there now: connection refused
    const dir = await downloadModel("acme/tiny-vit", { ...opts, endpoint: dead, warn: (l) => warnings.push(l) });
    assert.ok(existsSync(join(dir, "model.safetensors")));
    assert.match(warnings[0], /hub unreachable \(ECONNREFUSED\): using the cached acme\/tiny-vit@main: config\.json/);
    await assert.rejects(downloadModel("acme/tiny-vit", { ...fresh(), endpoint: dead }),
      /cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) and acme\/tiny-vit@main: config\.json is not in the cache/);
  });

  it("resumes a broken download with a Range request and verifies it", async () => {
    await withHub({ cutFirstDownloadAfter: 1000 }, async (h, url) => {
      const opts = fresh({ endpoint: url });
      const dir = await downloadModel("acme/tiny-vit", opts);
      const cdn = h.log.filter((r) => r.url.startsWith("/cdn/"));
      assert.deepEqual(cdn.map((r) => r.range), [undefined, "bytes=1000-"]);
      assert.deepEqual(readFileSync(join(dir, "model.safetensors")), weights);
    });
  });

  it("two runs downloading one model at once fetch each blob once", async () => {
    const opts = fresh();
    const start = hub.log.length;
    const [a, b] = await Promise.all([downloadModel("acme/tiny-vit", opts), downloadModel("acme/tiny-vit", opts)]);
    assert.equal(a, b);
    assert.deepEqual(readFileSync(join(a, "model.safetensors")), weights);
    const blobGets = hub.log.slice(start).filter((r) => r.method === "GET" && (r.url.startsWith("/cdn/") || /\/resolve\//.test(r.url)));
    const perFile = new Map<string, number>();
    for (const r of blobGets) perFile.set(r.url, (perFile.get(r.url) ?? 0) + 1);
    assert.ok(perFile.size > 0 && [...perFile.values()].every((n) => n === 1), JSON.stringify([...perFile]));
  });

  it("resumes a partial file a previous run left behind", async () => {
    const opts = fresh();
    const blobs = join(opts.cacheDir, "models--acme--tiny-vit", "blobs");
    mkdirSync(blobs, { recursive: true });
    writeFileSync(join(blobs, `${sha256(weights)}.incomplete`), weights.subarray(0, 5000));
    const start = hub.log.length;
    const dir = await downloadModel("acme/tiny-vit", opts);
    assert.deepEqual(hub.log.slice(start).filter((r) => r.url.startsWith("/cdn/")).map((r) => r.range), ["bytes=5000-"]);
    assert.deepEqual(readFileSync(join(dir, "model.safetensors")), weights);
  });

  it("a corrupt download fails the sha256 check and leaves nothing in the cache", async () => {
    await withHub({ corrupt: new Set(["model.safetensors"]) }, async (_h, url) => {
      const opts = fresh({ endpoint: url });
      await assert.rejects(downloadModel("acme/tiny-vit", opts), /model\.safetensors: sha256 [0-9a-f]{64} does not match the hub's [0-9a-f]{64}; the corrupt download was deleted/);
      const folder = join(opts.cacheDir, "models--acme--tiny-vit");
      assert.deepEqual(readdirSync(join(folder, "blobs")).filter((f) => f.length > 50 || f.endsWith(".incomplete")), []);
      assert.ok(!existsSync(join(folder, "snapshots", COMMIT, "model.safetensors")));
    });
  });

  it("sharded safetensors: the index and every shard, loaded as one model", async () => {
    const dir = await downloadModel("acme/sharded-vit", fresh());
    assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]);
    assert.deepEqual(logitsOf(dir), logitsOf(fixture("hf-tiny")));
  });

  it("gated and missing repositories, revisions and weights: one clear line each; the token is sent", async () => {
    await assert.rejects(downloadModel("acme/gated-vit", fresh()), /acme\/gated-vit is a gated repository: accept its terms on http:\/\/127\.0\.0\.1:\d+\/acme\/gated-vit and set HF_TOKEN/);
    await assert.rejects(downloadModel("acme/gated-vit", fresh({ token: "wrong" })), /gated repository.*the token in HF_TOKEN does not grant access/);
    await assert.rejects(downloadModel("acme/nope", fresh()), /acme\/nope: no such model repository on http:\/\/127\.0\.0\.1:\d+ \(or it is private: set HF_TOKEN\)/);
    await assert.rejects(downloadModel("acme/tiny-vit@v9", fresh()), /acme\/tiny-vit: no revision "v9"/);
    await assert.rejects(downloadModel("acme/not-a-model", fresh()), /acme\/not-a-model@main: the repository has no config\.json/);
    const start = hub.log.length;
    const dir = await downloadModel("acme/gated-vit", fresh({ token: "hf_secret" }));
    assert.ok(existsSync(join(dir, "model.safetensors")));
    assert.ok(hub.log.slice(start).every((r) => r.url.startsWith("/cdn/") || r.authorization === "Bearer hf_secret"));
  });

  it("vitlens predict --model owner/name downloads through HF_ENDPOINT into HF_HOME", async () => {
    const home = mkdtempSync(join(tmpdir(), "vitlens-hf-"));
    const env = { ...process.env, HF_HOME: home, HF_ENDPOINT: endpoint, HF_HUB_OFFLINE: "" };
    const run = (args: string[], extraEnv: Record<string, string> = {}) => new Promise<{ code: number; stdout: string; stderr: string }>((ok) => {
      const child = spawn(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { env: { ...env, ...extraEnv } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d));
      child.stderr.on("data", (d: Buffer) => (stderr += d));
      child.on("close", (code) => ok({ code: code ?? -1, stdout, stderr }));
    });
    const image = fixture("hf-tiny-0.png");
    const online = await run(["predict", "--model", "acme/tiny-vit", "--json", image]);
    assert.equal(online.code, 0, online.stderr);
    assert.match(online.stderr, /downloading model\.safetensors \(0\.\d MB\)/);
    const local = await run(["predict", "--model", fixture("hf-tiny"), "--json", image]);
    assert.equal(online.stdout, local.stdout);
    const offline = await run(["predict", "--model", "acme/nothing", image], { HF_HUB_OFFLINE: "1" });
    assert.equal(offline.code, 1);
    assert.match(offline.stderr, /^vitlens: error: acme\/nothing@main: config\.json is not in the cache .* and HF_HUB_OFFLINE=1 forbids downloading it\n$/);
  });
});
