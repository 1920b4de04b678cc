#!/usr/bin/python3
"""ViT + GPT-2 VisionEncoderDecoder fixtures, written by hand because `transformers` is not
installable here: every module, parameter name, shape and forward follows transformers 4.36
(modeling_vit.py, modeling_gpt2.py with add_cross_attention, modeling_vision_encoder_decoder.py)
and the generation follows transformers 4.36's generation/utils.py greedy_search and
beam_search with BeamSearchScorer / BeamHypotheses (length penalty over the generated length
without the decoder start token; early_stopping True / False / "never") and the logits
processors repetition_penalty, no_repeat_ngram_size and min_length.

Writes into test/fixtures/:
  vit-gpt2-tiny/        the tiny captioner, HF layout: config.json, generation_config.json,
                        preprocessor_config.json, model.safetensors (tied lm_head left out, as
                        transformers saves it), tokenizer.json, tokenizer_config.json, vocab.json,
                        merges.txt (a byte-level BPE trained here on a few captions)
  vit-gpt2-tiny-bin/    a second captioner whose encoder is narrower (enc_to_dec_proj), as
                        pytorch_model.bin with lm_head.weight and the attn.bias / masked_bias
                        buffers of older checkpoints, and only vocab.json + merges.txt
  vit-gpt2-*.png        the images (already at the model's 32x32: no resize in either tool)
  vit-gpt2.expected.safetensors + vit-gpt2.expected.json   logits, cross-attentions, generated
                        ids and texts, tokenizer ids, one AdamW step

Run with Debian's torch:  /usr/bin/python3 scripts/reference/vit_gpt2.py test/fixtures
"""
import json
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from vit_modules import HFViTModel  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.manual_seed(0)
OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

# ---------------------------------------------------------------- byte-level BPE (GPT-2's scheme)
def bytes_to_unicode():
    """GPT-2's table: every byte gets a printable character (printable bytes map to themselves)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE2CHAR = bytes_to_unicode()
CHAR2BYTE = {c: b for b, c in BYTE2CHAR.items()}
# GPT-2's pre-tokenizer regex; Python's re has no \p{L}: letters = [^\W\d_], numbers = \d.
PRETOKEN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")
EOT = "<|endoftext|>"
CORPUS = [
    "A cat lying on a red blanket.", "A cat sleeping on a blanket.", "Two cups of coffee on a table.",
    "A cup of coffee on a wooden table.", "An astronaut in a white suit.", "An astronaut holding a flag.",
    "A rocket on the launch pad.", "A rocket standing on a pad at night.", "Two people on skis standing on a snowy hill.",
]


def pieces(word):
    return "".join(BYTE2CHAR[b] for b in word.encode("utf-8"))


def train_bpe(corpus, merges_wanted):
    words = {}
    for text in corpus:
        for w in PRETOKEN.findall(text):
            words[tuple(pieces(w))] = words.get(tuple(pieces(w)), 0) + 1
    merges = []
    for _ in range(merges_wanted):
        counts = {}
        for w, n in words.items():
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + n
        if not counts:
            break
        best = max(sorted(counts), key=lambda p: counts[p])
        merges.append(best)
        merged = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = n
        words = merged
    return merges


MERGES = train_bpe(CORPUS, 40)
VOCAB = {c: i for i, c in enumerate(BYTE2CHAR.values())}
for a, b in MERGES:
    VOCAB[a + b] = len(VOCAB)
EOT_ID = len(VOCAB)
VOCAB[EOT] = EOT_ID
ID2TOKEN = {i: t for t, i in VOCAB.items()}
RANKS = {m: i for i, m in enumerate(MERGES)}


def bpe(word):
    parts = list(pieces(word))
    while len(parts) > 1:
        pairs = [(RANKS.get(p, math.inf), i) for i, p in enumerate(zip(parts, parts[1:]))]
        rank, i = min(pairs)
        if rank == math.inf:
            break
        a, b = parts[i], parts[i + 1]
        out, j = [], 0
        while j < len(parts):  # merge every occurrence of the pair, left to right
            if j + 1 < len(parts) and parts[j] == a and parts[j + 1] == b:
                out.append(a + b)
                j += 2
            else:
                out.append(parts[j])
                j += 1
        parts = out
    return parts


def encode(text):
    return [VOCAB[p] for w in PRETOKEN.findall(text) for p in bpe(w)]


def clean_up_tokenization(s):
    """transformers 4.36 PreTrainedTokenizerBase.clean_up_tokenization."""
    for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
        s = s.replace(a, b)
    return s


def decode(ids, skip_special_tokens=True, clean_up=True):
    toks = [ID2TOKEN[i] for i in ids if not (skip_special_tokens and i == EOT_ID)]
    text = bytearray(CHAR2BYTE[c] for c in "".join(toks)).decode("utf-8", errors="replace")
    return clean_up_tokenization(text) if clean_up else text


def write_tokenizer(folder, full):
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump(VOCAB, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
    config = {"add_prefix_space": False, "bos_token": EOT, "eos_token": EOT, "unk_token": EOT,
              "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer"}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if not full:
        return
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": EOT_ID, "content": EOT, "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "vocab": VOCAB, "merges": [f"{a} {b}" for a, b in MERGES]},
    }
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)


# ---------------------------------------------------------------- GPT-2 with cross-attention (modeling_gpt2.py names)
class Conv1D(nn.Module):
    """GPT-2's Conv1D: a linear layer whose weight is stored (in, out)."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.02)
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Attention(nn.Module):
    def __init__(self, c, cross=False, buffers=False):
        super().__init__()
        d, self.h, self.cross = c["n_embd"], c["n_head"], cross
        if buffers:  # older checkpoints carry the causal mask and the masked value as buffers
            n = c["n_positions"]
            self.register_buffer("bias", torch.tril(torch.ones((n, n), dtype=torch.bool)).view(1, 1, n, n))
            self.register_buffer("masked_bias", torch.tensor(-1e4))
        if cross:
            self.c_attn = Conv1D(2 * d, d)
            self.q_attn = Conv1D(d, d)
        else:
            self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)

    def split(self, x):
        b, t, d = x.shape
        return x.view(b, t, self.h, d // self.h).permute(0, 2, 1, 3)

    def forward(self, x, enc=None):
        d = x.shape[-1]
        if self.cross:
            q = self.q_attn(x)
            k, v = self.c_attn(enc).split(d, dim=2)
        else:
            q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = self.split(q), self.split(k), self.split(v)
        w = q @ k.transpose(-1, -2) / math.sqrt(v.shape[-1])
        if not self.cross:
            t = x.shape[1]
            causal = torch.tril(torch.ones((t, t), dtype=torch.bool))
            w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min))
        probs = torch.softmax(w, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(x.shape)
        return self.c_proj(ctx), probs


class GPT2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        inner = c["n_inner"] or 4 * c["n_embd"]
        self.c_fc = Conv1D(inner, c["n_embd"])
        self.c_proj = Conv1D(c["n_embd"], inner)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, c, buffers):
        super().__init__()
        d, eps = c["n_embd"], c["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = GPT2Attention(c, buffers=buffers)
        self.ln_cross_attn = nn.LayerNorm(d, eps=eps)
        self.crossattention = GPT2Attention(c, cross=True, buffers=buffers)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = GPT2MLP(c)

    def forward(self, x, enc):
        a, _ = self.attn(self.ln_1(x))
        x = x + a
        a, cross = self.crossattention(self.ln_cross_attn(x), enc)
        x = x + a
        return x + self.mlp(self.ln_2(x)), cross


class GPT2Model(nn.Module):
    def __init__(self, c, buffers):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList([GPT2Block(c, buffers) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])

    def forward(self, ids, enc):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))[None]
        crosses = []
        for block in self.h:
            x, cross = block(x, enc)
            crosses.append(cross)
        return self.ln_f(x), crosses


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c, buffers):
        super().__init__()
        self.transformer = GPT2Model(c, buffers)
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied (tie_word_embeddings)

    def forward(self, ids, enc):
        h, crosses = self.transformer(ids, enc)
        return self.lm_head(h), crosses


class VisionEncoderDecoder(nn.Module):
    def __init__(self, enc_c, dec_c, buffers=False):
        super().__init__()
        self.encoder = HFViTModel(enc_c, pooler=True)  # AutoModel -> ViTModel keeps its pooler
        self.decoder = GPT2LMHeadModel(dec_c, buffers)
        if enc_c["hidden_size"] != dec_c["n_embd"]:
            self.enc_to_dec_proj = nn.Linear(enc_c["hidden_size"], dec_c["n_embd"])

    def encode(self, pixels):
        h, _ = self.encoder(pixels)
        return self.enc_to_dec_proj(h) if hasattr(self, "enc_to_dec_proj") else h

    def forward(self, pixels, ids):
        return self.decoder(ids, self.encode(pixels))


# ---------------------------------------------------------------- generation (transformers 4.36 semantics)
def process_logits(ids, scores, g):
    """RepetitionPenalty, NoRepeatNGram, MinLength processors, in generate's order. ids (K, t) include the start token."""
    scores = scores.clone()
    if g.get("repetition_penalty", 1.0) != 1.0:
        p = g["repetition_penalty"]
        s = torch.gather(scores, 1, ids)
        s = torch.where(s < 0, s * p, s / p)
        scores.scatter_(1, ids, s)
    n = g.get("no_repeat_ngram_size", 0)
    if n > 0:
        cur = ids.shape[1]
        for k in range(ids.shape[0]):
            if cur + 1 < n:
                continue
            seq = ids[k].tolist()
            banned = {}
            for i in range(len(seq) - n + 1):
                banned.setdefault(tuple(seq[i:i + n - 1]), []).append(seq[i + n - 1])
            for tok in banned.get(tuple(seq[cur + 1 - n:cur]), []):
                scores[k, tok] = -math.inf
    if g.get("min_length", 0) > 0 and ids.shape[1] < g["min_length"]:
        scores[:, g["eos_token_id"]] = -math.inf
    return scores


def step_logits(model, enc, ids):
    logits, _ = model.decoder(ids, enc)
    return logits[:, -1, :]


def greedy(model, enc, g):
    ids = torch.tensor([[g["decoder_start_token_id"]]])
    unfinished = torch.ones(1, dtype=torch.long)
    while True:
        scores = process_logits(ids, step_logits(model, enc, ids), g)
        nxt = torch.argmax(scores, dim=-1)
        nxt = nxt * unfinished + g["pad_token_id"] * (1 - unfinished)
        ids = torch.cat([ids, nxt[:, None]], dim=-1)
        unfinished = unfinished * (nxt != g["eos_token_id"]).long()
        if unfinished.max() == 0 or ids.shape[1] >= g["max_length"]:
            return ids[0].tolist(), None


class BeamHypotheses:
    def __init__(self, num_beams, length_penalty, early_stopping, max_length):
        self.num_beams, self.length_penalty, self.early_stopping, self.max_length = num_beams, length_penalty, early_stopping, max_length
        self.beams, self.worst_score = [], 1e9

    def add(self, hyp, sum_logprobs, generated_len):
        score = sum_logprobs / (generated_len ** self.length_penalty)
        if len(self.beams) < self.num_beams or score > self.worst_score:
            self.beams.append((score, hyp))
            if len(self.beams) > self.num_beams:
                ranked = sorted([(s, i) for i, (s, _) in enumerate(self.beams)])
                del self.beams[ranked[0][1]]
                self.worst_score = ranked[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs, cur_len, prompt_len):
        if len(self.beams) < self.num_beams:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping is False or self.length_penalty <= 0:
            best = best_sum_logprobs / (cur_len - prompt_len) ** self.length_penalty
        else:  # "never" with a positive length penalty: the best score the longest hypothesis could reach
            best = best_sum_logprobs / (self.max_length - prompt_len) ** self.length_penalty
        return self.worst_score >= best


def beam_search(model, enc, g):
    K, V, eos, prompt_len = g["num_beams"], None, g["eos_token_id"], 1
    enc = enc.expand(K, -1, -1)
    ids = torch.full((K, 1), g["decoder_start_token_id"])
    beam_scores = torch.zeros(K)
    beam_scores[1:] = -1e9
    hyps = BeamHypotheses(K, g.get("length_penalty", 1.0), g.get("early_stopping", False), g["max_length"])
    done = False
    while True:
        logits = step_logits(model, enc, ids)
        V = logits.shape[-1]
        scores = F.log_softmax(logits, dim=-1)
        scores = process_logits(ids, scores, g) + beam_scores[:, None]
        top_scores, top = torch.topk(scores.view(1, K * V), 2 * K, dim=1, largest=True, sorted=True)
        beam_idx, tokens = torch.div(top, V, rounding_mode="floor")[0], (top % V)[0]
        cur_len = ids.shape[1] + 1  # the length next_scores is computed on
        nb_scores, nb_tokens, nb_idx = [], [], []
        for rank, (tok, sc, b) in enumerate(zip(tokens.tolist(), top_scores[0].tolist(), beam_idx.tolist())):
            if tok == eos:
                if rank >= K:
                    continue
                hyps.add(ids[b].clone(), sc, cur_len - prompt_len)
            else:
                nb_scores.append(sc)
                nb_tokens.append(tok)
                nb_idx.append(b)
            if len(nb_tokens) == K:
                break
        done = done or hyps.is_done(top_scores[0].max().item(), cur_len, prompt_len)
        beam_scores = torch.tensor(nb_scores)
        ids = torch.cat([ids[nb_idx], torch.tensor(nb_tokens)[:, None]], dim=-1)
        if done or ids.shape[1] >= g["max_length"]:
            break
    if not done:
        for b in range(K):
            hyps.add(ids[b], beam_scores[b].item(), ids.shape[1] - prompt_len)
    score, best = sorted(hyps.beams, key=lambda x: x[0]).pop()
    seq = best.tolist()
    if len(seq) < g["max_length"]:
        seq.append(eos)
    return seq, score


# ---------------------------------------------------------------- build, train a little, write
ENC = dict(hidden_size=24, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, image_size=32, patch_size=8,
           num_channels=3, qkv_bias=True, layer_norm_eps=1e-12)
DEC = dict(vocab_size=EOT_ID + 1, n_positions=24, n_embd=24, n_layer=2, n_head=4, n_inner=48, layer_norm_epsilon=1e-5)
GEN = dict(decoder_start_token_id=EOT_ID, pad_token_id=EOT_ID, eos_token_id=EOT_ID, bos_token_id=EOT_ID, max_length=20)
IMAGES = ["cat", "coffee", "astronaut", "rocket"]
CAPTIONS = ["A cat lying on a red blanket.", "Two cups of coffee on a table.", "An astronaut holding a flag.", "A rocket on the launch pad."]


def hf_config(enc_c, dec_c):
    encoder = {"model_type": "vit", "architectures": ["ViTModel"], "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
               "attention_probs_dropout_prob": 0.0, "encoder_stride": 16, **enc_c}
    decoder = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "activation_function": "gelu_new", "add_cross_attention": True,
               "is_decoder": True, "n_ctx": dec_c["n_positions"], "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
               "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
               "bos_token_id": EOT_ID, "eos_token_id": EOT_ID, "decoder_start_token_id": EOT_ID, "tie_word_embeddings": True, **dec_c}
    return {"model_type": "vision-encoder-decoder", "architectures": ["VisionEncoderDecoderModel"], "is_encoder_decoder": True,
            "tie_word_embeddings": False, "encoder": encoder, "decoder": decoder, "decoder_start_token_id": EOT_ID,
            "pad_token_id": EOT_ID, "eos_token_id": EOT_ID, "transformers_version": "4.36.0"}


def load_pixels(name):
    img = np.asarray(Image.open(os.path.join(OUT, f"vit-gpt2-{name}.png")).convert("RGB"), dtype=np.float32)
    return ((torch.from_numpy(img).permute(2, 0, 1) / 255.0 - 0.5) / 0.5)[None]  # ViTImageProcessor: rescale, mean = std = 0.5


def write_images():
    for name in IMAGES:
        img = Image.open(os.path.join(ROOT, "samples", f"{name}.jpg")).convert("RGB").resize((32, 32), Image.BILINEAR)
        img.save(os.path.join(OUT, f"vit-gpt2-{name}.png"))


def train(model, pixels, steps, lr):
    """A few AdamW steps on the captions so the tiny model says something (and stops)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    for _ in range(steps):
        loss = caption_loss(model, pixels, CAPTIONS[:len(pixels)])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def labels_for(captions):
    """Tokenized captions + eos, padded with -100; the decoder input is them shifted right behind the start token (HF)."""
    rows = [encode(c) + [EOT_ID] for c in captions]
    T = max(map(len, rows))
    labels = torch.full((len(rows), T), -100)
    for i, r in enumerate(rows):
        labels[i, :len(r)] = torch.tensor(r)
    inputs = torch.cat([torch.full((len(rows), 1), EOT_ID), labels[:, :-1]], dim=1)
    return labels, inputs.masked_fill(inputs == -100, EOT_ID)


def caption_loss(model, pixels, captions):
    labels, inputs = labels_for(captions)
    logits, _ = model(pixels, inputs)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def state_dict_hf(model, safetensors):
    sd = {k: v for k, v in model.state_dict().items()}
    if safetensors:  # transformers drops the tied copy and the non-persistent buffers from safetensors
        sd.pop("decoder.lm_head.weight")
    return sd


def write_folder(model, name, enc_c, dec_c, fmt, full_tokenizer, generation):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(hf_config(enc_c, dec_c), f, indent=2)
    if generation:
        with open(os.path.join(folder, "generation_config.json"), "w") as f:
            json.dump({**GEN, "transformers_version": "4.36.0"}, f, indent=2)
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump({"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                   "image_processor_type": "ViTImageProcessor", "resample": 2, "rescale_factor": 1 / 255, "size": {"height": 32, "width": 32}}, f, indent=2)
    write_tokenizer(folder, full_tokenizer)
    sd = state_dict_hf(model, fmt == "safetensors")
    if fmt == "safetensors":
        safetensors_io.save(sd, os.path.join(folder, "model.safetensors"), {"format": "pt"})
    else:
        torch.save(sd, os.path.join(folder, "pytorch_model.bin"))


def main():
    write_images()
    pixels = torch.cat([load_pixels(n) for n in IMAGES])
    torch.manual_seed(1)
    model = VisionEncoderDecoder(ENC, DEC)
    final_loss = train(model, pixels, 150, 3e-3)
    model.eval()
    write_folder(model, "vit-gpt2-tiny", ENC, DEC, "safetensors", True, True)
    torch.manual_seed(2)
    enc2 = {**ENC, "hidden_size": 16, "intermediate_size": 32}
    model2 = VisionEncoderDecoder(enc2, DEC, buffers=True)
    train(model2, pixels[:2], 10, 1e-2)
    model2.eval()
    write_folder(model2, "vit-gpt2-tiny-bin", enc2, DEC, "bin", False, False)

    tensors, meta = {}, {"final_train_loss": final_loss, "images": [f"vit-gpt2-{n}.png" for n in IMAGES], "vocab_size": DEC["vocab_size"]}
    # Teacher forcing on two captions of different lengths (padding behind the shorter one).
    labels, inputs = labels_for(CAPTIONS[:2])
    with torch.no_grad():
        for tag, m in [("tiny", model), ("bin", model2)]:
            logits, crosses = m(pixels[:2], inputs)
            tensors[f"{tag}.logits"] = logits
            for l, c in enumerate(crosses):
                tensors[f"{tag}.cross.{l}"] = c
    tensors["tf.inputs"] = inputs.float()
    # Generation: greedy with the folder's generation_config, and beam / processors variants.
    settings = {
        "greedy": {},
        "beam3": {"num_beams": 3},
        "beam3-early": {"num_beams": 3, "early_stopping": True, "no_repeat_ngram_size": 2},
        "beam4-never": {"num_beams": 4, "early_stopping": "never", "length_penalty": 0.5},
        "beam4-short": {"num_beams": 4, "max_length": 8, "length_penalty": 2.0},
        "greedy-penalties": {"repetition_penalty": 1.3, "min_length": 12, "no_repeat_ngram_size": 3},
    }
    gen = {}
    with torch.no_grad():
        for tag, m in [("tiny", model), ("bin", model2)]:
            for key, s in settings.items():
                g = {**GEN, **s}
                for i, name in enumerate(IMAGES):
                    enc = m.encode(pixels[i:i + 1])
                    ids, score = (beam_search if g.get("num_beams", 1) > 1 else greedy)(m, enc, g)
                    gen[f"{tag}/{key}/{name}"] = {"settings": s, "ids": ids, "score": score, "text": decode(ids)}
    meta["generate"] = gen
    # Tokenizer: ids of captions with punctuation and non-ASCII characters, and HF's decode variants.
    texts = ["A cat lying on a red blanket.", "Two people on skis, standing on a snowy hill!", "Crème brûlée at the café — naïve, isn't it?",
             "  spaces   and\ttabs\n", "Ünïcödé 日本語 ok 🙂", "It's a dog's life; they're here, we've won"]
    meta["tokenizer"] = [{"text": t, "ids": encode(t), "decoded": decode(encode(t), clean_up=False), "decoded_clean": decode(encode(t) + [EOT_ID])} for t in texts]
    # One AdamW step of fine-tuning (HF labels: -100 ignored; encoder and decoder trained).
    step_model = VisionEncoderDecoder(ENC, DEC)
    step_model.load_state_dict(model.state_dict())
    opt = torch.optim.AdamW(step_model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    loss = caption_loss(step_model, pixels[:2], CAPTIONS[:2])
    opt.zero_grad()
    loss.backward()
    opt.step()
    meta["adamw"] = {"loss": loss.item(), "lr": 1e-3, "weight_decay": 0.01}
    after = step_model.state_dict()
    for k in ["decoder.transformer.wte.weight", "decoder.transformer.h.1.crossattention.c_attn.weight", "decoder.transformer.h.0.mlp.c_fc.weight",
              "encoder.encoder.layer.0.attention.attention.query.weight", "decoder.transformer.wpe.weight", "decoder.transformer.ln_f.bias"]:
        tensors[f"adamw.{k}"] = after[k]
    safetensors_io.save({k: v.float().contiguous() for k, v in tensors.items()}, os.path.join(OUT, "vit-gpt2.expected.safetensors"), {"format": "pt"})
    with open(os.path.join(OUT, "vit-gpt2.expected.json"), "w") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
    for key in ["tiny/greedy/cat", "tiny/beam3/coffee", "tiny/greedy/astronaut", "bin/greedy/cat"]:
        print(key, gen[key]["text"], gen[key]["ids"])


if __name__ == "__main__":
    main()
