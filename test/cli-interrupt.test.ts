// Issue 21, interruption: Ctrl-C (SIGINT mid-run) keeps what is done and exits 130 with one line
// saying what was kept; train saves a resumable state and exits 130; --resume applies --epochs
// (extending the run, said) and refuses any other flag by name instead of ignoring it.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readMetrics } from "../src/train/metrics.js";
import { root, writeIdxPair } from "./helpers.js";
import { startVitlens, vitlens } from "./cli-child.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-interrupt-"));
const model = join(root, "models", "fashion-mnist-vit");
const samples = readdirSync(join(root, "samples", "fashion")).map((f) => join(root, "samples", "fashion", f));

const stripes = (i: number, k: number) => 20 + (i % 3 === 0 ? ((k >> 4) % 2) * 160 : i % 3 === 1 ? (((k % 8) >> 1) % 2) * 160 : 80) + ((i * 31 + k * 7) % 50);
const trainData = writeIdxPair(dir, "task", 48, 8, 8, (i) => i % 3, stripes);
const tiny = ["--model", "vit-ti16", "--patch-size", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2", "--mlp-size", "32",
  "--image-size", "8", "--data", trainData, "--val-split", "0.25", "--batch-size", "4", "--seed", "1"];
const epochsOf = (run: string) => readMetrics(join(run, "metrics.jsonl")).filter((m) => m.type === "epoch" && (m.epoch as number) > 0).map((m) => m.epoch);

describe("Ctrl-C", () => {
  it("predict: the rows done so far are written to --csv, one line says so, exit 130", async () => {
    const csv = join(dir, "part.csv");
    const images = Array.from({ length: 200 }, () => samples).flat(); // 2,000 images: far from done when interrupted
    const run = startVitlens(["predict", "--batch-size", "1", "--model", model, "--csv", csv, ...images], { VITLENS_BACKEND: "js" });
    await run.whenStderr(/predict \d+\/2000 images \(10%\)/);
    run.child.kill("SIGINT");
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    const rows = readFileSync(csv, "utf8").trim().split("\n").length - 1;
    assert.ok(rows >= 200 && rows < 2000, `${rows} rows`);
    const last = r.stderr.trim().split("\n").pop()!;
    assert.equal(last, `vitlens: interrupted after ${rows} of 2,000 images: ${rows.toLocaleString("en-US")} predictions written to ${csv}`);
    assert.equal(r.stdout.split("\n").filter((l) => l.startsWith(root)).length, rows, "each kept prediction was printed");
  });

  it("train: a resumable state is saved after the current step, then exit 130", async () => {
    const out = join(dir, "ctrl-c");
    const run = startVitlens(["train", ...tiny, "--epochs", "1000", "--out", out]);
    await run.whenStderr(/epoch 2 step/);
    run.child.kill("SIGINT");
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted: state saved; continue with `vitlens train --resume /);
    assert.doesNotMatch(r.stderr, /done: best/);
    assert.ok(existsSync(join(out, "state.json")));
  });
});

describe("--resume with other flags", () => {
  const out = join(dir, "short");
  it("--epochs extends a finished run (said in a note); without it a finished run is refused", () => {
    const first = vitlens(["train", ...tiny, "--epochs", "1", "--out", out]);
    assert.equal(first.code, 0, first.stderr);
    const again = vitlens(["train", "--resume", out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^vitlens: error: --resume .*short: the run has finished its 1 epoch; add --epochs N \(more than 1\) to train it further\n$/);
    const longer = vitlens(["train", "--resume", out, "--epochs", "2"]);
    assert.equal(longer.code, 0, longer.stderr);
    assert.match(longer.stderr, /note: --epochs 2: the run goes on to epoch 2 \(it was started for 1\)/);
    assert.deepEqual(epochsOf(out), [1, 2]);
    assert.equal(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).options.epochs, 2);
    const fewer = vitlens(["train", "--resume", out, "--epochs", "1"]);
    assert.match(fewer.stderr, /--epochs 1: the run .* has already trained 2 epochs/);
  });

  it("any other flag is refused by name", () => {
    const r = vitlens(["train", "--resume", out, "--epochs", "3", "--model", "vit-s16", "--lr", "0.5"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^vitlens: error: --model, --lr: --resume .* continues the run with the options it started with .*; it takes only --epochs N \(to train it further\) and --precision/);
    assert.deepEqual(epochsOf(out), [1, 2], "nothing trained");
  });
});
