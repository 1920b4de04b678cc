// ViT + GPT-2 VisionEncoderDecoder vs a hand-written transformers 4.36 reference
// (scripts/reference/vit_gpt2.py): loading (safetensors and pytorch_model.bin), teacher-forced
// logits and cross-attentions, greedy and beam-search ids and texts, the byte-level BPE tokenizer.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decoderForward } from "../src/caption/decoder.js";
import { loadHfCaptioner, type HfCaptioner } from "../src/caption/hf-captioner.js";
import { hfGenerate } from "../src/caption/hf-generate.js";
import type { GenerationSettings } from "../src/caption/generation-config.js";
import { loadImage } from "../src/data/preprocess.js";
import { hfTeacherForcing } from "../src/caption/hf-teacher-forcing.js";
import { captionerStep } from "../src/caption/train-step.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { toVisionEncoderDecoder } from "../src/checkpoint/keymap-gpt2.js";
import { Optimizer } from "../src/train/optimizer.js";
import { Rng } from "../src/random.js";
import { backends, expected, fixture, maxAbsDiff } from "./helpers.js";

const ref = expected("vit-gpt2.expected.safetensors");
const meta = JSON.parse(readFileSync(fixture("vit-gpt2.expected.json"), "utf8")) as {
  images: string[];
  generate: Record<string, { settings: Record<string, unknown>; ids: number[]; score: number | null; text: string }>;
  tokenizer: Array<{ text: string; ids: number[]; decoded: string; decoded_clean: string }>;
  adamw: { loss: number };
};
const FOLDERS = { tiny: "vit-gpt2-tiny", bin: "vit-gpt2-tiny-bin" } as const;

async function pixels(cap: HfCaptioner, names: string[]) {
  const imgs = await Promise.all(names.map((n) => loadImage(fixture(n), cap.preprocess)));
  const [C, H, W] = imgs[0].shape;
  const data = new Float32Array(imgs.length * C * H * W);
  imgs.forEach((im, i) => data.set(im.data, i * C * H * W));
  return { data, shape: [imgs.length, C, H, W] };
}

/** The reference's settings (HF names) over the folder's generation settings. */
function settingsFor(cap: HfCaptioner, s: Record<string, unknown>): GenerationSettings {
  return {
    ...cap.generation,
    ...(s.num_beams !== undefined ? { numBeams: s.num_beams as number } : {}),
    ...(s.max_length !== undefined ? { maxLength: s.max_length as number } : {}),
    ...(s.early_stopping !== undefined ? { earlyStopping: s.early_stopping as boolean | "never" } : {}),
    ...(s.length_penalty !== undefined ? { lengthPenalty: s.length_penalty as number } : {}),
    ...(s.no_repeat_ngram_size !== undefined ? { noRepeatNgramSize: s.no_repeat_ngram_size as number } : {}),
    ...(s.repetition_penalty !== undefined ? { repetitionPenalty: s.repetition_penalty as number } : {}),
    ...(s.min_length !== undefined ? { minLength: s.min_length as number } : {}),
  };
}

for (const be of backends()) {
  describe(`ViT + GPT-2 captioner parity with transformers 4.36 semantics (${be.name})`, () => {
    for (const [tag, folder] of Object.entries(FOLDERS)) {
      it(`${folder}: teacher-forced logits <= 1e-4, cross-attentions <= 1e-5`, async () => {
        const cap = loadHfCaptioner(fixture(folder));
        const inputs = ref.get("tf.inputs")!;
        const [B, T] = inputs.shape;
        const enc = cap.encoder.encode(await pixels(cap, meta.images.slice(0, B)), be).tokens;
        const out = decoderForward(be, cap.decoderConfig, cap.decoderParams, Int32Array.from(inputs.data), B, T, enc);
        const d = maxAbsDiff(out.logits.data, ref.get(`${tag}.logits`)!.data);
        assert.ok(d <= 1e-4, `logits differ by ${d}`);
        out.crossAttentions.forEach((a, l) => {
          assert.deepEqual(a.shape, ref.get(`${tag}.cross.${l}`)!.shape);
          const dc = maxAbsDiff(a.data, ref.get(`${tag}.cross.${l}`)!.data);
          assert.ok(dc <= 1e-5, `layer ${l} cross-attention differs by ${dc}`);
        });
      });

      it(`${folder}: greedy and beam-search ids, scores and decoded texts equal the reference`, async () => {
        const cap = loadHfCaptioner(fixture(folder));
        const enc = cap.encoder.encode(await pixels(cap, meta.images), be).tokens;
        const [, N, E] = enc.shape;
        let checked = 0;
        for (const [key, want] of Object.entries(meta.generate)) {
          const [t, , image] = key.split("/");
          if (t !== tag) continue;
          const i = meta.images.indexOf(`vit-gpt2-${image}.png`);
          const gen = hfGenerate(cap, enc.data.subarray(i * N * E, (i + 1) * N * E), N, settingsFor(cap, want.settings), be);
          assert.deepEqual(gen.ids, want.ids, key);
          assert.equal(cap.tokenizer.decode(gen.ids), want.text, key);
          if (want.score !== null) assert.ok(Math.abs(gen.score - want.score) <= 1e-4, `${key}: score ${gen.score} vs ${want.score}`);
          const generated = gen.ids.slice(1).filter((id) => id !== cap.generation.eosTokenId).length;
          assert.equal(gen.maps.length, generated, `${key}: one map per generated piece`);
          checked++;
        }
        assert.equal(checked, 24);
      });
    }
  });
}

describe("GPT-2 byte-level BPE tokenizer (@huggingface/tokenizers)", () => {
  for (const folder of Object.values(FOLDERS)) {
    it(`${folder}: ids of the reference encoder, exact round trip, HF decode with and without clean-up`, () => {
      const tok = loadHfCaptioner(fixture(folder)).tokenizer;
      for (const c of meta.tokenizer) {
        const ids = tok.encode(c.text);
        assert.deepEqual(ids, c.ids, c.text);
        assert.equal(tok.decode(ids, { cleanUp: false }), c.text, "round trip");
        assert.equal(tok.decode(ids, { cleanUp: false }), c.decoded);
        assert.equal(tok.decode([...ids, 296]), c.decoded_clean, "skip_special_tokens + clean_up_tokenization_spaces");
      }
    });
  }
});

describe("fine-tuning a ViT + GPT-2 captioner: one AdamW step against PyTorch", () => {
  for (const be of backends()) {
    it(`(${be.name}) loss, and parameters after the step (<= 1e-5 relative), written back under HF names`, async () => {
      const cap = loadHfCaptioner(fixture("vit-gpt2-tiny"));
      const captions = ["A cat lying on a red blanket.", "Two cups of coffee on a table."].map((c) => cap.tokenizer.encode(c));
      const eos = cap.generation.eosTokenId!;
      const { ids, targets, T } = hfTeacherForcing(captions, { start: cap.startToken, eos, pad: cap.generation.padTokenId!, maxPieces: 30 });
      assert.deepEqual(Array.from(ids), Array.from(ref.get("tf.inputs")!.data), "decoder inputs as HF shifts the labels");
      const px = await pixels(cap, meta.images.slice(0, 2));
      const step = captionerStep(cap, px, ids, targets, T, be, new Rng(0), true);
      assert.ok(Math.abs(step.loss - meta.adamw.loss) <= 1e-5, `loss ${step.loss} vs ${meta.adamw.loss}`);
      const params = cap.allParams();
      new Optimizer({ kind: "adamw", beta1: 0.9, beta2: 0.999, eps: 1e-8 }, [{ names: [...params.keys()], lrScale: 1, weightDecay: 0.01 }])
        .update(params, step.grads, 1e-3, be);
      const hf = cap.hfState();
      const grads = (prefix: boolean) => new Map([...step.grads].filter(([k]) => k.startsWith("encoder.") === prefix).map(([k, t]) => [prefix ? k.slice(8) : k, t]));
      const hfGrads = toVisionEncoderDecoder(grads(true), grads(false), true);
      let checked = 0;
      for (const [key, want] of ref) {
        if (!key.startsWith("adamw.")) continue;
        const name = key.slice("adamw.".length);
        const got = hf.get(name)!;
        assert.deepEqual(got.shape, want.shape, name);
        // Adam's first step is lr * g / (|g| + eps): where a gradient is rounding noise (|g| < 1e-6,
        // e.g. a key direction softmax ignores), the step's size is decided by that noise. Those
        // elements are held to lr / 10 absolute, every other one to 1e-5 relative.
        const g = hfGrads.get(name)!.data;
        const scale = want.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (let i = 0; i < got.data.length; i++) {
          const d = Math.abs(got.data[i] - want.data[i]);
          assert.ok(Math.abs(g[i]) < 1e-6 ? d <= 1e-4 : d <= 1e-5 * scale, `${name}[${i}]: ${got.data[i]} vs ${want.data[i]} (gradient ${g[i]})`);
        }
        checked++;
      }
      assert.equal(checked, 6);
      assert.ok(!hf.has("decoder.lm_head.weight"), "the tied lm_head is left out, as transformers saves it");
    });
  }

  it("save() writes the HF layout back: the same tensors as the source file, loadable again", () => {
    const cap = loadHfCaptioner(fixture("vit-gpt2-tiny"));
    const out = mkdtempSync(join(tmpdir(), "vitlens-vitgpt2-save-"));
    cap.save(out);
    const source = readSafetensors(fixture("vit-gpt2-tiny", "model.safetensors")).tensors;
    const written = readSafetensors(join(out, "model.safetensors")).tensors;
    assert.deepEqual([...written.keys()].sort(), [...source.keys()].sort());
    for (const [k, t] of written) assert.equal(maxAbsDiff(t.data, source.get(k)!.data), 0, k);
    assert.equal(loadHfCaptioner(out).tokenizer.decode([296, 32, 260, 279]), "A cat");
  });
});

