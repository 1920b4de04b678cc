// BLIP captioners against transformers itself (scripts/reference/blip.py: tiny models written by
// transformers 5.18's save_pretrained with a BlipProcessor; a .bin with a legacy vocab.txt
// tokenizer and preprocessor_config.json; an untied LM head with a generation_config.json):
// pixels, the vision tower's tokens, greedy and beam-3 ids with and without a prompt, beam scores,
// the decoded captions, and every layer's cross-attention and logits of a teacher-forced pass.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BlipCaptioner, loadBlipCaptioner } from "../src/caption/blip-captioner.js";
import { decoderForward } from "../src/caption/decoder.js";
import { hfGenerate } from "../src/caption/hf-generate.js";
import { HF_DEFAULTS } from "../src/caption/generation-config.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { loadImage } from "../src/data/preprocess.js";
import type { Tensor } from "../src/tensor.js";
import { backends, fixture, maxAbsDiff, root } from "./helpers.js";

const PHOTOS = ["cat.jpg", "coffee.jpg"];
const PROMPT = "a picture of";

function reference(name: string) {
  const { tensors, metadata } = readSafetensors(fixture(`${name}.expected.safetensors`));
  const gen = JSON.parse(metadata!.generate) as Record<string, { ids: number[]; text: string }>;
  const row = (t: Tensor, i: number): Tensor => ({ data: t.data.subarray(i * (t.data.length / t.shape[0]), (i + 1) * (t.data.length / t.shape[0])), shape: t.shape.slice(1) });
  return { tensors, gen, row };
}

/** vitlens' ids for a mode of the reference (max_new_tokens 12 unless the generation config's). */
function generate(cap: BlipCaptioner, encoded: Tensor, mode: string, be: ReturnType<typeof backends>[number]) {
  const prompt = mode.endsWith("prompt") ? cap.promptIds(PROMPT) : [];
  // genconfig: the folder's generation_config.json (max_length, min_length, beams, penalties); the
  // other modes are generate(max_new_tokens=12[, num_beams=3]), which reads none of it
  const ids = { bosTokenId: cap.generation.bosTokenId, eosTokenId: cap.generation.eosTokenId, padTokenId: cap.generation.padTokenId };
  const g = mode.startsWith("genconfig") ? { ...cap.generation } : { ...HF_DEFAULTS, ...ids };
  if (mode.startsWith("genconfig")) g.maxLength = cap.maxLength(prompt.length);
  else {
    g.numBeams = mode.startsWith("beam3") ? 3 : 1;
    g.maxLength = cap.maxLength(prompt.length, 12);
  }
  return hfGenerate(cap, encoded.data, encoded.shape[1], g, be, prompt);
}

const CASES: Array<[string, string[]]> = [
  ["blip-tiny", ["greedy", "greedy-prompt", "beam3", "beam3-prompt"]],
  ["blip-tiny-bin", ["greedy", "greedy-prompt", "beam3", "beam3-prompt"]],
  ["blip-tiny-untied", ["greedy", "greedy-prompt", "beam3", "beam3-prompt", "genconfig", "genconfig-prompt"]],
];

for (const be of backends()) {
  describe(`BLIP as transformers computes it (${be.name} backend)`, () => {
    for (const [name, modes] of CASES) {
      it(`${name}: pixels, image tokens, ${modes.join(", ")} ids and captions, beam scores, cross-attention and logits`, async () => {
        const cap = loadBlipCaptioner(fixture(name));
        const ref = reference(name);
        const pixels = ref.tensors.get("pixel_values")!;
        for (let i = 0; i < PHOTOS.length; i++) {
          const img = await loadImage(join(root, "samples", PHOTOS[i]), cap.preprocess);
          assert.ok(maxAbsDiff(img.data, ref.row(pixels, i).data) <= 1e-5, `${PHOTOS[i]}: pixels`);
          const encoded = cap.encoder.encode({ data: img.data, shape: [1, ...img.shape] }, be).tokens;
          const want = ref.row(ref.tensors.get("vision.last_hidden_state")!, i);
          assert.ok(maxAbsDiff(encoded.data, want.data) <= 1e-4, `${PHOTOS[i]}: image tokens differ by ${maxAbsDiff(encoded.data, want.data)}`);
          for (const mode of modes) {
            const expected = ref.gen[`gen.${i}.${mode}`];
            const got = generate(cap, encoded, mode, be);
            assert.deepEqual(got.ids, expected.ids, `${PHOTOS[i]} ${mode}`);
            assert.equal(cap.tokenizer.decode(got.ids), expected.text, `${PHOTOS[i]} ${mode}: caption`);
            const scores = ref.tensors.get(`gen.${i}.${mode}.sequences_scores`);
            if (scores) assert.ok(Math.abs(got.score - scores.data[0]) <= 1e-4, `${PHOTOS[i]} ${mode}: score ${got.score} vs ${scores.data[0]}`);
            assert.equal(got.maps.length, got.ids.length - 1 - (got.ids[got.ids.length - 1] === cap.generation.eosTokenId ? 1 : 0), "a map per token after [DEC]");
          }
          for (const tf of ["tf", "tf-prompt"]) {
            const ids = ref.tensors.get(`${tf}.${i}.input_ids`);
            if (!ids) continue;
            const T = ids.shape[1];
            const fwd = decoderForward(be, cap.decoderConfig, cap.decoderParams, Int32Array.from(ids.data), 1, T, encoded);
            assert.ok(maxAbsDiff(fwd.logits.data, ref.tensors.get(`${tf}.${i}.logits`)!.data) <= 1e-4, `${tf} ${i}: logits`);
            fwd.crossAttentions.forEach((a, l) => {
              const d = maxAbsDiff(a.data, ref.tensors.get(`${tf}.${i}.cross.${l}`)!.data);
              assert.ok(d <= 1e-5, `${tf} ${i}: layer ${l} cross-attention differs by ${d}`);
            });
          }
        }
      });
    }
  });
}

describe("a saved BLIP loads again", () => {
  it("save() copies every side file loading reads (added_tokens.json with [DEC] for a vocab.txt tokenizer): the same model comes back", () => {
    for (const name of ["blip-tiny", "blip-tiny-bin"]) {
      const cap = loadBlipCaptioner(fixture(name));
      const dir = join(mkdtempSync(join(tmpdir(), "vitlens-blip-save-")), name);
      cap.save(dir);
      const again = loadBlipCaptioner(dir);
      assert.equal(again.tokenizer.size, cap.tokenizer.size, name);
      assert.deepEqual([again.startToken, again.generation.eosTokenId], [cap.startToken, cap.generation.eosTokenId], name);
      for (const [k, t] of cap.allParams()) assert.deepEqual(again.allParams().get(k)!.data, t.data, `${name}: ${k}`);
    }
  });

  it("a tokenizer of another size than the decoder's vocabulary is refused; one without a folder (a preset) refuses to save", () => {
    const cap = loadBlipCaptioner(fixture("blip-tiny"));
    const { encoder, decoderConfig, decoderParams, tokenizer, preprocess, generation } = cap;
    const wider = { ...decoderConfig, vocabSize: decoderConfig.vocabSize + 1 };
    assert.throws(() => new BlipCaptioner(encoder, wider, decoderParams, tokenizer, preprocess, generation, fixture("blip-tiny"), false),
      new RegExp(`blip-tiny: the tokenizer has ${tokenizer.size} tokens but the decoder's vocab_size is ${tokenizer.size + 1}: the tokenizer does not belong to this model`));
    const preset = new BlipCaptioner(encoder, decoderConfig, decoderParams, tokenizer, preprocess, generation, null, false);
    const dir = join(mkdtempSync(join(tmpdir(), "vitlens-blip-preset-")), "out");
    assert.throws(() => preset.save(dir), /out: this captioner is a preset, not read from a folder: it has no tokenizer files to write beside it/);
  });

  it("an image processor whose size the vision model cannot take is refused, not resized over", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "vitlens-blip-size-")), "blip");
    cpSync(fixture("blip-tiny"), dir, { recursive: true });
    const proc = JSON.parse(readFileSync(join(dir, "processor_config.json"), "utf8"));
    proc.image_processor.size = { height: 48, width: 48 };
    writeFileSync(join(dir, "processor_config.json"), JSON.stringify(proc));
    assert.throws(() => loadBlipCaptioner(dir), /the image processor makes 48x48 images, the vision model takes 32x32 \(vision_config\.image_size\)/);
  });
});
