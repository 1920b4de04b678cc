"""timm state-dict names -> lukemelas/PyTorch-Pretrained-ViT names, shared by the fixture scripts."""
import collections


def lukemelas_state(sd, depth):
    """timm names -> PyTorch-Pretrained-ViT names (q, k, v split out of the fused qkv)."""
    lm = collections.OrderedDict()
    lm["class_token"] = sd["cls_token"]
    lm["patch_embedding.weight"], lm["patch_embedding.bias"] = sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"]
    lm["positional_embedding.pos_embedding"] = sd["pos_embed"]
    for i in range(depth):
        t, b = f"blocks.{i}", f"transformer.blocks.{i}"
        for part, w, bias in zip("qkv", sd[f"{t}.attn.qkv.weight"].chunk(3), sd[f"{t}.attn.qkv.bias"].chunk(3)):
            lm[f"{b}.attn.proj_{part}.weight"], lm[f"{b}.attn.proj_{part}.bias"] = w.clone(), bias.clone()
        lm[f"{b}.proj.weight"], lm[f"{b}.proj.bias"] = sd[f"{t}.attn.proj.weight"], sd[f"{t}.attn.proj.bias"]
        lm[f"{b}.norm1.weight"], lm[f"{b}.norm1.bias"] = sd[f"{t}.norm1.weight"], sd[f"{t}.norm1.bias"]
        lm[f"{b}.pwff.fc1.weight"], lm[f"{b}.pwff.fc1.bias"] = sd[f"{t}.mlp.fc1.weight"], sd[f"{t}.mlp.fc1.bias"]
        lm[f"{b}.pwff.fc2.weight"], lm[f"{b}.pwff.fc2.bias"] = sd[f"{t}.mlp.fc2.weight"], sd[f"{t}.mlp.fc2.bias"]
        lm[f"{b}.norm2.weight"], lm[f"{b}.norm2.bias"] = sd[f"{t}.norm2.weight"], sd[f"{t}.norm2.bias"]
    lm["norm.weight"], lm["norm.bias"] = sd["norm.weight"], sd["norm.bias"]
    lm["fc.weight"], lm["fc.bias"] = sd["head.weight"], sd["head.bias"]
    return lm
