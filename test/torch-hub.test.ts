// torch.hub's checkpoint cache ($TORCH_HOME/hub/checkpoints/<file>) against a local HTTP server
// that honours Range and can cut the connection, misreport the size or answer 404: download,
// resume, size checks, the sha256 record and its check on reload, offline mode, CATR's names.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { VitlensError } from "../src/errors.js";
import { CATR_CHECKPOINTS, isCatrName, resolveTorchHubCheckpoint, torchHubCheckpointPath, torchHubDir, torchHubFile } from "../src/hub/torch-hub.js";
import { randomArray } from "./helpers.js";
import { closeServer, listenLocal } from "./hub-server.js";

const content = Buffer.from(randomArray(50_000, 3).buffer); // 200 KB
const sha = createHash("sha256").update(content).digest("hex");

interface Behaviour {
  /** First GET: send this many bytes, then close the connection. */
  cutAfter?: number;
  /** Every 206: announce this total in Content-Range (the body is still the real rest of the file). */
  rangeTotal?: number;
  status?: number;
}

/** One file at /releases/download/0.2/<name>; Range honoured; faults on request. */
class FileServer {
  readonly log: Array<{ url: string; range?: string }> = [];
  behaviour: Behaviour = {};
  private gets = 0;
  private server: Server = createServer((req, res) => this.handle(req, res));

  start(): Promise<string> {
    return listenLocal(this.server);
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  reset(behaviour: Behaviour = {}): void {
    this.behaviour = behaviour;
    this.gets = 0;
    this.log.length = 0;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.log.push({ url: req.url ?? "", range: req.headers.range });
    if (this.behaviour.status) return void res.writeHead(this.behaviour.status).end("no");
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const from = range ? Number(range[1]) : 0;
    if (from >= content.length && range) return void res.writeHead(416).end();
    const body = content.subarray(from);
    if (range) {
      const total = this.behaviour.rangeTotal ?? content.length;
      res.writeHead(206, { "content-range": `bytes ${from}-${content.length - 1}/${total}` }); // chunked: no Content-Length to contradict
    } else {
      res.writeHead(200, { "content-length": String(content.length) });
    }
    const cut = this.behaviour.cutAfter;
    if (this.gets++ === 0 && cut !== undefined) {
      res.write(body.subarray(0, cut), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  }
}

describe("torch.hub checkpoint cache (local HTTP server)", () => {
  const server = new FileServer();
  let base = "";
  const url = (name = "weight493084032.pth") => `${base}/saahiluppal/catr/releases/download/0.2/${name}`;
  const fresh = () => join(mkdtempSync(join(tmpdir(), "vitlens-torch-")), "hub");
  before(async () => (base = await server.start()));
  after(async () => server.stop());

  it("downloads into <hub>/checkpoints/<URL's file name>, records its sha256 beside it, reuses it after", async () => {
    server.reset();
    const hubDir = fresh();
    const events: string[] = [];
    const progress = { start: (f: string, total: number, at: number) => events.push(`start ${f} ${total} ${at}`), advance: () => {}, stop: () => events.push("stop") };
    const path = await torchHubFile(url(), { offline: false, hubDir, progress });
    assert.equal(path, join(hubDir, "checkpoints", "weight493084032.pth"));
    assert.deepEqual(readFileSync(path), content);
    assert.equal(readFileSync(`${path}.sha256`, "utf8"), `${sha}  weight493084032.pth\n`);
    assert.ok(!existsSync(`${path}.partial`));
    assert.deepEqual(events, [`start weight493084032.pth ${content.length} 0`, "stop"]);
    assert.equal(await torchHubFile(url(), { offline: false, hubDir }), path);
    assert.equal(server.log.length, 1, "the second load makes no request");
  });

  it("a connection cut midway is resumed by a Range request in the same call", async () => {
    server.reset({ cutAfter: 70_000 });
    const hubDir = fresh();
    const path = await torchHubFile(url(), { offline: false, hubDir });
    assert.deepEqual(readFileSync(path), content);
    assert.equal(server.log.length, 2);
    assert.match(server.log[1].range ?? "", /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(server.log[1].range!)![0]) > 0);
  });

  it("two downloads of the same file at once: one fetches it, the other waits for it and says so", async () => {
    server.reset();
    const hubDir = fresh();
    const waits: string[] = [];
    const [a, b] = await Promise.all([1, 2].map(() => torchHubFile(url(), { offline: false, hubDir, warn: (l) => waits.push(l) })));
    assert.equal(a, b);
    assert.deepEqual(readFileSync(a), content);
    assert.equal(server.log.length, 1, "one request: the second call found the file its lock waited for");
    assert.equal(waits.length, 1);
    assert.match(waits[0], /^weight493084032\.pth: another process is downloading it; waiting \(lock .*weight493084032\.pth\.lock\)$/);
    assert.ok(!existsSync(`${a}.lock`) && !existsSync(`${a}.partial`));
  });

  it("a .partial file an earlier run left is resumed", async () => {
    server.reset();
    const hubDir = fresh();
    mkdirSync(join(hubDir, "checkpoints"), { recursive: true });
    writeFileSync(join(hubDir, "checkpoints", "weight493084032.pth.partial"), content.subarray(0, 5000));
    const path = await torchHubFile(url(), { offline: false, hubDir });
    assert.deepEqual(readFileSync(path), content);
    assert.deepEqual(server.log.map((r) => r.range), ["bytes=5000-"]);
    assert.equal(readFileSync(`${path}.sha256`, "utf8").slice(0, 64), sha);
  });

  it("a server that misreports the size: one-line errors, the partial download deleted", async () => {
    const partialOf = (hubDir: string) => join(hubDir, "checkpoints", "weight493084032.pth.partial");
    const withPartial = () => {
      const hubDir = fresh();
      mkdirSync(join(hubDir, "checkpoints"), { recursive: true });
      writeFileSync(partialOf(hubDir), content.subarray(0, 1000));
      return hubDir;
    };
    const cases: Array<[Behaviour, RegExp]> = [
      [{ rangeTotal: content.length + 5000 }, new RegExp(`weight493084032\\.pth: downloaded ${content.length} bytes, the server announced ${content.length + 5000}; the partial download was deleted, run again`)],
      [{ rangeTotal: content.length - 5000 }, new RegExp(`weight493084032\\.pth: the server sent more than the ${content.length - 5000} bytes it announced; the partial download was deleted`)],
    ];
    for (const [behaviour, message] of cases) {
      server.reset(behaviour);
      const hubDir = withPartial();
      await assert.rejects(torchHubFile(url(), { offline: false, hubDir }), (e: unknown) => e instanceof VitlensError && message.test(e.message));
      assert.ok(!existsSync(partialOf(hubDir)) && !existsSync(join(hubDir, "checkpoints", "weight493084032.pth")));
    }
    // The size changes between the first answer (200, Content-Length) and the resumed one (206).
    server.reset({ cutAfter: 20_000, rangeTotal: content.length + 1 });
    const hubDir = fresh();
    await assert.rejects(torchHubFile(url(), { offline: false, hubDir }),
      new RegExp(`the server announces ${content.length + 1} bytes where ${content.length} were announced before`));
    assert.ok(!existsSync(partialOf(hubDir)));
  });

  it("sha256 checked on every later load: a changed file is a one-line error saying how to refetch", async () => {
    server.reset();
    const hubDir = fresh();
    const path = await torchHubFile(url(), { offline: false, hubDir });
    const corrupt = Buffer.from(content);
    corrupt[1234] ^= 1;
    writeFileSync(path, corrupt);
    await assert.rejects(torchHubFile(url(), { offline: false, hubDir }), (e: unknown) => e instanceof VitlensError &&
      e.message === `${path}: sha256 ${createHash("sha256").update(corrupt).digest("hex")} differs from ${sha} recorded in weight493084032.pth.sha256 when it was downloaded: the file is corrupt or was replaced; delete both files to download it again`);
    await assert.rejects(torchHubFile(url(), { offline: true, hubDir }), /differs from/); // offline too
  });

  it("a file torch.hub downloaded (no .sha256 beside it) is used as it is, its sha256 recorded then", async () => {
    server.reset();
    const hubDir = fresh();
    const path = join(hubDir, "checkpoints", "weights_9348032.pth");
    mkdirSync(join(hubDir, "checkpoints"), { recursive: true });
    writeFileSync(path, content);
    assert.equal(await torchHubFile(url("weights_9348032.pth"), { offline: false, hubDir }), path);
    assert.equal(server.log.length, 0);
    assert.equal(readFileSync(`${path}.sha256`, "utf8"), `${sha}  weights_9348032.pth\n`);
  });

  it("offline: a cached file is used without a request; a missing one names the URL and where to put it", async () => {
    server.reset();
    const hubDir = fresh();
    await assert.rejects(torchHubFile(url(), { offline: true, hubDir }), (e: unknown) => e instanceof VitlensError &&
      e.message === `${url()} is not in torch.hub's cache and offline mode (HF_HUB_OFFLINE=1) forbids downloading it: fetch it elsewhere and put it at ${join(hubDir, "checkpoints", "weight493084032.pth")}`);
    assert.equal(server.log.length, 0);
  });

  it("HTTP errors are one line naming the file and the host", async () => {
    server.reset({ status: 404 });
    await assert.rejects(torchHubFile(url(), { offline: false, hubDir: fresh() }), /^VitlensError: weight493084032\.pth: the download from 127\.0\.0\.1:\d+ answered HTTP 404$/);
  });
});

describe("torch.hub's folder and CATR's names", () => {
  it("TORCH_HOME, else XDG_CACHE_HOME/torch, else ~/.cache/torch, as torch.hub.get_dir()", () => {
    assert.equal(torchHubDir({ TORCH_HOME: "/t", XDG_CACHE_HOME: "/x" }), "/t/hub");
    assert.equal(torchHubDir({ XDG_CACHE_HOME: "/x" }), "/x/torch/hub");
    assert.equal(torchHubDir({}), join(homedir(), ".cache", "torch", "hub"));
    assert.equal(torchHubDir({ TORCH_HOME: "~/th" }), join(homedir(), "th", "hub"));
  });

  it("catr-v1/v2/v3 are hubconf.py's release URLs, cached under the URL's file name", async () => {
    assert.deepEqual(Object.keys(CATR_CHECKPOINTS), ["catr-v1", "catr-v2", "catr-v3"]);
    assert.ok(isCatrName("catr-v3") && !isCatrName("catr-v4") && !isCatrName("toString"));
    assert.equal(torchHubCheckpointPath(CATR_CHECKPOINTS["catr-v1"], "/h"), "/h/checkpoints/weights_9348032.pth");
    assert.equal(torchHubCheckpointPath(CATR_CHECKPOINTS["catr-v2"], "/h"), "/h/checkpoints/weight389123791.pth");
    assert.equal(torchHubCheckpointPath(CATR_CHECKPOINTS["catr-v3"], "/h"), "/h/checkpoints/weight493084032.pth");
    const hubDir = join(mkdtempSync(join(tmpdir(), "vitlens-torch-")), "hub");
    mkdirSync(join(hubDir, "checkpoints"), { recursive: true });
    writeFileSync(join(hubDir, "checkpoints", "weight389123791.pth"), content);
    assert.equal(await resolveTorchHubCheckpoint("catr-v2", { offline: true, hubDir }), join(hubDir, "checkpoints", "weight389123791.pth"));
    await assert.rejects(resolveTorchHubCheckpoint("catr-v9", { offline: true, hubDir }), /--model catr-v9: not a published checkpoint \(known: catr-v1, catr-v2, catr-v3\)/);
    assert.throws(() => torchHubCheckpointPath("http://h/", "/h"), /http:\/\/h\/: the URL names no file to cache/);
  });
});
