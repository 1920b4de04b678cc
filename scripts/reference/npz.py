#!/usr/bin/python3
"""Google ViT .npz fixture: the timm-tiny weights saved under the original JAX checkpoint's names
and layouts (embedding/kernel HWIO, attention kernels (D, heads, hd), out kernel (heads, hd, D),
Dense kernels (in, out)), so its logits must equal timm-tiny's.

Run with Debian's torch + numpy:  /usr/bin/python3 scripts/reference/npz.py test/fixtures
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
sd = {k: v.numpy() for k, v in safetensors_io.load(os.path.join(out, "timm-tiny", "model.safetensors")).items()}
D, heads = 24, 3
hd = D // heads
g = {
    "embedding/kernel": sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0),  # (out, in, h, w) -> (h, w, in, out)
    "embedding/bias": sd["patch_embed.proj.bias"],
    "cls": sd["cls_token"],
    "Transformer/posembed_input/pos_embedding": sd["pos_embed"],
    "Transformer/encoder_norm/scale": sd["norm.weight"],
    "Transformer/encoder_norm/bias": sd["norm.bias"],
    "head/kernel": sd["head.weight"].T,
    "head/bias": sd["head.bias"],
}
for i in range(2):
    b, t = f"Transformer/encoderblock_{i}", f"blocks.{i}"
    g[f"{b}/LayerNorm_0/scale"], g[f"{b}/LayerNorm_0/bias"] = sd[f"{t}.norm1.weight"], sd[f"{t}.norm1.bias"]
    g[f"{b}/LayerNorm_2/scale"], g[f"{b}/LayerNorm_2/bias"] = sd[f"{t}.norm2.weight"], sd[f"{t}.norm2.bias"]
    qkv_w, qkv_b = np.split(sd[f"{t}.attn.qkv.weight"], 3), np.split(sd[f"{t}.attn.qkv.bias"], 3)
    for name, w, bias in zip(("query", "key", "value"), qkv_w, qkv_b):
        g[f"{b}/MultiHeadDotProductAttention_1/{name}/kernel"] = w.T.reshape(D, heads, hd)
        g[f"{b}/MultiHeadDotProductAttention_1/{name}/bias"] = bias.reshape(heads, hd)
    g[f"{b}/MultiHeadDotProductAttention_1/out/kernel"] = sd[f"{t}.attn.proj.weight"].T.reshape(heads, hd, D)
    g[f"{b}/MultiHeadDotProductAttention_1/out/bias"] = sd[f"{t}.attn.proj.bias"]
    for j, fc in ((0, "fc1"), (1, "fc2")):
        g[f"{b}/MlpBlock_3/Dense_{j}/kernel"] = sd[f"{t}.mlp.{fc}.weight"].T
        g[f"{b}/MlpBlock_3/Dense_{j}/bias"] = sd[f"{t}.mlp.{fc}.bias"]
np.savez(os.path.join(out, "timm-tiny.google.npz"), **{k: np.ascontiguousarray(v, dtype=np.float32) for k, v in g.items()})
print("wrote", os.path.join(out, "timm-tiny.google.npz"))
