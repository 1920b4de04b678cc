#!/usr/bin/python3
"""Checkpoints whose head count no file records (issue 10, fault 3): small timm ViTs of a
non-standard width (48 wide with 3 heads, 64 wide with 4), saved with torch.save under
lukemelas/PyTorch-Pretrained-ViT's names, and the 48-wide one also as a timm folder whose
config.json has no model_args. Expected logits come from PyTorch with the true head count.

Run with Debian's torch:  /usr/bin/python3 scripts/reference/heads.py test/fixtures
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from lukemelas_keys import lukemelas_state  # noqa: E402
from vit_modules import TimmVisionTransformer, randomize_  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"


expected = {"pixels": torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(7))}
for width, heads, seed in ((48, 3, 31), (64, 4, 32)):
    c = dict(in_chans=3, embed_dim=width, num_heads=heads, qkv_bias=True, mlp_dim=16, img_size=8,
             patch_size=2, depth=1, num_classes=5)
    model = TimmVisionTransformer(c).eval()
    randomize_(model, seed)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        expected[f"logits.{width}x{heads}"] = model(expected["pixels"])[0]
    torch.save(lukemelas_state(sd, c["depth"]), os.path.join(out, f"heads-{width}x{heads}.lukemelas.pth"))
    if width == 48:
        folder = os.path.join(out, "heads-48x3-timm")
        os.makedirs(folder, exist_ok=True)
        safetensors_io.save(sd, os.path.join(folder, "model.safetensors"))
        config = {  # a timm hub config of a custom model: pretrained_cfg, no model_args
            "architecture": "vit_custom_patch2_8", "num_classes": 5, "global_pool": "token",
            "pretrained_cfg": {"input_size": [3, 8, 8], "interpolation": "bicubic", "mean": [0.5, 0.5, 0.5],
                               "std": [0.5, 0.5, 0.5], "num_classes": 5, "crop_pct": 1.0},
        }
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
safetensors_io.save({k: v.float().contiguous() for k, v in expected.items()}, os.path.join(out, "heads.expected.safetensors"))
print("wrote head-count fixtures to", out)
