// The activation plan (nn/activation-plan.ts): which buffers a pass shares between layers, which it
// keeps per layer, which are the residual stream itself, and the bytes the memory checks read from it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lifetimeOf, listPlan, planBuffers, planBytes } from "../src/nn/activation-plan.js";
import { decoderLayerActs } from "../src/nn/decoder-layer.js";
import { encoderBlockActs, type EncoderBlockActs } from "../src/nn/encoder-block.js";
import { Scratch } from "../src/nn/scratch.js";
import { blockActivationBytes } from "../src/models/memory-fit.js";
import { presetConfig } from "../src/models/vit-config.js";

const s = { B: 2, T: 5 };
const sizes = { D: 8, H: 2, M: 16, A: 8 };
const rows = s.B * s.T;

function layers(plan: "kept" | "inference" | "output-only", pool = new Scratch(), stream = new Float32Array(rows * sizes.D)): EncoderBlockActs[] {
  return [0, 1].map((l) => encoderBlockActs(s, sizes, planBuffers(plan, l, pool, stream)));
}

describe("activation plan", () => {
  it("inference: one set of buffers for every layer, the stream updated in place, GELU in place, each layer's probabilities its own", () => {
    const stream = new Float32Array(rows * sizes.D);
    const [a, b] = layers("inference", new Scratch(), stream);
    assert.equal(a.attn.ln.out, b.attn.ln.out);
    assert.equal(a.attn.heads, b.attn.heads);
    assert.equal(a.mlp.hidden, b.mlp.hidden);
    assert.notEqual(a.attn.ln.out, a.mlp.ln.out, "two branches, two norms");
    assert.equal(a.attn.res.out, stream);
    assert.equal(b.mlp.res.out, stream);
    assert.equal(a.mlp.act, a.mlp.hidden, "GELU in place");
    assert.notEqual(a.attn.att.probs, b.attn.att.probs, "returned per layer");
    const [c, d] = layers("output-only");
    assert.equal(c.attn.att.probs, d.attn.att.probs, "nothing returned: shared");
  });

  it("kept: what backward reads per layer, what it never reads shared, and a kept pool gives the same arrays to the next pass", () => {
    const pool = new Scratch();
    const [a, b] = layers("kept", pool);
    for (const [x, y, name] of [[a.attn.ln.out, b.attn.ln.out, "ln"], [a.attn.heads, b.attn.heads, "heads"], [a.attn.att.probs, b.attn.att.probs, "probs"],
      [a.attn.context, b.attn.context, "context"], [a.attn.res.out, b.attn.res.out, "res"], [a.mlp.hidden, b.mlp.hidden, "hidden"]] as const) {
      assert.notEqual(x, y, `${name}: per layer`);
    }
    assert.equal(a.attn.qkv, b.attn.qkv);
    assert.equal(a.attn.att.contextHeads, b.attn.att.contextHeads);
    assert.equal(a.mlp.act, b.mlp.act);
    assert.notEqual(a.mlp.act, a.mlp.hidden, "backward reads fc1's output: GELU writes elsewhere");
    const [again] = layers("kept", pool);
    assert.equal(again.attn.att.probs, a.attn.att.probs);
    assert.equal(again.mlp.res.out, a.mlp.res.out);
  });

  it("a buffer the plan does not list, or an in-place pass without its stream, is an error", () => {
    assert.throws(() => lifetimeOf("kept", "attn.scores"), /no lifetime for buffer attn\.scores/);
    assert.throws(() => encoderBlockActs(s, sizes, planBuffers("inference", 0, new Scratch())), /attn\.res\.out is the stream, but the pass gave no stream/);
  });

  it("lists every buffer with its shape; bytes count per-layer buffers once per layer, shared ones once, the stream never", () => {
    const list = listPlan("kept", (source) => encoderBlockActs(s, sizes, source));
    const { D, H, M, A } = sizes;
    const T = s.T;
    const heads = list.find((b) => b.name === "attn.heads")!;
    assert.deepEqual(heads.shape, [3, s.B, H, T, A / H]);
    assert.equal(heads.lifetime, "layer");
    const perLayer = 2 * (rows * D + 2 * rows) + 3 * rows * A + s.B * H * T * T + rows * A + 2 * rows * D + rows * M; // norms, heads, probs, context, two outputs, hidden
    const shared = 3 * rows * A + rows * A + rows * M; // qkv, context heads, GELU's output
    assert.equal(planBytes(list, 3), 4 * (3 * perLayer + shared));
    const inference = listPlan("inference", (source) => encoderBlockActs(s, sizes, source));
    assert.equal(planBytes(inference, 3), 4 * (3 * s.B * H * T * T + 2 * (rows * D + 2 * rows) + 3 * rows * A + 3 * rows * A + 2 * rows * A + rows * M)); // probs per layer; norms, qkv, heads, context heads, context, hidden once
    // the decoder's layer is planned by the same table (cross-attention's names included)
    const decoder = listPlan("kept", (source) => decoderLayerActs(s, { D, H, M, N: 7 }, source));
    assert.ok(decoder.some((b) => b.name === "cross.qHeads" && b.lifetime === "layer"));
    assert.ok(decoder.some((b) => b.name === "cross.q" && b.lifetime === "shared"));
  });

  it("ViT-B/16 at batch 8: the kept blocks hold about 0.9 GB; inference 179 MB of probabilities and one 68 MB set", () => {
    const b16 = presetConfig("vit-b16", { numClasses: 1000 });
    const kept = blockActivationBytes(b16, 8, "kept");
    assert.ok(kept > 0.85e9 && kept < 0.95e9, `kept ${kept}`);
    const probs = 4 * 8 * 12 * 197 * 197 * 12;
    const inference = blockActivationBytes(b16, 8, "inference");
    assert.ok(inference - probs > 65e6 && inference - probs < 70e6, `inference ${inference}`);
  });
});
