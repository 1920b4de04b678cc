#!/usr/bin/python3
"""ONNX export of a ViT preset (random weights, the shapes `vitlens bench` times) for onnxruntime-node:
the forward anchor of bench/compare.js. Exports are generated on demand and kept out of git.

Usage: /usr/bin/python3 scripts/reference/onnx_export.py --preset vit-b16 --batch 8 --out out/onnx/vit-b16-b8.onnx
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
from vit_modules import TimmVisionTransformer  # noqa: E402
from presets import PRESETS  # noqa: E402


class Logits(torch.nn.Module):
    """The model's logits only (attention probabilities are computed, not returned)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[0]


p = argparse.ArgumentParser()
p.add_argument("--preset", default="vit-b16")
p.add_argument("--batch", type=int, default=8)
p.add_argument("--image-size", type=int, default=224)
p.add_argument("--out", required=True)
a = p.parse_args()
d, depth, heads, mlp, patch = PRESETS[a.preset]
torch.manual_seed(0)
model = TimmVisionTransformer(dict(embed_dim=d, depth=depth, num_heads=heads, mlp_dim=mlp, img_size=a.image_size,
                                   patch_size=patch, in_chans=3, qkv_bias=True, num_classes=1000)).eval()
os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
x = torch.randn(a.batch, 3, a.image_size, a.image_size)
with torch.no_grad():
    torch.onnx.export(Logits(model), (x,), a.out, input_names=["pixels"], output_names=["logits"], opset_version=14)
print(a.out)
