// Issue 21, flags: "did you mean" before "required option missing", --version, help that says each
// default once with relative paths and lists --verbose / --quiet on every command, values checked
// by the run-option schemas (ranges, --freeze within the model, image sizes, VITLENS_THREADS), a
// warmup longer than the run warned, and --model paths told apart from Hugging Face Hub ids.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fixture, root, writeIdxPair } from "./helpers.js";
import { FakeHub } from "./hub-server.js";
import { trainingBytes } from "../src/models/memory-fit.js";
import { presetConfig } from "../src/models/vit-config.js";
import { countParameters, zeroParams } from "../src/models/vit-params.js";
import { startVitlens, vitlens } from "./cli-child.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-flags-"));
const model = join(root, "models", "fashion-mnist-vit");
const image = join(root, "samples", "fashion", "3_dress.png");
const data = writeIdxPair(dir, "task", 12, 8, 8, (i) => i % 3, (i, k) => (i * 37 + k * 11) % 256);
const tiny = ["--model", "vit-ti16", "--patch-size", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2", "--mlp-size", "32",
  "--image-size", "8", "--data", data, "--val-split", "0", "--batch-size", "4", "--epochs", "1"];

const COMMANDS = ["inspect", "predict", "train", "eval", "posemb", "attention", "report", "train-captioner", "caption", "eval-captioner",
  "convert", "data objects", "data grids", "pointing", "bench", "tensors", "serve"];

/** A help text's option entries, each with its wrapped continuation lines joined. */
function optionEntries(help: string): string[] {
  const entries: string[] = [];
  for (const line of help.split("\n")) {
    if (/^ {2}-/.test(line)) entries.push(line.trim());
    else if (/^ {4,}\S/.test(line) && entries.length) entries[entries.length - 1] += ` ${line.trim()}`;
  }
  return entries;
}

describe("misspelled flags and --version", () => {
  it("a misspelled flag is answered with the flag meant, on every command, before a missing required one", () => {
    const cases: Array<[string[], string]> = [
      [["predict", "--modle", model, image], "--model"],
      [["eval", "--model", model, "--dat", "x"], "--data"],
      [["train", "--epoch", "3"], "--epochs"],
      [["attention", "--model", model, "--outt", "x", image], "--out"],
      [["data", "grids", "--sourc", "x"], "--source"],
    ];
    for (const [args, meant] of cases) {
      const r = vitlens(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, new RegExp(`^error: unknown option '${args.find((a) => a.startsWith("--") && a !== "--model")}'\\n\\(Did you mean ${meant}\\?\\)\\n$`), r.stderr);
    }
    const missing = vitlens(["predict", image]);
    assert.equal(missing.stderr, "error: required option '--model <spec>' not specified\n");
  });

  it("--version and -V print package.json's version", () => {
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    for (const flag of ["--version", "-V"]) {
      const r = vitlens([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `${version}\n`);
    }
  });
});

describe("help", () => {
  it("every command lists --verbose and --quiet, says each default once, and shows no absolute path", () => {
    for (const cmd of COMMANDS) {
      const r = vitlens([...cmd.split(" "), "--help"]);
      assert.equal(r.code, 0, cmd);
      const entries = optionEntries(r.stdout);
      for (const flag of ["--verbose", "--quiet", "--version"]) assert.ok(entries.some((e) => e.includes(flag)), `${cmd} --help lists ${flag}`);
      for (const e of entries) {
        assert.ok((e.match(/default/gi) ?? []).length <= 1, `${cmd}: ${e}`);
        assert.ok(!e.includes(root) && !/(default: "?\/)/.test(e), `${cmd}: ${e}`);
      }
    }
  });
});

describe("values checked by the option schemas", () => {
  const refused = (args: string[], message: RegExp, env: Record<string, string> = {}) => {
    const r = vitlens(args, env);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  };

  it("ranges, --freeze within the model's blocks, image sizes, VITLENS_THREADS", () => {
    refused(["train", ...tiny, "--momentum", "2", "--out", join(dir, "m")], /option '--momentum <m>' argument '2' is invalid\. expected a momentum in \[0, 1\)/);
    refused(["train", ...tiny, "--label-smoothing", "1", "--out", join(dir, "s")], /'--label-smoothing <e>' argument '1' is invalid\. expected a smoothing share in \[0, 1\)/);
    refused(["train", ...tiny, "--freeze", "blocks.0-9", "--out", join(dir, "f")], /^vitlens: error: --freeze blocks\.0-9: the model has 1 block \(blocks\.0-0\); expected a range within them\n$/);
    refused(["predict", "--model", model, "--image-size", "100000", image], /'--image-size <HxW>' argument '100000' is invalid\. expected at most 4096 pixels a side/);
    refused(["predict", "--model", model, "--image-size", "2000", image], /^vitlens: error: --image-size 2000x2000: 250,001 tokens per image; a forward pass keeps every layer's attention .*; use a smaller --image-size\n$/);
    refused(["train", "--model", "vit-ti16", "--data", join(root, "samples", "fashion"), "--image-size", "1024", "--batch-size", "32", "--out", join(dir, "big")],
      /^vitlens: error: --image-size 1024x1024 with --batch-size 32: 4,097 tokens per image; a training step keeps every layer's activations \(about [\d,.]+ GB for 32 images\), more than this machine's [\d.]+ GB allow; use a smaller --image-size or --batch-size\n$/);
    assert.equal(existsSync(join(dir, "big")), false, "the refused run left no folder");
    // the estimate against a measurement: ViT-B/16, batch 8, 224² peaked at 2.16 GB RSS in `bench --train` (README, Speed)
    const b16 = presetConfig("vit-b16", { numClasses: 1000 });
    const estimate = trainingBytes(b16, 8, countParameters(zeroParams(b16)));
    assert.ok(estimate > 2.16e9 && estimate < 1.25 * 2.16e9, `estimate ${estimate}: on the safe side of the measurement, not far above it`);
    refused(["predict", "--model", model, image], /^vitlens: error: VITLENS_THREADS=abc: expected a whole number of threads \(0 or unset: all cores\)\n$/, { VITLENS_THREADS: "abc" });
  });

  it("a warmup longer than the whole run is warned about when the run starts", () => {
    const r = vitlens(["train", ...tiny, "--schedule", "cosine", "--warmup-steps", "100", "--out", join(dir, "warm")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: --warmup-steps 100 is longer than the whole run \(3 steps\): the learning rate never reaches --lr 0\.01 \(at most 0\.0003\); use fewer warmup steps or more --epochs/);
  });
});

describe("--model: paths and Hugging Face Hub ids", () => {
  const COMMIT = "0123456789abcdef0123456789abcdef01234567";
  const files = () => new Map(["config.json", "model.safetensors", "preprocessor_config.json"].map((f) => [f, readFileSync(fixture("hf-tiny", f))]));
  const hub = new FakeHub(new Map([["acme/tiny-vit", { commit: COMMIT, files: files() }], ["timm/vit_tiny.augreg_in21k", { commit: COMMIT, files: files() }]]));
  let env: Record<string, string> = {};
  before(async () => {
    env = { HF_ENDPOINT: await hub.start(), HF_HOME: mkdtempSync(join(tmpdir(), "vitlens-hf-")), HF_HUB_OFFLINE: "" };
  });
  after(() => hub.stop());

  // The stand-in hub answers from this process: the children run asynchronously.
  const run = (args: string[]) => startVitlens(args, env).done;

  it("a spec that looks like a path and does not exist is 'no such file'; the Hub is not asked", async () => {
    for (const spec of ["models/nope", "./nope", "weights/vit.safetensors", "~/nope.pth"]) {
      const r = await run(["predict", "--model", spec, image]);
      assert.equal(r.stderr, `vitlens: error: --model ${spec}: no such file or folder\n`);
    }
    assert.equal(hub.log.length, 0);
  });

  it("hf-hub:owner/name and hf:owner/name are Hub ids; dots do not make a path; owner/name found nowhere says both readings", async () => {
    const local = vitlens(["predict", "--json", "--model", fixture("hf-tiny"), image]);
    for (const spec of ["hf-hub:acme/tiny-vit", "hf:acme/tiny-vit", "timm/vit_tiny.augreg_in21k"]) {
      const r = await run(["predict", "--json", "--model", spec, image]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, local.stdout, spec);
    }
    const none = await run(["predict", "--model", "acme/none", image]);
    assert.match(none.stderr, /^vitlens: error: --model acme\/none: no such file or folder here, and as a Hugging Face Hub id: acme\/none: no such model repository on http:\/\/127\.0\.0\.1:\d+ \(or it is private: set HF_TOKEN\)\n$/);
    const bad = await run(["predict", "--model", "hf-hub:nope", image]);
    assert.equal(bad.stderr, "vitlens: error: --model hf-hub:nope: expected hf-hub:owner/name[@revision] (a Hugging Face Hub model id)\n");
  });
});
