#!/usr/bin/python3
"""PyTorch .pth fixtures with torch.save: the timm-tiny weights under timm's names (plain and nested
under "state_dict"), under lukemelas/PyTorch-Pretrained-ViT's names, and a file whose pickle
calls os.system (which vitlens must refuse to load).

Run with Debian's torch:  /usr/bin/python3 scripts/reference/pth.py test/fixtures
"""
import collections
import os
import pickle
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
sd = safetensors_io.load(os.path.join(out, "timm-tiny", "model.safetensors"))
timm = collections.OrderedDict((k, v.clone()) for k, v in sd.items())
torch.save(timm, os.path.join(out, "timm-tiny.pth"))
torch.save({"state_dict": timm, "epoch": 3}, os.path.join(out, "timm-tiny.nested.pth"))

lm = collections.OrderedDict()
lm["class_token"] = sd["cls_token"]
lm["patch_embedding.weight"], lm["patch_embedding.bias"] = sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"]
lm["positional_embedding.pos_embedding"] = sd["pos_embed"]
for i in range(2):
    t, b = f"blocks.{i}", f"transformer.blocks.{i}"
    q, k, v = sd[f"{t}.attn.qkv.weight"].chunk(3)
    qb, kb, vb = sd[f"{t}.attn.qkv.bias"].chunk(3)
    for name, w, bias in (("q", q, qb), ("k", k, kb), ("v", v, vb)):
        lm[f"{b}.attn.proj_{name}.weight"], lm[f"{b}.attn.proj_{name}.bias"] = w.clone(), bias.clone()
    lm[f"{b}.proj.weight"], lm[f"{b}.proj.bias"] = sd[f"{t}.attn.proj.weight"], sd[f"{t}.attn.proj.bias"]
    lm[f"{b}.norm1.weight"], lm[f"{b}.norm1.bias"] = sd[f"{t}.norm1.weight"], sd[f"{t}.norm1.bias"]
    lm[f"{b}.pwff.fc1.weight"], lm[f"{b}.pwff.fc1.bias"] = sd[f"{t}.mlp.fc1.weight"], sd[f"{t}.mlp.fc1.bias"]
    lm[f"{b}.pwff.fc2.weight"], lm[f"{b}.pwff.fc2.bias"] = sd[f"{t}.mlp.fc2.weight"], sd[f"{t}.mlp.fc2.bias"]
    lm[f"{b}.norm2.weight"], lm[f"{b}.norm2.bias"] = sd[f"{t}.norm2.weight"], sd[f"{t}.norm2.bias"]
lm["norm.weight"], lm["norm.bias"] = sd["norm.weight"], sd["norm.bias"]
lm["fc.weight"], lm["fc.bias"] = sd["head.weight"], sd["head.bias"]
torch.save(lm, os.path.join(out, "timm-tiny.lukemelas.pth"))


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


torch.save({"weights": Evil()}, os.path.join(out, "evil.pth"))
print("wrote .pth fixtures to", out)
