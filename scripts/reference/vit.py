#!/usr/bin/python3
"""Writes the ViT parity fixtures: small random ViTs in HF and timm layouts, PNG inputs at the
model's native size, and the expected pixels, logits and attention probabilities.

Run with Debian's torch:  /usr/bin/python3 scripts/reference/vit.py test/fixtures
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from vit_modules import HFViTForImageClassification, HFViTModel, TimmVisionTransformer, randomize_  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def images(out_dir, prefix, size, count, seed, mean, std):
    """Random RGB PNGs (smooth plus noise) and the pixel tensor HF's processor makes of them."""
    rng = np.random.default_rng(seed)
    pixels = []
    for i in range(count):
        yy, xx = np.mgrid[0:size, 0:size] / size
        base = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), xx * yy], -1)
        img = np.clip((base * 0.5 + 0.5) * 200 + rng.integers(0, 55, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(out_dir, f"{prefix}-{i}.png"))
        x = torch.from_numpy(img).float().permute(2, 0, 1) / 255.0
        pixels.append((x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None])
    return torch.stack(pixels)


def expected(path, pixels, logits, attentions, extra=None):
    t = {"pixels": pixels, "logits": logits}
    t.update({f"attention.{i}": a for i, a in enumerate(attentions)})
    t.update(extra or {})
    safetensors_io.save({k: v.detach().float().contiguous() for k, v in t.items()}, path)


def hf_fixture(out):
    c = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, image_size=32,
             patch_size=8, num_channels=3, layer_norm_eps=1e-12, qkv_bias=True,
             id2label={str(i): name for i, name in enumerate(["cat", "coffee", "rocket", "astronaut", "other"])})
    model = HFViTForImageClassification(c).eval()
    randomize_(model, 1)
    d = os.path.join(out, "hf-tiny")
    os.makedirs(d, exist_ok=True)
    safetensors_io.save(model.state_dict(), os.path.join(d, "model.safetensors"), {"format": "pt"})
    write_json(os.path.join(d, "config.json"), {
        "architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "initializer_range": 0.02,
        "encoder_stride": 8, "label2id": {v: int(k) for k, v in c["id2label"].items()}, **c})
    write_json(os.path.join(d, "preprocessor_config.json"), {
        "image_processor_type": "ViTImageProcessor", "do_resize": True, "size": {"height": 32, "width": 32},
        "resample": 2, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]})
    pixels = images(out, "hf-tiny", 32, 2, 10, [0.5] * 3, [0.5] * 3)
    with torch.no_grad():
        logits, attentions = model(pixels)
    expected(os.path.join(out, "hf-tiny.expected.safetensors"), pixels, logits, attentions)

    # The same encoder saved as HF's bare ViTModel (no "vit." prefix, pooler, no classifier).
    bare = HFViTModel(c, pooler=True).eval()
    bare.load_state_dict({**model.vit.state_dict(), "pooler.dense.weight": torch.eye(32), "pooler.dense.bias": torch.zeros(32)})
    d2 = os.path.join(out, "hf-tiny-vitmodel")
    os.makedirs(d2, exist_ok=True)
    safetensors_io.save(bare.state_dict(), os.path.join(d2, "model.safetensors"))
    cfg = {k: v for k, v in c.items() if k != "id2label"}
    write_json(os.path.join(d2, "config.json"), {"architectures": ["ViTModel"], "model_type": "vit", **cfg})
    with torch.no_grad():
        hidden, _ = bare(pixels)
    expected(os.path.join(out, "hf-tiny-vitmodel.expected.safetensors"), pixels, hidden[:, 0], [])


def timm_fixture(out):
    c = dict(embed_dim=24, depth=2, num_heads=3, mlp_dim=96, img_size=24, patch_size=4, in_chans=3,
             qkv_bias=True, num_classes=3)
    model = TimmVisionTransformer(c).eval()
    randomize_(model, 2)
    d = os.path.join(out, "timm-tiny")
    os.makedirs(d, exist_ok=True)
    safetensors_io.save(model.state_dict(), os.path.join(d, "model.safetensors"))
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    write_json(os.path.join(d, "config.json"), {
        "architecture": "vit_tiny_patch4_24", "num_classes": 3, "num_features": 24, "global_pool": "token",
        "model_args": {"embed_dim": 24, "depth": 2, "num_heads": 3, "mlp_ratio": 4.0, "patch_size": 4, "img_size": 24},
        "pretrained_cfg": {"input_size": [3, 24, 24], "interpolation": "bicubic", "mean": mean, "std": std,
                           "num_classes": 3, "crop_pct": 1.0, "label_names": ["shirt", "bag", "boot"]}})
    pixels = images(out, "timm-tiny", 24, 2, 20, mean, std)
    with torch.no_grad():
        logits, attentions = model(pixels)
    expected(os.path.join(out, "timm-tiny.expected.safetensors"), pixels, logits, attentions)

    # Half precision on disk: vitlens computes in float32 on the widened weights.
    half = {k: v.half() for k, v in model.state_dict().items()}
    safetensors_io.save(half, os.path.join(out, "timm-tiny.f16.safetensors"))
    model.load_state_dict({k: v.float() for k, v in half.items()})
    with torch.no_grad():
        logits16, _ = model(pixels)
    expected(os.path.join(out, "timm-tiny.f16.expected.safetensors"), pixels, logits16, [])


def posemb_fixture(out):
    """Bicubic resampling of a position-embedding grid, as timm's resample_abs_pos_embed does."""
    g = torch.Generator().manual_seed(3)
    grid = torch.randn(1, 5, 4, 6, generator=g)  # (1, D, gh, gw)
    cases = {"grid": grid}
    for h, w in [(8, 10), (3, 2), (5, 9)]:
        cases[f"to_{h}x{w}"] = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
    safetensors_io.save(cases, os.path.join(out, "posemb-bicubic.expected.safetensors"))


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
    os.makedirs(out, exist_ok=True)
    hf_fixture(out)
    timm_fixture(out)
    posemb_fixture(out)
    print(f"wrote fixtures to {out}")
