// `vitlens caption` with BLIP: a Hub id through the stand-in hub (processor_config.json and the
// tokenizer come along), the same output as the local folder and as transformers, --prompt, the
// shared output format (--json, --raw maps), a prompt on a captioner that takes none, the preset.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { startVitlens } from "./cli-child.js";
import { FakeHub } from "./hub-server.js";
import { fixture, root } from "./helpers.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const folderFiles = (name: string) => new Map(readdirSync(fixture(name)).map((f) => [f, readFileSync(fixture(name, f))]));
const gen = JSON.parse(readSafetensors(fixture("blip-tiny.expected.safetensors")).metadata!.generate) as Record<string, { ids: number[]; text: string }>;

/** `vitlens ARGS` as a child (the stand-in hub answers from this process meanwhile); HF_HUB_OFFLINE cleared. */
async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await startVitlens(args, { HF_HUB_OFFLINE: "", ...env }).done;
  return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("vitlens caption with BLIP", () => {
  let hub: FakeHub;
  let endpoint: string;
  before(async () => {
    hub = new FakeHub(new Map([["acme/tiny-blip", { commit: COMMIT, files: folderFiles("blip-tiny") }]]));
    endpoint = await hub.start();
  });
  after(async () => hub.stop());

  it("a Hub id downloads into the HF cache and captions as the local folder and as transformers", async () => {
    const home = mkdtempSync(join(tmpdir(), "vitlens-hf-blip-"));
    const images = [join(root, "samples", "cat.jpg"), join(root, "samples", "coffee.jpg")];
    const online = await run(["caption", "--model", "acme/tiny-blip", "--json", ...images], { HF_HOME: home, HF_ENDPOINT: endpoint });
    assert.equal(online.code, 0, online.stderr);
    const snapshot = join(home, "hub", "models--acme--tiny-blip", "snapshots", COMMIT);
    for (const f of ["config.json", "processor_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"]) assert.ok(existsSync(join(snapshot, f)), `${f} in the HF cache`);
    const local = await run(["caption", "--model", fixture("blip-tiny"), "--json", ...images]);
    assert.equal(online.stdout, local.stdout);
    const lines = online.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(Object.keys(lines[0]), ["image", "caption", "words", "tokens", "score"]);
    // 20 new tokens at most (transformers' default): these end at [SEP] well before
    assert.equal(lines[0].caption, gen["gen.0.greedy"].text);
    assert.equal(lines[1].caption, gen["gen.1.greedy"].text);
    assert.equal(lines[0].words.join(" "), lines[0].caption);
  });

  it("--prompt: the caption starts with it, every word has a map; --raw writes them; other captioners refuse a prompt", async () => {
    const out = mkdtempSync(join(tmpdir(), "vitlens-blip-out-"));
    const r = await run(["caption", "--model", fixture("blip-tiny"), "--prompt", "a picture of", "--beam", "3", "--max-len", "12", "--raw", "--out", out, join(root, "samples", "coffee.jpg")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`coffee\\.jpg: ${gen["gen.1.beam3-prompt"].text}`));
    const raw = readSafetensors(join(out, "coffee.caption.safetensors")).tensors;
    const words = gen["gen.1.beam3-prompt"].text.split(" ").length;
    assert.equal(raw.get("maps")!.shape[0], words, "a map per word, the prompt's included");
    assert.ok(existsSync(join(out, "coffee.caption.png")));
    const gpt2 = await run(["caption", "--model", fixture("vit-gpt2-tiny"), "--prompt", "a picture of", "--json", join(root, "samples", "cat.jpg")]);
    assert.equal(gpt2.code, 1);
    assert.match(gpt2.stderr, /--prompt: only BLIP captioners take a prompt/);
  });
});
