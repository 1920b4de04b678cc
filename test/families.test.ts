// ViT families beyond the plain ViT: fixtures written by the libraries themselves
// (scripts/reference/timm_activations.py: timm's own save_for_hf and forward).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadModel } from "../src/checkpoint/load.js";
import { elementwiseBackward, elementwiseForward } from "../src/nn/activation.js";
import { backends, expected, fixture, maxAbsDiff, root } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-families-"));
const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", cwd: root });
const ACTS = ["quick_gelu", "silu", "gelu_tanh", "relu"] as const;

for (const be of backends()) {
  describe(`timm act_layer, as timm computes it (${be.name} backend)`, () => {
    for (const act of ACTS) {
      it(`${act}: logits and every layer's attention equal timm's; label_names at the top level name the classes`, () => {
        const { model, labels } = loadModel(fixture(`timm-act-${act}`));
        assert.equal(model.config.activation, act);
        assert.deepEqual(labels, ["cat", "dog", "bird"]);
        const ref = expected(`timm-act-${act}.expected.safetensors`);
        const out = model.forward(ref.get("pixels")!, be);
        const d = maxAbsDiff(out.logits!.data, ref.get("logits")!.data);
        assert.ok(d <= 1e-5, `logits differ by ${d}`);
        // the regression: run as GELU (what vitlens did before), these logits are off by more than the tolerance
        assert.ok(maxAbsDiff(ref.get("logits_if_gelu")!.data, ref.get("logits")!.data) > 1e-4);
        out.attentions.forEach((a, l) => assert.ok(maxAbsDiff(a.data, ref.get(`attention.${l}`)!.data) <= 1e-5, `layer ${l}`));
      });
    }
    it("HF ViT with hidden_act silu (transformers' save_pretrained)", () => {
      const { model } = loadModel(fixture("hf-act-silu"));
      assert.equal(model.config.activation, "silu");
      const ref = expected("hf-act-silu.expected.safetensors");
      const out = model.forward(ref.get("pixels")!, be);
      assert.ok(maxAbsDiff(out.logits!.data, ref.get("logits")!.data) <= 1e-5);
      out.attentions.forEach((a, l) => assert.ok(maxAbsDiff(a.data, ref.get(`attention.${l}`)!.data) <= 1e-5, `layer ${l}`));
    });
  });
}

describe("activations", () => {
  it("backward by finite differences", () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => (i - 31.5) / 8 + 0.013);
    for (const act of ["quick_gelu", "silu", "relu"] as const) {
      const dy = Float32Array.from(x, (_, i) => Math.cos(i));
      const dx = new Float32Array(x.length);
      elementwiseBackward(act, dy, x, dx, x.length);
      const f = (v: number) => {
        const out = new Float32Array(1);
        elementwiseForward(act, Float32Array.of(v), out, 1);
        return out[0];
      };
      const h = 1e-3;
      for (let i = 0; i < x.length; i++) {
        const numeric = dy[i] * ((f(x[i] + h) - f(x[i] - h)) / (2 * h));
        assert.ok(Math.abs(numeric - dx[i]) < 2e-3, `${act} at ${x[i]}: ${dx[i]} vs ${numeric}`);
      }
    }
  });

  it("inspect prints the family's activation module; an activation vitlens lacks is refused by name", () => {
    assert.match(vitlens("inspect", "--model", fixture("timm-act-quick_gelu")).stdout, /\(act\): QuickGELU\(\)/);
    assert.match(vitlens("inspect", "--model", fixture("timm-act-silu"), "--layout", "hf").stdout, /\(intermediate_act_fn\): SiLU\(\)/);
    const bad = join(dir, "hard-swish");
    cpSync(fixture("timm-act-silu"), bad, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(bad, "config.json"), "utf8"));
    cfg.model_args.act_layer = "hard_swish";
    writeFileSync(join(bad, "config.json"), JSON.stringify(cfg));
    const r = vitlens("predict", "--model", bad, fixture("timm-tiny-0.png"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /model_args\.act_layer "hard_swish" is not an activation vitlens has \(gelu, gelu_tanh, quick_gelu, silu, relu\)/);
    cfg.model_args.act_layer = "gelu";
    cfg.model_args.global_pool = "map";
    writeFileSync(join(bad, "config.json"), JSON.stringify(cfg));
    assert.match(vitlens("predict", "--model", bad, fixture("timm-tiny-0.png")).stderr, /timm global_pool "map" \(vitlens pools on CLS or averages the patch tokens\): not supported/);
  });

  it("convert keeps the activation: HF hidden_act and timm act_layer round-trip", () => {
    for (const to of ["hf", "timm"]) {
      const out = join(dir, `conv-${to}`);
      const r = vitlens("convert", "--model", fixture("timm-act-quick_gelu"), "--to", to, "--out", out);
      assert.equal(r.status, 0, r.stderr);
      const back = loadModel(out);
      assert.equal(back.model.config.activation, "quick_gelu");
    }
  });
});
