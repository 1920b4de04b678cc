// CATR vs its architecture written out in PyTorch (scripts/reference/catr.py): the checkpoint as
// CATR's training script saves it, the configuration read from its shapes, the transformer on the
// reference's backbone features (memory, sine encoding, logits <= 1e-4, cross-attention <= 1e-5,
// padded batches), greedy ids of CATR's own predict.py loop, and the refusals.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { catrConfigFromState, isCatrStateDict } from "../src/checkpoint/keymap-catr.js";
import { readTorchFile } from "../src/checkpoint/torch-pickle.js";
import { Catr, downsampleMask } from "../src/models/catr.js";
import { CATR_END_TOKEN, CATR_START_TOKEN } from "../src/models/catr-config.js";
import { VitlensError } from "../src/errors.js";
import type { Tensor } from "../src/tensor.js";
import { backends, expected, fixture, maxAbsDiff } from "./helpers.js";
import { CATR_PREPROCESS, CatrCaptioner, loadCatrCaptioner } from "../src/caption/catr-captioner.js";
import { captionImages } from "../src/caption/evaluate.js";
import { WordPieceTokenizer } from "../src/caption/wordpiece-tokenizer.js";
import { loadImage } from "../src/data/preprocess.js";
import type { Backend } from "../src/backend/backend.js";
import { catrGenerate } from "../src/caption/catr-generate.js";

const ref = expected("catr/expected.safetensors");
const get = (k: string): Tensor => {
  const t = ref.get(k);
  if (!t) throw new Error(`fixture has no ${k}`);
  return t;
};
const words = Array.from(get("words").data);
const CHECKPOINTS = { "": "catr/catr-tiny.pth", "postnorm.": "catr/catr-tiny-postnorm.pth" } as const;

function load(file: string, o: { heads?: number } = {}): Catr {
  const { tensors } = readTorchFile(fixture(file));
  return new Catr(catrConfigFromState(tensors, file, o), tensors, null);
}

/** Relative max difference: |a - b|max / |b|max. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]));
  return maxAbsDiff(a, b) / m;
}

describe("CATR checkpoint", () => {
  it("reads CATR's training checkpoint ({model, optimizer, lr_scheduler, epoch}) and its configuration from the shapes", () => {
    const { tensors } = readTorchFile(fixture(CHECKPOINTS[""]));
    assert.ok(isCatrStateDict(tensors.keys()));
    const c = catrConfigFromState(tensors, "f", {});
    assert.deepEqual(c, {
      hiddenSize: 16, numHeads: 8, feedForward: 16, vocabSize: 165, maxPositions: 24, mlpHidden: 16, backboneChannels: 32,
      encoderLayers: 2, decoderLayers: 2, preNorm: true, dilation: true,
    });
    const post = catrConfigFromState(readTorchFile(fixture(CHECKPOINTS["postnorm."])).tensors, "f", { dilation: false });
    assert.equal(post.preNorm, false);
    assert.equal(post.backboneChannels, 8);
  });

  it("refuses a non-CATR .pth, shapes that disagree, a stray key and heads that do not divide the width, in one line each", () => {
    const { tensors } = readTorchFile(fixture(CHECKPOINTS[""]));
    assert.throws(() => catrConfigFromState(readTorchFile(fixture("timm-tiny.pth")).tensors, "timm-tiny.pth"), (e: Error) =>
      e instanceof VitlensError && /timm-tiny\.pth: not a CATR checkpoint \(no backbone\.0\.body, input_proj/.test(e.message));
    const bad = new Map(tensors);
    bad.set("transformer.decoder.layers.1.linear1.weight", { data: new Float32Array(17 * 16), shape: [17, 16] });
    assert.throws(() => catrConfigFromState(bad, "x.pth"), /x\.pth: key transformer\.decoder\.layers\.1\.linear1\.weight has shape \(17, 16\), expected \(16, 16\)/);
    const head = new Map(tensors);
    head.set("mlp.layers.2.weight", { data: new Float32Array(160 * 16), shape: [160, 16] });
    assert.throws(() => catrConfigFromState(head, "x.pth"), /key mlp\.layers\.2\.weight has shape \(160, 16\), expected \(165, 16\)/);
    const stray = new Map(tensors);
    stray.set("transformer.extra", { data: new Float32Array(1), shape: [1] });
    assert.throws(() => catrConfigFromState(stray, "x.pth"), /unexpected key transformer\.extra/);
    assert.throws(() => catrConfigFromState(tensors, "x.pth", { heads: 3 }), /--heads 3: must divide the hidden width 16 of x\.pth/);
    const missing = new Map(tensors);
    missing.delete("transformer.decoder.layers.0.norm3.bias");
    assert.throws(() => catrConfigFromState(missing, "x.pth"), /missing key transformer\.decoder\.layers\.0\.norm3\.bias/);
  });

  it("downsamples a padding mask as F.interpolate's nearest mode", () => {
    // 1 x 5 x 7 mask, padded from column 5 and row 4, onto a 2 x 3 grid: rows 0, 2; columns 0, 2, 4.
    const H = 5;
    const W = 7;
    const m = new Uint8Array(H * W);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[y * W + x] = y >= 4 || x >= 5 ? 1 : 0;
    assert.deepEqual([...downsampleMask(m, 1, H, W, 2, 3)], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...downsampleMask(m, 1, H, W, 5, 3)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    assert.equal(downsampleMask(m, 1, H, W, 2, 7)[5], 1);
  });
});

for (const be of backends()) {
  describe(`CATR transformer parity with PyTorch (${be.name})`, () => {
    for (const [tag, file] of Object.entries(CHECKPOINTS)) {
      it(`${file}: sine encoding, memory, teacher-forced logits <= 1e-4 and cross-attention <= 1e-5 through the KV cache`, () => {
        const catr = load(file);
        for (const i of [0, 1]) {
          const f = get(`${tag}features.${i}`); // (C, gh, gw)
          const [, gh, gw] = f.shape;
          const enc = catr.encodeFeatures(f.data, 1, gh, gw, new Uint8Array(gh * gw), be);
          // pos (D, gh, gw) -> token-major (N, D)
          const pos = get(`${tag}pos.${i}`);
          const D = catr.config.hiddenSize;
          const N = gh * gw;
          const posT = new Float32Array(N * D);
          for (let d = 0; d < D; d++) for (let n = 0; n < N; n++) posT[n * D + d] = pos.data[d * N + n];
          assert.ok(maxAbsDiff(enc.pos, posT) < 1e-5, `pos ${maxAbsDiff(enc.pos, posT)}`);
          assert.ok(relDiff(enc.memory, get(`${tag}memory.${i}`).data) < 1e-4, `memory ${relDiff(enc.memory, get(`${tag}memory.${i}`).data)}`);
          const state = catr.decoder(enc, [0], be);
          const logits = get(`${tag}logits.${i}`);
          const V = catr.config.vocabSize;
          words.forEach((w, t) => {
            const step = state.logits([w], t);
            const diff = maxAbsDiff(step.logits, logits.data.subarray(t * V, (t + 1) * V));
            assert.ok(diff < 1e-4, `image ${i} position ${t}: logits differ by ${diff}`);
            if (t >= 3) return;
            step.cross.forEach((probs, l) => {
              const want = get(`${tag}cross.${i}.${l}`); // (H, 3, N)
              const H = catr.config.numHeads;
              for (let h = 0; h < H; h++) {
                const d = maxAbsDiff(probs.subarray(h * N, (h + 1) * N), want.data.subarray((h * 3 + t) * N, (h * 3 + t + 1) * N));
                assert.ok(d < 1e-5, `image ${i} layer ${l} head ${h} position ${t}: cross-attention differs by ${d}`);
              }
            });
          });
        }
      });
    }

    it("rows sharing one padded image (a beam search's) get what each gets alone: logits, maps per row", () => {
      const catr = load(CHECKPOINTS[""]);
      const f = get("batch.features"); // (2, C, gh, gw); image 1 has padding
      const [B, , gh, gw] = f.shape;
      const enc = catr.encodeFeatures(f.data, B, gh, gw, Uint8Array.from(get("batch.mask").data), be);
      const rows = [words, [...words].reverse(), words.map((w, t) => (t % 2 ? w : words[0]))];
      const shared = catr.decoder(enc, rows.map(() => 1), be);
      const alone = rows.map(() => catr.decoder(enc, [1], be));
      const V = catr.config.vocabSize;
      const per = catr.config.numHeads * gh * gw;
      words.forEach((_, t) => {
        const step = shared.logits(rows.map((r) => r[t]), t);
        rows.forEach((r, i) => {
          const one = alone[i].logits([r[t]], t);
          assert.ok(maxAbsDiff(step.logits.subarray(i * V, (i + 1) * V), one.logits) < 1e-5, `row ${i} position ${t}: logits`);
          step.cross.forEach((probs, l) => assert.ok(maxAbsDiff(probs.subarray(i * per, (i + 1) * per), one.cross[l]) < 1e-6, `row ${i} position ${t} layer ${l}: maps`));
        });
      });
    });

    it("a padded batch of two image sizes: grid mask, masked sine encoding, logits and cross-attention (padding gets 0)", () => {
      const catr = load(CHECKPOINTS[""]);
      const f = get("batch.features"); // (2, C, gh, gw)
      const [B, , gh, gw] = f.shape;
      const N = gh * gw;
      const mask = Uint8Array.from(get("batch.mask").data);
      const enc = catr.encodeFeatures(f.data, B, gh, gw, mask, be);
      assert.deepEqual(enc.valid, [[6, 8], [8, 6]]);
      const D = catr.config.hiddenSize;
      const pos = get("batch.pos");
      for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) for (let n = 0; n < N; n++) {
        assert.ok(Math.abs(enc.pos[(b * N + n) * D + d] - pos.data[(b * D + d) * N + n]) < 1e-5);
      }
      const state = catr.decoder(enc, [0, 1], be);
      const V = catr.config.vocabSize;
      const H = catr.config.numHeads;
      const logits = get("batch.logits"); // (2, T, V)
      const T = words.length;
      words.forEach((w, t) => {
        const step = state.logits([w, w], t);
        for (let b = 0; b < B; b++) {
          const d = maxAbsDiff(step.logits.subarray(b * V, (b + 1) * V), logits.data.subarray((b * T + t) * V, (b * T + t + 1) * V));
          assert.ok(d < 1e-4, `image ${b} position ${t}: logits differ by ${d}`);
        }
        if (t >= 3) return;
        step.cross.forEach((probs, l) => {
          const want = get(`batch.cross.${l}`); // (2, H, 3, N)
          for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
            const got = probs.subarray((b * H + h) * N, (b * H + h + 1) * N);
            assert.ok(maxAbsDiff(got, want.data.subarray(((b * H + h) * 3 + t) * N, ((b * H + h) * 3 + t + 1) * N)) < 1e-5);
            for (let n = 0; n < N; n++) if (mask[b * N + n]) assert.equal(got[n], 0);
          }
        });
      });
    });

    it("greedy ids of CATR's predict.py loop (whole model per token) equal the cached decoder's: to [SEP], and to the position cap", () => {
      for (const [tag, file] of Object.entries(CHECKPOINTS)) {
        const catr = load(file);
        for (const i of [0, 1]) {
          const f = get(`${tag}features.${i}`);
          const [, gh, gw] = f.shape;
          const enc = catr.encodeFeatures(f.data, 1, gh, gw, new Uint8Array(gh * gw), be);
          const state = catr.decoder(enc, [0], be);
          const ids: number[] = [];
          let last = CATR_START_TOKEN;
          for (let t = 0; t < catr.config.maxPositions - 1; t++) {
            const { logits } = state.logits([last], t);
            let best = 0;
            for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
            if (best === CATR_END_TOKEN) break;
            ids.push(best);
            last = best;
          }
          assert.deepEqual(ids, Array.from(get(`${tag}greedy.${i}`).data), `${file} image ${i}`);
        }
      }
    });
  });
}

/**
 * The fixture's photos have a long side of 128 (crops of PIL's 299 resize): a preprocessing whose
 * long side is 128 leaves them as they are, so the parity tests involve no resize.
 */
const PHOTO_PREPROCESS = { ...CATR_PREPROCESS, resize: { kind: "longer" as const, longest: 128 } };
const tokenizer = () => WordPieceTokenizer.load(fixture("catr/vocab.txt"));

function captioner(file: string, be: Backend, o: { dilation?: boolean } = {}): CatrCaptioner {
  const cap = loadCatrCaptioner(fixture(file), tokenizer(), { backend: be, ...o });
  return new CatrCaptioner(cap.model, cap.tokenizer, PHOTO_PREPROCESS, file);
}

for (const be of backends()) {
  describe(`CATR end to end: ResNet backbone, transformer, greedy captions and maps (${be.name})`, () => {
    it("photos through the pixel path and the backbone: memory <= 1e-4 relative, greedy ids, caption text, words and maps", async () => {
      for (const [tag, file, dilation] of [["", CHECKPOINTS[""], true], ["postnorm.", CHECKPOINTS["postnorm."], false]] as const) {
        const cap = captioner(file, be, { dilation });
        const files = [0, 1].map((i) => fixture(`catr/photo-${i}.png`));
        for (const i of [0, 1]) {
          const img = await loadImage(files[i], cap.preprocess);
          const enc = cap.model.encode([img], be);
          const d = relDiff(enc.memory, get(`${tag}memory.${i}`).data);
          assert.ok(d < 1e-4, `${file} image ${i}: memory differs by ${d} (relative)`);
        }
        const results = await captionImages(cap, files, { layer: "last", head: "mean" }, be);
        results.forEach((r, i) => {
          const ids = Array.from(get(`${tag}greedy.${i}`).data);
          const tok = cap.tokenizer;
          assert.equal(r.caption, r.caption.charAt(0).toUpperCase() + r.caption.slice(1).toLowerCase());
          assert.equal(r.caption.toLowerCase(), tok.decode(ids).toLowerCase());
          assert.deepEqual(r.tokens, ids.map((id) => tok.piece(id)));
          assert.deepEqual(r.words, tok.words(ids).map((w) => w.word));
          const [gh, gw] = r.grid;
          const f = get(`${tag}features.${i}`);
          assert.deepEqual([gh, gw], f.shape.slice(1));
          assert.deepEqual(r.inputSize, i === 0 ? [96, 128] : [128, 96]);
          assert.equal(r.maps.length, r.words.length);
          for (const m of r.maps) {
            assert.equal(m.length, gh * gw);
            assert.ok(Math.abs(m.reduce((a, b) => a + b, 0) - 1) < 1e-4); // a probability over the grid
          }
          // The shared layout: (heads, 1 + gh*gw) per layer, CATR's CLS slot 0.
          for (const perLayer of r.layerMaps) for (const m of perLayer) for (let h = 0; h < r.heads; h++) assert.equal(m[h * (gh * gw + 1)], 0);
        });
      }
    });

    it("--beam 3: transformers 4.36's beam search over CATR's whole-model step gives the same ids and score", async () => {
      const cap = captioner(CHECKPOINTS[""], be);
      for (const i of [0, 1]) {
        const enc = cap.model.encode([await loadImage(fixture(`catr/photo-${i}.png`), cap.preprocess)], be);
        const gen = catrGenerate(cap, enc, 0, { beam: 3 }, be);
        assert.deepEqual(gen.ids, Array.from(get(`beam3.${i}`).data), `image ${i}`);
        assert.ok(Math.abs(gen.score - get(`beam3.score.${i}`).data[0]) < 1e-4, `image ${i}: score ${gen.score}`);
        assert.equal(gen.maps.length, gen.ids.length - 1); // no [SEP]: every generated token has its maps
      }
    });

    it("a batch of two image sizes padded as NestedTensor: the grid mask and logits <= 1e-4", async () => {
      const cap = captioner(CHECKPOINTS[""], be);
      const imgs = await Promise.all([0, 1].map((i) => loadImage(fixture(`catr/photo-${i}.png`), cap.preprocess)));
      const enc = cap.model.encode(imgs, be);
      assert.deepEqual([...(enc.mask ?? [])], Array.from(get("batch.mask").data));
      const state = cap.model.decoder(enc, [0, 1], be);
      const V = cap.model.config.vocabSize;
      const logits = get("batch.logits");
      words.forEach((w, t) => {
        const step = state.logits([w, w], t);
        for (let b = 0; b < 2; b++) {
          const d = maxAbsDiff(step.logits.subarray(b * V, (b + 1) * V), logits.data.subarray((b * words.length + t) * V, (b * words.length + t + 1) * V));
          assert.ok(d < 1e-4, `image ${b} position ${t}: ${d}`);
        }
      });
    });
  });
}
