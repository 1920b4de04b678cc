// The families through the commands a user runs: backbones (attention, posemb, predict's
// refusal, a new head), DINO's masks and the registers' share, token norms, models without a
// CLS token, an nn.TransformerEncoder ViT's flags, --keymap for unknown names, refusals by family.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { loadModel } from "../src/checkpoint/load.js";
import { readSafetensors, writeSafetensors } from "../src/checkpoint/safetensors.js";
import { keepMask } from "../src/explain/attention-maps.js";
import { fixture, maxAbsDiff, root } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "vitlens-families-cli-"));
const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", cwd: root });
const cat = join(root, "samples", "cat.jpg");

describe("families on the command line", () => {
  it("a DINOv2-with-registers backbone: per-head CLS maps with DINO's keep mask, the CLS row's share going to registers, token norms", () => {
    const out = join(tmp, "dino");
    const r = vitlens("attention", "--model", fixture("family-hf-dinov2-reg"), "--method", "cls", "--head", "all", "--keep", "0.6", "--raw", "--out", out, cat);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /the CLS row \(mean of heads\) goes to: CLS \d+\.\d%, registers \d+\.\d% \(\d+\.\d%, \d+\.\d%\), patches \d+\.\d%/);
    const raw = readSafetensors(join(out, "cat.cls.safetensors")).tensors;
    for (let h = 0; h < 3; h++) {
      const mask = raw.get(`map.${h}`)!.data;
      assert.ok(mask.every((v) => v === 0 || v === 1) && mask.some((v) => v === 1), `head ${h}: a 0/1 mask`);
    }
    assert.deepEqual(raw.get("prefix_share.1")!.shape, [3]); // CLS and two registers
    const norm = vitlens("attention", "--model", fixture("family-hf-dinov2-reg"), "--method", "norm", "--out", out, cat);
    assert.equal(norm.status, 0, norm.stderr);
    assert.match(norm.stdout, /layer 1 token norms: prefix [\d.]+, [\d.]+, [\d.]+; patches max [\d.]+, median [\d.]+/);
    const attribution = vitlens("attention", "--model", fixture("family-hf-dinov2-reg"), "--method", "attribution", "--out", out, cat);
    assert.equal(attribution.status, 1);
    assert.match(attribution.stderr, /no classification head to attribute/);
  });

  it("DINO's keep mask: the fewest patches holding the share of the mass, as visualize_attention.py", () => {
    // sorted ascending 0.1 0.2 0.3 0.4, cumulative 0.1 0.3 0.6 1.0: above 1 - 0.6 = 0.4 are the last two
    assert.deepEqual(Array.from(keepMask(Float32Array.of(0.1, 0.4, 0.2, 0.3), 0.6)), [0, 1, 0, 1]);
    assert.deepEqual(Array.from(keepMask(Float32Array.of(2, 8, 4, 6), 0.6)), [0, 1, 0, 1]); // renormalised first
    assert.deepEqual(Array.from(keepMask(Float32Array.of(0.1, 0.4, 0.2, 0.3), 1)), [1, 1, 1, 1]);
  });

  it("a backbone: predict and eval say there is nothing to predict; posemb works; a model without absolute positions says so", () => {
    const p = vitlens("predict", "--model", fixture("family-hf-dinov2"), cat);
    assert.equal(p.status, 1);
    assert.match(p.stderr, /no classification head; nothing to predict \(a backbone: attention, posemb, inspect and serve work on it, and train adds a head\)/);
    const png = join(tmp, "dinov2-posemb.png");
    assert.equal(vitlens("posemb", "--model", fixture("family-hf-dinov2-reg"), "--out", png).status, 0);
    assert.ok(existsSync(png));
    const beit = vitlens("posemb", "--model", fixture("family-hf-beit"), "--out", join(tmp, "beit.png"));
    assert.equal(beit.status, 1);
    assert.match(beit.stderr, /no absolute position embedding \(it uses relative position bias only/);
  });

  it("a model without a CLS token: its maps read the mean of the patch rows, and say so", () => {
    const r = vitlens("attention", "--model", fixture("family-timm-nocls-avg"), "--method", "rollout", "--out", join(tmp, "nocls"), cat);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /no CLS token: maps show the mean of the patch rows \(no CLS token\)/);
  });

  it("BEiT at another grid: HF's tables resized as transformers does (said on stderr); timm's refused, naming why", () => {
    const hf = vitlens("predict", "--model", fixture("family-hf-beit"), "--image-size", "24x20", cat);
    assert.equal(hf.status, 0, hf.stderr);
    assert.match(hf.stderr, /relative position tables resized \(bilinear, as transformers' BEiT does\) from a 4x4 to a 6x5 patch grid/);
    const timm = vitlens("predict", "--model", fixture("family-timm-beit"), "--image-size", "24x24", cat);
    assert.equal(timm.status, 1);
    assert.match(timm.stderr, /^vitlens: error: a 24x24 input needs BEiT's relative position table resized from a 4x4 to a 6x6 grid; .*not as timm's checkpoint filter does .*: run at 16x16\n$/);
  });

  it("an nn.TransformerEncoder ViT: what its state dict cannot say is asked for by flag, never guessed", () => {
    const bare = vitlens("predict", "--model", fixture("family-te-post.pth"), "--heads", "3", cat);
    assert.equal(bare.status, 1);
    assert.match(bare.stderr, /does not record where its norms sit .*, its activation .*, how its head pools .*; pass --norm --activation --pool/);
    const ok = vitlens("predict", "--model", fixture("family-te-post.pth"), "--heads", "3", "--norm", "post", "--activation", "gelu", "--pool", "cls", "--json", cat);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout.split("\n")[0]).logits.length, 3);
    const heads = vitlens("predict", "--model", fixture("family-vitpytorch-current-cls.pth"), cat);
    assert.match(heads.stderr, /a vit-pytorch state dict does not record its attention heads; pass --heads N/);
  });

  it("--keymap: a ViT under names no family uses, mapped by a small JSON, computes what the original does", () => {
    const { tensors } = readSafetensors(fixture("family-timm-ls", "model.safetensors"));
    const renamed = new Map([...tensors].map(([k, t]) => [k.replace(/^blocks\./, "trunk.layer").replace(/^patch_embed\.proj/, "stem").replace(/^cls_token$/, "tokens.cls").replace(/^pos_embed$/, "tokens.pos"), t]));
    const file = join(tmp, "renamed.safetensors");
    writeSafetensors(file, renamed);
    const map = join(tmp, "keymap.json");
    writeFileSync(map, JSON.stringify({
      keys: {
        "stem\\.(weight|bias)": "patch_embed.proj.$1", "tokens\\.cls": "cls_token", "tokens\\.pos": "pos_embed",
        "trunk\\.layer(\\d+)\\.(.*)": "blocks.$1.$2", "(norm|head)\\.(weight|bias)": "$1.$2",
      },
      architecture: { heads: 3, lnEps: 1e-6, imageSize: 16 },
    }));
    const original = loadModel(fixture("family-timm-ls"));
    const mapped = loadModel(file, { keymap: map });
    assert.equal(mapped.family, `--keymap ${map}`);
    const px = { data: Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.cos(i)), shape: [1, 3, 16, 16] };
    assert.equal(maxAbsDiff(mapped.model.forward(px, jsBackend).logits!.data, original.model.forward(px, jsBackend).logits!.data), 0);
    assert.ok(mapped.notes.some((n) => /names no part of the architecture: assumed pre-norm blocks, GELU, cls pooling \(its "architecture"/.test(n)), mapped.notes.join("; "));
    // a flattened patch projection whose rows are not square patches of the channels is refused, not reshaped
    const flat = new Map(renamed);
    flat.set("stem.weight", { data: new Float32Array(24 * 50), shape: [24, 50] });
    writeSafetensors(join(tmp, "flat.safetensors"), flat);
    assert.throws(() => loadModel(join(tmp, "flat.safetensors"), { keymap: map }), /patch projection stem\.weight has shape \(24, 50\): not 3-channel square patches/);
    const bad = join(tmp, "bad-keymap.json");
    writeFileSync(bad, JSON.stringify({ keys: { "stem(": "patch_embed.proj.weight" } }));
    assert.throws(() => loadModel(file, { keymap: bad }), /--keymap .*bad-keymap\.json: key "stem\(" is not a valid regular expression/);
    writeFileSync(bad, JSON.stringify({ keys: {}, architecture: { norm: "sideways" } }));
    assert.throws(() => loadModel(file, { keymap: bad }), /--keymap .*: architecture\.norm: /);
    assert.throws(() => loadModel(file, { keymap: map.replace("keymap", "nokeymap") }), /nokeymap\.json/);
    // timm's conventions hold with or without its config.json: antialiased position resampling
    const withConfig = loadModel(fixture("family-timm-ls"), { imageSize: [24, 24] });
    const bare = loadModel(fixture("family-timm-ls", "model.safetensors"), { imageSize: [24, 24] });
    assert.ok(bare.notes.some((n) => n.includes("(bicubic, antialiased)")), bare.notes.join("; "));
    assert.equal(maxAbsDiff(bare.model.params.get("pos_embed")!.data, withConfig.model.params.get("pos_embed")!.data), 0);
    // pretrained_cfg.interpolation: each mode vitlens has is used; another is refused unless --interpolation chooses
    const interp = join(tmp, "timm-interp");
    spawnSync("cp", ["-r", fixture("family-timm-ls"), interp]);
    const cfgJson = JSON.parse(readFileSync(join(interp, "config.json"), "utf8"));
    for (const [mode, expected] of [["nearest", "nearest"], ["lanczos", "lanczos"], ["box", null]] as const) {
      writeFileSync(join(interp, "config.json"), JSON.stringify({ ...cfgJson, pretrained_cfg: { ...cfgJson.pretrained_cfg, interpolation: mode } }));
      if (expected) assert.equal(loadModel(interp).preprocess.resample, expected);
      else {
        assert.throws(() => loadModel(interp), /pretrained_cfg\.interpolation "box" is not one vitlens resamples with \(nearest, lanczos, bilinear, bicubic\); pass --interpolation/);
        assert.equal(loadModel(interp, { interpolation: "bilinear" }).preprocess.resample, "bilinear");
      }
    }
    // flags are applied to every source, presets and Google's .npz included; --keymap only where there are names to map
    const preset = loadModel("vit-ti16", { mean: [0.1, 0.2, 0.3], pool: "avg", interpolation: "bicubic", shapesOnly: true });
    assert.deepEqual([preset.preprocess.mean, preset.model.config.pool, preset.preprocess.resample], [[0.1, 0.2, 0.3], "avg", "bicubic"]);
    const npz = loadModel(fixture("timm-tiny.google.npz"), { std: [0.2, 0.2, 0.2], lnEps: 1e-5 });
    assert.deepEqual([npz.preprocess.std, npz.model.config.layerNormEps], [[0.2, 0.2, 0.2], 1e-5]);
    assert.throws(() => loadModel("vit-ti16", { keymap: map }), /--keymap .*: preset vit-ti16 has no state-dict names to map/);
    const keys = vitlens("inspect", "--model", fixture("family-timm-ls"), "--keys");
    assert.match(keys.stdout, /^blocks\.0\.ls1\.gamma +\(24\)$/m);
  });

  it("families vitlens does not compute are refused by name, from the config or the keys", () => {
    const eva = join(tmp, "eva");
    spawnSync("cp", ["-r", fixture("family-hf-deit"), eva]);
    writeFileSync(join(eva, "config.json"), JSON.stringify({ model_type: "eva" }));
    assert.match(vitlens("predict", "--model", eva, cat).stderr, /model_type "eva": EVA-02 \(rotary embeddings, SwiGLU\) is not supported/);
    const rope = join(tmp, "rope.safetensors");
    writeSafetensors(rope, new Map([["blocks.0.attn.rope.freqs", { data: new Float32Array(4), shape: [4] }], ["patch_embed.weight", { data: new Float32Array(4), shape: [4] }]]));
    assert.match(vitlens("predict", "--model", rope, cat).stderr, /EVA-02 \(rotary embeddings, SwiGLU\) is not supported \(key "blocks\.0\.attn\.rope\.freqs"\)/);
    // a timm-layout file: its key rules refuse with the same words
    const timmRope = join(tmp, "timm-rope.safetensors");
    writeSafetensors(timmRope, new Map([["patch_embed.proj.weight", { data: new Float32Array(4), shape: [1, 1, 2, 2] }], ["blocks.0.attn.rope.freqs", { data: new Float32Array(4), shape: [4] }]]));
    assert.match(vitlens("predict", "--model", timmRope, cat).stderr, /"blocks\.0\.attn\.rope\.freqs": EVA-02 \(rotary embeddings, SwiGLU\) is not supported/);
  });
});
