#!/usr/bin/python3
"""Captioner parity fixtures: a tiny timm-layout ViT encoder + pre-norm Transformer decoder
(causal self-attention, cross-attention over every encoder token, GELU MLP), written as
vitlens' captioner folder (model.safetensors + config.json + vocab.json); expected next-token
logits and every layer's cross-attention for a padded token batch; and one AdamW step over all
parameters (loss, gradients, parameters after).

Run with Debian's torch:  /usr/bin/python3 scripts/reference/captioner.py test/fixtures
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from vit_modules import TimmVisionTransformer, randomize_  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.manual_seed(0)

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
ENC = dict(embed_dim=24, depth=2, num_heads=3, mlp_dim=48, img_size=16, patch_size=4, in_chans=3, qkv_bias=True, num_classes=1)
DEC = dict(vocab=11, max_len=8, d=16, layers=2, heads=2, mlp=32, eps=1e-5)
VOCAB = ["<pad>", "<bos>", "<eos>", "<unk>", "a", "bag", "above", "sneaker", "left", "of", "coat"]


class Encoder(TimmVisionTransformer):
    """timm's ViT without its head: every token after the final norm."""

    def __init__(self, c):
        super().__init__(c)
        del self.head

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x, _ = blk(x)
        return self.norm(x)


class SelfAttention(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4).unbind(0)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.h)
        causal = torch.ones(t, t, dtype=torch.bool).triu(1)
        probs = torch.softmax(scores.masked_fill(causal, float("-inf")), dim=-1)
        return self.proj((probs @ v).transpose(1, 2).reshape(b, t, d))


class CrossAttention(nn.Module):
    def __init__(self, d, e, h):
        super().__init__()
        self.h = h
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(e, 2 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x, enc):
        b, t, d = x.shape
        n = enc.shape[1]
        q = self.q(x).reshape(b, t, self.h, d // self.h).transpose(1, 2)
        k, v = self.kv(enc).reshape(b, n, 2, self.h, d // self.h).permute(2, 0, 3, 1, 4).unbind(0)
        probs = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.h), dim=-1)  # (B, H, T, N)
        return self.proj((probs @ v).transpose(1, 2).reshape(b, t, d)), probs


class Mlp(nn.Module):
    def __init__(self, d, m):
        super().__init__()
        self.fc1 = nn.Linear(d, m)
        self.fc2 = nn.Linear(m, d)


class DecoderLayer(nn.Module):
    def __init__(self, c, e):
        super().__init__()
        d = c["d"]
        self.norm1 = nn.LayerNorm(d, eps=c["eps"])
        self.self_attn = SelfAttention(d, c["heads"])
        self.norm2 = nn.LayerNorm(d, eps=c["eps"])
        self.cross_attn = CrossAttention(d, e, c["heads"])
        self.norm3 = nn.LayerNorm(d, eps=c["eps"])
        self.mlp = Mlp(d, c["mlp"])

    def forward(self, x, enc):
        x = x + self.self_attn(self.norm1(x))
        a, probs = self.cross_attn(self.norm2(x), enc)
        x = x + a
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm3(x)))), probs


class Decoder(nn.Module):
    def __init__(self, c, e, tie):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab"], c["d"])
        self.embed_positions = nn.Embedding(c["max_len"], c["d"])
        self.layers = nn.ModuleList([DecoderLayer(c, e) for _ in range(c["layers"])])
        self.norm = nn.LayerNorm(c["d"], eps=c["eps"])
        self.lm_head = nn.Linear(c["d"], c["vocab"])
        if tie:
            self.lm_head.weight = self.embed_tokens.weight

    def forward(self, ids, enc):
        x = self.embed_tokens(ids) + self.embed_positions(torch.arange(ids.shape[1]))
        crosses = []
        for layer in self.layers:
            x, probs = layer(x, enc)
            crosses.append(probs)
        return self.lm_head(self.norm(x)), crosses


class Captioner(nn.Module):
    def __init__(self, tie):
        super().__init__()
        self.encoder = Encoder(ENC)
        self.decoder = Decoder(DEC, ENC["embed_dim"], tie)

    def forward(self, pixels, ids):
        return self.decoder(ids, self.encoder(pixels))


def write_folder(model, tie, name):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    state = {k: v for k, v in model.state_dict().items() if not (tie and k == "decoder.lm_head.weight")}
    safetensors_io.save(state, os.path.join(folder, "model.safetensors"))
    n = (ENC["img_size"] // ENC["patch_size"]) ** 2
    config = {
        "model_type": "vitlens-captioner",
        "encoder": {"imageSize": [ENC["img_size"]] * 2, "patchSize": ENC["patch_size"], "numChannels": 3, "hiddenSize": ENC["embed_dim"],
                    "numLayers": ENC["depth"], "numHeads": ENC["num_heads"], "mlpSize": ENC["mlp_dim"], "numClasses": 0,
                    "layerNormEps": 1e-6, "qkvBias": True, "hiddenDropout": 0, "attentionDropout": 0},
        "decoder": {"vocabSize": DEC["vocab"], "maxLength": DEC["max_len"], "hiddenSize": DEC["d"], "numLayers": DEC["layers"],
                    "numHeads": DEC["heads"], "mlpSize": DEC["mlp"], "encoderHiddenSize": ENC["embed_dim"], "tieEmbeddings": tie,
                    "layerNormEps": DEC["eps"]},
        "preprocess": {"size": [ENC["img_size"]] * 2, "resample": "bilinear", "rescaleFactor": 1 / 255, "mean": [0.5] * 3, "std": [0.5] * 3},
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump({"tokens": VOCAB}, f)
    assert n + 1 == 17


pixels = torch.randn(2, 3, ENC["img_size"], ENC["img_size"])
ids = torch.tensor([[1, 4, 5, 6, 4, 7], [1, 4, 10, 8, 2, 0]])  # <bos> a bag above a sneaker / <bos> a coat left <eos> <pad>
targets = torch.tensor([[4, 5, 6, 4, 7, 2], [4, 10, 8, 2, -100, -100]])  # ignored where the input is padding or past <eos>
tensors = {"pixels": pixels, "ids": ids.float(), "targets": targets.float()}
for tie in (False, True):
    name = "captioner-tiny" + ("-tied" if tie else "")
    model = Captioner(tie)
    randomize_(model, seed=7 if tie else 3)
    write_folder(model, tie, name)
    logits, crosses = model(pixels, ids)
    tensors[f"{name}.logits"] = logits.detach()
    for i, p in enumerate(crosses):
        tensors[f"{name}.cross{i}"] = p.detach()

# One AdamW step of the tied model over every parameter (encoder included).
model = Captioner(True)
model.load_state_dict({**safetensors_io.load(os.path.join(out, "captioner-tiny-tied", "model.safetensors")),
                       "decoder.lm_head.weight": safetensors_io.load(os.path.join(out, "captioner-tiny-tied", "model.safetensors"))["decoder.embed_tokens.weight"]})
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
logits, _ = model(pixels, ids)
loss = F.cross_entropy(logits.reshape(-1, DEC["vocab"]), targets.reshape(-1), ignore_index=-100)
loss.backward()
tensors["step.loss"] = loss.detach().reshape(1)
for k, p in model.named_parameters():
    tensors[f"step.grad.{k}"] = p.grad.detach().clone()
opt.step()
for k, p in model.named_parameters():
    tensors[f"step.after.{k}"] = p.detach().clone()
safetensors_io.save(tensors, os.path.join(out, "captioner.expected.safetensors"))
print("wrote", os.path.join(out, "captioner.expected.safetensors"))
