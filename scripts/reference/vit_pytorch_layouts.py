"""ViTs laid out as lucidrains' vit-pytorch saved them over its history, written here from its
documented structure (not its code: the package is not on this machine's wheel mirror), with the
state-dict names and the forward each layout has:

- "current" (since 2025-11): to_patch_embedding = [rearrange to (p1 p2 c), LayerNorm, Linear,
  LayerNorm]; per layer an Attention with its own `norm`, `to_qkv` (no bias), `to_out.0` and a
  FeedForward `net` = [LayerNorm, Linear, GELU, Dropout, Linear, Dropout]; `transformer.norm`; a
  Linear `mlp_head`; `cls_token` (1|0, D) and `pos_embedding` (N, D) 2-D: pool 'mean' keeps no CLS
  token and averages the patches.
- "2023b" (2023-08 .. 2025-11): the same modules, `cls_token` (1, 1, D) and `pos_embedding`
  (1, N, D) 3-D, a CLS token always; pool 'mean' averages every token, CLS included.
- "2023a" (2023-02 .. 2023-08): the dual patch norm, PreNorm wrappers (`layers.N.i.norm`,
  `layers.N.i.fn.*`), FeedForward `net` = [Linear, GELU, Dropout, Linear, Dropout], no final norm,
  `mlp_head` = [LayerNorm, Linear].
- "2021" (2021-03 .. 2023-02): as 2023a with `to_patch_embedding` = [rearrange, Linear].
- "2020" (to 2021-02): `patch_to_embedding` Linear, Residual(PreNorm(...)) wrappers
  (`layers.N.i.fn.norm`, `layers.N.i.fn.fn.*`).

Attention: softmax(q kᵀ · dim_head^-0.5) v over `heads` heads of `dim_head`. Writes
test/fixtures/family-vitpytorch-<layout>-<pool>.pth (torch.save of the state dict) and .expected.safetensors
(pixels, logits, attention.<l>). Run in the temp venv (see families.py):
    /tmp/venv/bin/python scripts/reference/vit_pytorch_layouts.py test/fixtures
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
samples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples")


class Attention(nn.Module):
    """Multi-head self-attention; `norm` inside (current, 2023b) or none (a PreNorm wrapper has it). Records its probabilities."""

    def __init__(self, dim, heads, dim_head, own_norm):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        if own_norm:
            self.norm = nn.LayerNorm(dim)
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Sequential(nn.Linear(heads * dim_head, dim), nn.Dropout(0.0))
        self.probs = None

    def forward(self, x):
        if hasattr(self, "norm"):
            x = self.norm(x)
        B, N, _ = x.shape
        q, k, v = (t.reshape(B, N, self.heads, self.dim_head).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))
        self.probs = (q @ k.transpose(-1, -2) * self.dim_head ** -0.5).softmax(dim=-1)
        return self.to_out((self.probs @ v).transpose(1, 2).reshape(B, N, -1))


def feed_forward(dim, hidden, own_norm):
    """FeedForward.net: [LayerNorm,] Linear, GELU, Dropout, Linear, Dropout."""
    layers = ([nn.LayerNorm(dim)] if own_norm else []) + [nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, dim), nn.Dropout(0.0)]
    module = nn.Module()
    module.net = nn.Sequential(*layers)
    module.forward = lambda x: module.net(x)
    return module


class Wrapped(nn.Module):
    """PreNorm (`norm`, `fn`), optionally inside a Residual (`fn`) that adds the input back."""

    def __init__(self, dim, fn, residual):
        super().__init__()
        inner = nn.Module()
        inner.norm, inner.fn = nn.LayerNorm(dim), fn
        self.residual = residual
        if residual:
            self.fn = inner
        else:
            self.norm, self.fn = inner.norm, fn

    def forward(self, x):
        pre = self.fn if self.residual else self
        y = pre.fn(pre.norm(x))
        return y + x if self.residual else y


class Rearrange(nn.Module):
    """Images (B, C, H, W) to patch rows (B, P, p*p*C) in (p1 p2 c) order."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, img):
        B, C, H, W = img.shape
        p = self.p
        return img.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1).reshape(B, (H // p) * (W // p), p * p * C)


class ViTLayout(nn.Module):
    def __init__(self, layout, pool, image_size, patch_size, num_classes, dim, depth, heads, dim_head, mlp_dim, channels=3):
        super().__init__()
        self.layout, self.pool, self.p = layout, pool, patch_size
        patches = (image_size // patch_size) ** 2
        patch_dim = channels * patch_size ** 2
        modern = layout in ("current", "2023b")
        if layout == "2020":
            self.patch_to_embedding = nn.Linear(patch_dim, dim)
        elif layout == "2021":
            self.to_patch_embedding = nn.Sequential(Rearrange(patch_size), nn.Linear(patch_dim, dim))
        else:
            self.to_patch_embedding = nn.Sequential(Rearrange(patch_size), nn.LayerNorm(patch_dim), nn.Linear(patch_dim, dim), nn.LayerNorm(dim))
        cls = 0 if (layout == "current" and pool == "mean") else 1
        two_d = layout == "current"
        self.cls_token = nn.Parameter(torch.randn(cls, dim) if two_d else torch.randn(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(patches + cls, dim) if two_d else torch.randn(1, patches + 1, dim))
        self.transformer = nn.Module()
        if modern:
            self.transformer.norm = nn.LayerNorm(dim)
        self.transformer.layers = nn.ModuleList()
        for _ in range(depth):
            attn = Attention(dim, heads, dim_head, own_norm=modern)
            ff = feed_forward(dim, mlp_dim, own_norm=modern)
            pair = [attn, ff] if modern else [Wrapped(dim, attn, residual=layout == "2020"), Wrapped(dim, ff, residual=layout == "2020")]
            self.transformer.layers.append(nn.ModuleList(pair))
        self.mlp_head = nn.Linear(dim, num_classes) if modern else nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def attentions(self):
        return [(layer[0] if isinstance(layer[0], Attention) else (layer[0].fn.fn if self.layout == "2020" else layer[0].fn)).probs for layer in self.transformer.layers]

    def forward(self, img):
        x = self.patch_to_embedding(Rearrange(self.p)(img)) if self.layout == "2020" else self.to_patch_embedding(img)
        B = x.shape[0]
        cls = self.cls_token.reshape(1, -1, x.shape[-1]).expand(B, -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embedding.reshape(1, -1, x.shape[-1])
        for attn, ff in self.transformer.layers:
            if self.layout == "2020":  # the Residual wrappers add the input themselves
                x = ff(attn(x))
            else:
                x = attn(x) + x
                x = ff(x) + x
        if hasattr(self.transformer, "norm"):
            x = self.transformer.norm(x)
        x = x.mean(dim=1) if self.pool == "mean" else x[:, 0]
        return self.mlp_head(x)


def pixels(size):
    img = Image.open(os.path.join(samples, "cat.jpg")).convert("RGB").resize((size, size), Image.BICUBIC)
    x = torch.from_numpy(np.array(img)).float().permute(2, 0, 1)[None] / 255
    return (x - 0.5) / 0.5


torch.manual_seed(0)
VP = dict(image_size=20, patch_size=4, num_classes=3, dim=24, depth=2, heads=3, dim_head=12, mlp_dim=48)
for layout, pool in [("current", "cls"), ("current", "mean"), ("2023b", "cls"), ("2023a", "mean"), ("2021", "cls"), ("2020", "cls")]:
    model = ViTLayout(layout, pool, **VP)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)  # far from any init, so every piece shows
    model.eval()
    name = f"vitpytorch-{layout}-{pool}"
    torch.save(model.state_dict(), os.path.join(out, f"family-{name}.pth"))
    x = pixels(VP["image_size"])
    with torch.no_grad():
        y = model(x)
    tensors = {"pixels": x, "logits": y, **{f"attention.{i}": a for i, a in enumerate(model.attentions())}}
    meta = {"layout": layout, "kwargs": json.dumps({**VP, "pool": pool}), "torch": torch.__version__,
            "keys": json.dumps({k: list(v.shape) for k, v in model.state_dict().items()})}
    safetensors_io.save({k: v.detach().float().contiguous() for k, v in tensors.items()}, os.path.join(out, f"family-{name}.expected.safetensors"), meta)
    print(name, {k: tuple(v.shape) for k, v in list(model.state_dict().items())[:6]})
