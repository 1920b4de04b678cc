"""BLIP captioners (issue 24), written by transformers itself, with what transformers computes.

Tiny BlipForConditionalGeneration models (vision: ViT hidden 24 or 36, 2 layers, 3 heads; text: BERT
decoder hidden 24, 2 layers, 3 heads, cross-attention in every layer) are built from BlipConfig,
jittered far from transformers' init (its vision init is ~1e-10 for the class and position
embeddings), then trained briefly (AdamW, HF's own loss, decoder input [DEC] caption [SEP]) on four
sample photos so that the greedy captions are words and stop at [SEP]. Each model is written by
`BlipForConditionalGeneration.save_pretrained` with a `BlipProcessor` (a tiny bert-base-uncased-like
WordPiece vocabulary of real English words; [DEC] added as bos, [ENC] as an extra special token, as
BLIP's own code does), and every expected tensor below is computed by the model and processor
reloaded with from_pretrained from the written folder.

test/fixtures/blip-tiny/            vision 24 wide, image 32, patch 8 (4x4 grid + CLS = 17 image tokens);
    tied LM head; model.safetensors, config.json, generation_config.json (what save_pretrained
    writes: bos/eos/pad only), processor_config.json (transformers 5: the image processor nested
    under "image_processor"), tokenizer.json + tokenizer_config.json (no vocab.txt: transformers 5
    writes none)
test/fixtures/blip-tiny-bin/        vision 36 wide (!= the text decoder's 24: cross-attention key/value
    take 36), image 48, patch 16 (3x3 grid + CLS = 10 image tokens); tied LM head;
    pytorch_model.bin = torch.save(model.state_dict()) of the reloaded model, as transformers 4's
    save_pretrained(safe_serialization=False) wrote it (transformers 5 writes only safetensors): every
    key, the tied copies included (cls.predictions.decoder.weight / .bias share storage with
    word_embeddings / cls.predictions.bias); preprocessor_config.json written by
    BlipImageProcessorPil.save_pretrained (the older Hub layout, no processor_config.json);
    tokenizer as transformers 4's slow BertTokenizer wrote it (vocab.txt without [DEC]/[ENC],
    added_tokens.json, special_tokens_map.json, tokenizer_config.json with added_tokens_decoder and
    clean_up_tokenization_spaces true), written here by hand and checked to load in transformers 5
    to the same ids; config.json in the Hub's transformers-4.26 form (every generic and generation
    field in text_config and vision_config, torch_dtype, no generation_config.json), as
    Salesforce/blip-image-captioning-base holds it; transformers 5 loads it to the same model
test/fixtures/blip-tiny-untied/     blip-tiny's architecture with tie_word_embeddings false (top level
    and text_config): model.safetensors then holds text_decoder.cls.predictions.decoder.weight,
    .decoder.bias AND cls.predictions.bias; the forward uses decoder.weight / decoder.bias only
    (cls.predictions.bias is left unused and set apart here so that a loader using it fails);
    generation_config.json with non-default settings (num_beams 3, max_length 12, min_length 6,
    repetition_penalty 1.3, no_repeat_ngram_size 2) which BlipForConditionalGeneration.generate does
    NOT read (it calls text_decoder.generate, whose generation_config comes from text_config): the
    expected file has both what generate() gives and what generate(generation_config=
    model.generation_config) gives

test/fixtures/blip-<variant>.expected.safetensors (float32; ids stored as float32, exact):
    photos: samples/cat.jpg and samples/coffee.jpg (full photos, resized by the processor)
    pixel_values (2, 3, S, S)        BlipImageProcessorPil (backend="pil") from the folder
    pixel_values_fast (2, 3, S, S)   BlipImageProcessor (torchvision) from the folder
    resized (2, S, S, 3)             the PIL resize output (uint8 values as float16), before rescale
    vision.last_hidden_state (2, 1+G*G, Dv)   vision_model(pixel_values) (post_layernorm on every token)
    vision.pooler_output (2, Dv)     post_layernorm applied again to last_hidden_state[:, 0]
    vision.attention.<l> (2, 3, N, N)
    prompt.input_ids (1, P)          processor(text="a picture of").input_ids: [CLS] a picture of [SEP]
    gen.<i>.<mode>.ids (1, L)        model.generate(pixel_values[i:i+1], max_new_tokens=12, ...) for
        i in 0 (cat), 1 (coffee); mode in greedy, greedy-prompt, beam3, beam3-prompt (num_beams=3);
        the -prompt modes pass input_ids = prompt.input_ids (generate swaps [CLS] for [DEC] and drops
        the final [SEP]); untied also: default, default-prompt (generate() with no settings at all:
        greedy, 20 new tokens at most) and genconfig, genconfig-prompt (generation_config=
        model.generation_config)
    gen.<i>.<mode>.sequences_scores (1,)   beam modes: return_dict_in_generate, output_scores
    gen.<i>.greedy.logits (steps, V)       greedy: output_logits (raw logits per generated step)
    tf.<i>.input_ids (1, T)          the greedy ids without their last token (what the decoder reads)
    tf.<i>.logits (T, V)             text_decoder(input_ids, encoder_hidden_states=last_hidden_state)
    tf.<i>.cross.<l> (heads, T, N)   its cross_attentions (output_attentions): row t is the map used to
                                     predict token t+1 of the greedy ids
    tf.<i>.self.<l> (heads, T, T)    its (causal) self-attentions
    tf-prompt.<i>.input_ids / .logits / .cross.<l>   the same on the greedy-prompt ids ([DEC] a picture
                                     of ...): rows 0..2 are the prompt's own positions
    metadata: versions, configs, texts = processor.decode(ids, skip_special_tokens=True) per gen key,
    tokenizer cases (ids of texts; decodes of id lists with and without skip_special_tokens)

Run:  /tmp/venv/bin/python scripts/reference/blip.py test/fixtures
(a venv with torch 2.13.0+cpu, transformers 5.18.0 from the local wheel mirror)
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import torchvision_cpu_shim  # noqa: E402,F401  (before transformers: see the module)
import numpy as np  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers as T  # noqa: E402
from PIL import Image  # noqa: E402

import safetensors_io  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "samples")
VERSIONS = {"transformers": T.__version__, "torch": torch.__version__, "tokenizers": tokenizers.__version__}
PROMPT = "a picture of"
MAX_NEW = 12
EVAL_PHOTOS = ["cat.jpg", "coffee.jpg"]
CAPTIONS = {
    "cat.jpg": ["a cat lying on a red blanket", "a close up of a brown cat looking at the camera"],
    "coffee.jpg": ["a cup of coffee on a white plate", "a cup of coffee with a spoon on a wooden table"],
    "astronaut.jpg": ["an astronaut in a white suit posing with a flag", "a woman in a space suit smiling"],
    "rocket.jpg": ["a rocket launching into the sky with smoke", "a space shuttle taking off at night"],
}

# ---------------------------------------------------------------- vocabulary (bert-base-uncased's layout)
WORDS = """
a an the of on in with at and to is are it its that this there into up off over under by from near next
picture photo image close view top front side camera background
cat cats kitten dog animal lying sitting sleeping looking laying standing smiling posing holding wearing taking
red white black brown orange blue green gray yellow dark
blanket bed couch chair floor table wooden wood plate saucer spoon bowl
cup cups mug coffee tea latte cream milk drink foam
astronaut woman man person people suit space flag helmet shuttle
rocket launching launch pad sky smoke fire clouds night day
two one three some large small big little
""".split()
PIECES = "##s ##ing ##ed ##er ##y ##ly ##es ##n".split()
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def vocabulary():
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = list("abcdefghijklmnopqrstuvwxyz")
    tokens += PUNCT + letters + [w for w in WORDS if w not in letters] + PIECES
    assert len(tokens) == len(set(tokens)), "duplicate token"
    return tokens


VOCAB = vocabulary()


def make_tokenizer():
    tok = T.BertTokenizer(vocab={t: i for i, t in enumerate(VOCAB)}, do_lower_case=True)
    # BLIP's own code (models/blip.py init_tokenizer): bos [DEC], additional special [ENC]
    tok.add_special_tokens({"bos_token": "[DEC]"})
    tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    assert tok.convert_tokens_to_ids("[DEC]") == len(VOCAB) and tok.convert_tokens_to_ids("[ENC]") == len(VOCAB) + 1
    return tok


def write_legacy_tokenizer(folder):
    """The files transformers 4's slow BertTokenizer.save_pretrained wrote (the older Hub layout)."""
    dec, enc = len(VOCAB), len(VOCAB) + 1
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("".join(t + "\n" for t in VOCAB))
    with open(os.path.join(folder, "added_tokens.json"), "w") as f:
        json.dump({"[DEC]": dec, "[ENC]": enc}, f, indent=2)
    special = {"additional_special_tokens": ["[ENC]"], "bos_token": "[DEC]", "cls_token": "[CLS]", "mask_token": "[MASK]",
               "pad_token": "[PAD]", "sep_token": "[SEP]", "unk_token": "[UNK]"}
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2)
    added = {str(VOCAB.index(t)): t for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]}
    added.update({str(dec): "[DEC]", str(enc): "[ENC]"})
    config = {
        "added_tokens_decoder": {i: {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
                                 for i, t in added.items()},
        "additional_special_tokens": ["[ENC]"], "bos_token": "[DEC]", "clean_up_tokenization_spaces": True, "cls_token": "[CLS]",
        "do_basic_tokenize": True, "do_lower_case": True, "mask_token": "[MASK]", "model_max_length": 512, "never_split": None,
        "pad_token": "[PAD]", "processor_class": "BlipProcessor", "sep_token": "[SEP]", "strip_accents": None,
        "tokenize_chinese_chars": True, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]",
    }
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)


LEGACY_COMMON = {  # what transformers 4.26's PretrainedConfig.to_dict wrote into every sub-config (the Hub's BLIP config.json)
    "_name_or_path": "", "add_cross_attention": False, "architectures": None, "bad_words_ids": None, "begin_suppress_tokens": None,
    "chunk_size_feed_forward": 0, "cross_attention_hidden_size": None, "decoder_start_token_id": None, "diversity_penalty": 0.0,
    "do_sample": False, "early_stopping": False, "encoder_no_repeat_ngram_size": 0, "exponential_decay_length_penalty": None,
    "finetuning_task": None, "forced_bos_token_id": None, "forced_eos_token_id": None, "id2label": {"0": "LABEL_0", "1": "LABEL_1"},
    "initializer_factor": 1.0, "is_encoder_decoder": False, "label2id": {"LABEL_0": 0, "LABEL_1": 1}, "length_penalty": 1.0,
    "max_length": 20, "min_length": 0, "no_repeat_ngram_size": 0, "num_beam_groups": 1, "num_beams": 1, "num_return_sequences": 1,
    "output_attentions": False, "output_hidden_states": False, "output_scores": False, "prefix": None, "problem_type": None,
    "pruned_heads": {}, "remove_invalid_values": False, "repetition_penalty": 1.0, "return_dict": True, "return_dict_in_generate": False,
    "suppress_tokens": None, "task_specific_params": None, "temperature": 1.0, "tf_legacy_loss": False, "tie_encoder_decoder": False,
    "tokenizer_class": None, "top_k": 50, "top_p": 1.0, "torch_dtype": None, "torchscript": False, "transformers_version": "4.26.0.dev0",
    "typical_p": 1.0, "use_bfloat16": False,
}


def write_legacy_config(folder, config):
    """config.json as the Hub's Salesforce/blip-image-captioning-* repos hold it (written by transformers 4.26)."""
    c = config.to_dict()
    c.pop("dtype", None)
    c.pop("_name_or_path", None)
    c.update({"_commit_hash": None, "torch_dtype": "float32", "transformers_version": None})
    c["text_config"] = dict(sorted({**LEGACY_COMMON, **c["text_config"]}.items()))
    c["vision_config"] = dict(sorted({**LEGACY_COMMON, "bos_token_id": None, "eos_token_id": None, "pad_token_id": None, "sep_token_id": None,
                                      "is_decoder": False, "dropout": 0.0, "num_channels": 3, **c["vision_config"]}.items()))
    for sub in (c["text_config"], c["vision_config"]):
        sub.pop("dtype", None)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(dict(sorted(c.items())), f, indent=2)


# ---------------------------------------------------------------- models
def blip_config(vision, tie=True):
    tok_len = len(VOCAB) + 2
    text = dict(vocab_size=tok_len, hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=3,
                max_position_embeddings=40, bos_token_id=len(VOCAB), sep_token_id=VOCAB.index("[SEP]"), pad_token_id=0,
                tie_word_embeddings=tie)
    return T.BlipConfig(vision_config=dict(num_hidden_layers=2, num_attention_heads=3, **vision), text_config=text,
                        tie_word_embeddings=tie)


VISION_SMALL = dict(hidden_size=24, intermediate_size=48, image_size=32, patch_size=8)
VISION_WIDE = dict(hidden_size=36, intermediate_size=72, image_size=48, patch_size=16)


def jitter(model, scale=0.2):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("class_embedding", "position_embedding")):
                p.copy_(torch.randn_like(p) * 0.5)  # transformers inits these at std 1e-10
            else:
                p.add_(torch.randn_like(p) * scale)
    return model


def photo(name):
    return Image.open(os.path.join(SAMPLES, name)).convert("RGB")


def train(model, processor, steps=200, lr=3e-3):
    """AdamW on [DEC] caption [SEP] (never the prompt), HF's loss (labels shifted inside)."""
    names = list(CAPTIONS)
    images, texts = [], []
    for n in names:
        for c in CAPTIONS[n]:
            images.append(photo(n))
            texts.append(c)
    enc = processor(images=images, text=texts, padding=True, return_tensors="pt")
    ids = enc["input_ids"].clone()
    ids[:, 0] = model.config.text_config.bos_token_id
    labels = ids.masked_fill(enc["attention_mask"] == 0, -100)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    for step in range(steps):
        loss = model(pixel_values=enc["pixel_values"], input_ids=ids, attention_mask=enc["attention_mask"], labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return loss.item()


def gen_kwargs(mode, prompt_ids):
    kw = {}
    if mode.endswith("-prompt"):
        kw["input_ids"] = prompt_ids.clone()  # generate writes [DEC] into column 0 in place
    base = mode.removesuffix("-prompt")
    if base in ("greedy", "beam3"):
        kw["max_new_tokens"] = MAX_NEW
    if base == "beam3":
        kw["num_beams"] = 3
    return base, kw


def expected(name, folder, modes, extra_meta):
    model = T.BlipForConditionalGeneration.from_pretrained(folder).eval()
    processor = T.AutoProcessor.from_pretrained(folder)  # the default (torchvision) image processor
    assert type(processor) is T.BlipProcessor, type(processor)
    slow = T.AutoImageProcessor.from_pretrained(folder, backend="pil")
    assert type(slow) is T.BlipImageProcessorPil and type(processor.image_processor) is T.BlipImageProcessor, (type(slow), type(processor.image_processor))
    photos = [photo(n) for n in EVAL_PHOTOS]
    pv = slow(photos, return_tensors="pt")["pixel_values"]
    pv_fast = processor(images=photos, return_tensors="pt")["pixel_values"]
    resized = torch.stack([torch.from_numpy(np.asarray(slow.resize(slow.process_image(p), size=slow.size, resample=slow.resample)).astype(np.float16))
                           for p in photos])
    if resized.shape[1] == 3:  # the PIL backend works channels-first
        resized = resized.permute(0, 2, 3, 1)
    prompt_ids = processor(text=PROMPT, return_tensors="pt")["input_ids"]
    t = {"pixel_values": pv, "pixel_values_fast": pv_fast, "resized": resized, "prompt.input_ids": prompt_ids.float()}
    meta = {**VERSIONS, **extra_meta, "photos": EVAL_PHOTOS, "prompt": PROMPT, "max_new_tokens": MAX_NEW,
            "config": {k: v for k, v in model.config.to_dict().items() if k != "_name_or_path"}, "max_abs_slow_minus_fast": (pv - pv_fast).abs().max().item()}
    with torch.no_grad():
        v = model.vision_model(pixel_values=pv, output_attentions=True)
        t["vision.last_hidden_state"] = v.last_hidden_state
        t["vision.pooler_output"] = v.pooler_output
        for l, a in enumerate(v.attentions):
            t[f"vision.attention.{l}"] = a
        texts = {}
        for i in range(len(EVAL_PHOTOS)):
            x = pv[i:i + 1]
            for mode in modes:
                base, kw = gen_kwargs(mode, prompt_ids)
                if base == "genconfig":
                    kw["generation_config"] = model.generation_config
                r = model.generate(pixel_values=x, return_dict_in_generate=True, output_scores=True, output_logits=True, **kw)
                ids = r.sequences
                t[f"gen.{i}.{mode}.ids"] = ids.float()
                if getattr(r, "sequences_scores", None) is not None:
                    t[f"gen.{i}.{mode}.sequences_scores"] = r.sequences_scores
                if mode == "greedy":
                    t[f"gen.{i}.greedy.logits"] = torch.cat(r.logits, 0)
                plain = model.generate(pixel_values=x, **gen_kwargs(mode, prompt_ids)[1],
                                       **({"generation_config": model.generation_config} if base == "genconfig" else {}))
                assert torch.equal(plain, ids), (mode, plain, ids)
                texts[f"gen.{i}.{mode}"] = {"ids": ids[0].tolist(), "text": processor.decode(ids[0], skip_special_tokens=True),
                                            "text_with_special": processor.decode(ids[0], skip_special_tokens=False)}
            # teacher-forced decoder on the greedy ids (all but the last): logits and attention maps
            ids = t[f"gen.{i}.greedy.ids"].long()[:, :-1]
            d = model.text_decoder(input_ids=ids, encoder_hidden_states=v.last_hidden_state[i:i + 1], output_attentions=True)
            t[f"tf.{i}.input_ids"] = ids.float()
            t[f"tf.{i}.logits"] = d.logits[0]
            for l, a in enumerate(d.cross_attentions):
                t[f"tf.{i}.cross.{l}"] = a[0]
            for l, a in enumerate(d.attentions):
                t[f"tf.{i}.self.{l}"] = a[0]
            ids_p = t[f"gen.{i}.greedy-prompt.ids"].long()[:, :-1]
            dp = model.text_decoder(input_ids=ids_p, encoder_hidden_states=v.last_hidden_state[i:i + 1], output_attentions=True)
            t[f"tf-prompt.{i}.input_ids"] = ids_p.float()
            t[f"tf-prompt.{i}.logits"] = dp.logits[0]
            for l, a in enumerate(dp.cross_attentions):
                t[f"tf-prompt.{i}.cross.{l}"] = a[0]
            check_beam_scores(t, i, d_model=model, enc=v.last_hidden_state[i:i + 1], modes=modes)
            gen_ids = t[f"gen.{i}.greedy.ids"].long()[0]
            assert torch.equal(d.logits[0].argmax(-1)[:], gen_ids[1:]), "teacher forcing disagrees with cached greedy"
            step_logits = t[f"gen.{i}.greedy.logits"]
            meta[f"max_abs_tf_minus_cached_logits.{i}"] = (d.logits[0] - step_logits).abs().max().item()
    meta["generate"] = texts
    meta["tokenizer"] = tokenizer_cases(processor.tokenizer)
    meta = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()}
    safetensors_io.save({k: v.detach().float().contiguous() for k, v in t.items()}, os.path.join(OUT, f"{name}.expected.safetensors"), meta)
    for k, v in texts.items():
        print(name, k, v["ids"], repr(v["text"]))
    return processor


def check_beam_scores(t, i, d_model, enc, modes):
    """sequences_scores = sum of the generated tokens' log-softmax / (number generated, [SEP] included) ** 1.0."""
    for mode in modes:
        if not mode.startswith("beam3"):
            continue
        ids = t[f"gen.{i}.{mode}.ids"].long()
        start = 4 if mode.endswith("-prompt") else 1  # [DEC] (+ "a picture of")
        logp = torch.log_softmax(d_model.text_decoder(input_ids=ids[:, :-1], encoder_hidden_states=enc).logits[0], -1)
        picked = logp[torch.arange(start - 1, ids.shape[1] - 1), ids[0, start:]]
        score = picked.sum() / (ids.shape[1] - start)
        assert abs(score.item() - t[f"gen.{i}.{mode}.sequences_scores"].item()) < 1e-4, (mode, score, t[f"gen.{i}.{mode}.sequences_scores"])


TOKENIZER_TEXTS = ["a picture of", "A Cat, lying on the RED blanket.", "two cups of coffee!", "cats standing", "unknownword here", ""]


def tokenizer_cases(tok):
    ids = lambda s: [tok.convert_tokens_to_ids(x) for x in s.split()]  # noqa: E731
    lists = [
        ids("[DEC] a picture of a cat lying on a red blanket [SEP]"),
        ids("[DEC] a cat , on the table . [SEP] [PAD] [PAD]"),
        ids("[DEC] cat ##s sitting [UNK] [ENC] it ' s a cup [MASK] [CLS] [unused3]"),
        ids("a ##s ##ing ##ed"),
    ]
    return {"encode": [{"text": s, "ids": tok(s)["input_ids"]} for s in TOKENIZER_TEXTS],
            "decode": [{"ids": l, "skip": tok.decode(l, skip_special_tokens=True), "keep": tok.decode(l, skip_special_tokens=False)} for l in lists]}


def save_model_and_processor(model, processor, folder):
    if os.path.exists(folder):
        shutil.rmtree(folder)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def main():
    tok = make_tokenizer()
    torch.manual_seed(0)
    losses = {}

    # ---- blip-tiny: safetensors, processor_config.json, tokenizer.json
    folder = os.path.join(OUT, "blip-tiny")
    proc = T.BlipProcessor(image_processor=T.BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok)
    model = jitter(T.BlipForConditionalGeneration(blip_config(VISION_SMALL)))
    losses["blip-tiny"] = train(model, proc)
    save_model_and_processor(model, proc, folder)
    assert sorted(os.listdir(folder)) == ["config.json", "generation_config.json", "model.safetensors", "processor_config.json",
                                          "tokenizer.json", "tokenizer_config.json"], os.listdir(folder)
    modes = ["greedy", "greedy-prompt", "beam3", "beam3-prompt"]
    expected("blip-tiny", folder, modes, {"final_train_loss": losses["blip-tiny"], "layout": "model.safetensors (tied), processor_config.json, tokenizer.json"})

    # ---- blip-tiny-untied: decoder weight and bias of its own, generation_config.json with settings generate() ignores
    folder = os.path.join(OUT, "blip-tiny-untied")
    untied = T.BlipForConditionalGeneration(blip_config(VISION_SMALL, tie=False))
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        g = torch.Generator().manual_seed(5)
        word = sd["text_decoder.bert.embeddings.word_embeddings.weight"]
        sd["text_decoder.cls.predictions.decoder.weight"] = word + 0.3 * torch.randn(word.shape, generator=g)
        sd["text_decoder.cls.predictions.decoder.bias"] = sd["text_decoder.cls.predictions.bias"] + 0.3 * torch.randn(word.shape[0], generator=g)
        sd["text_decoder.cls.predictions.bias"] = 5.0 * torch.randn(word.shape[0], generator=g)  # unused by the forward
    untied.load_state_dict(sd, strict=True)
    untied.eval()
    p = untied.text_decoder.cls.predictions
    assert p.decoder.weight is not untied.text_decoder.bert.embeddings.word_embeddings.weight and p.decoder.bias is not p.bias
    untied.generation_config = T.GenerationConfig(bos_token_id=len(VOCAB), eos_token_id=2, pad_token_id=0, num_beams=3, max_length=12,
                                                  min_length=6, repetition_penalty=1.3, no_repeat_ngram_size=2)
    save_model_and_processor(untied, proc, folder)
    reloaded = T.BlipForConditionalGeneration.from_pretrained(folder)
    rp = reloaded.text_decoder.cls.predictions
    assert rp.decoder.bias is not rp.bias and not torch.equal(rp.decoder.bias, rp.bias)
    assert reloaded.generation_config.num_beams == 3 and reloaded.text_decoder.generation_config.num_beams in (None, 1)
    expected("blip-tiny-untied", folder, modes + ["default", "default-prompt", "genconfig", "genconfig-prompt"],
             {"layout": "model.safetensors (untied: decoder.weight, decoder.bias and an unused cls.predictions.bias), processor_config.json, "
                        "tokenizer.json, generation_config.json (ignored by generate(); honoured with generation_config=model.generation_config)",
              "generation_config": json.load(open(os.path.join(folder, "generation_config.json")))})

    # ---- blip-tiny-bin: wider vision tower, pytorch_model.bin, preprocessor_config.json, vocab.txt tokenizer
    folder = os.path.join(OUT, "blip-tiny-bin")
    torch.manual_seed(1)
    proc48 = T.BlipProcessor(image_processor=T.BlipImageProcessor(size={"height": 48, "width": 48}), tokenizer=tok)
    wide = jitter(T.BlipForConditionalGeneration(blip_config(VISION_WIDE)))
    losses["blip-tiny-bin"] = train(wide, proc48)
    with tempfile.TemporaryDirectory() as tmp:
        wide.save_pretrained(tmp)
        wide = T.BlipForConditionalGeneration.from_pretrained(tmp)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
    write_legacy_config(folder, wide.config)
    sd = wide.state_dict()
    assert sd["text_decoder.cls.predictions.decoder.weight"].data_ptr() == sd["text_decoder.bert.embeddings.word_embeddings.weight"].data_ptr()
    torch.save(sd, os.path.join(folder, "pytorch_model.bin"))
    T.BlipImageProcessorPil(size={"height": 48, "width": 48}).save_pretrained(folder)
    write_legacy_tokenizer(folder)
    assert sorted(os.listdir(folder)) == ["added_tokens.json", "config.json", "preprocessor_config.json",
                                          "pytorch_model.bin", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"], os.listdir(folder)
    legacy = T.AutoTokenizer.from_pretrained(folder)
    for s in TOKENIZER_TEXTS:
        assert legacy(s)["input_ids"] == tok(s)["input_ids"], s
    assert legacy.bos_token_id == tok.bos_token_id and legacy.convert_tokens_to_ids("[ENC]") == tok.convert_tokens_to_ids("[ENC]")
    expected("blip-tiny-bin", folder, modes, {"final_train_loss": losses["blip-tiny-bin"],
                                              "layout": "pytorch_model.bin (tied copies stored), preprocessor_config.json, vocab.txt tokenizer"})
    print("losses", losses)


if __name__ == "__main__":
    main()
