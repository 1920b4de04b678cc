#!/usr/bin/python3
"""Explanation fixtures on the hf-tiny model: position-embedding cosine similarity, attention
rollout (mean/max/min fusion, with and without discarding), and Chefer et al.'s gradient-weighted
attention relevance, with attention gradients from autograd.

Run with Debian's torch:  /usr/bin/python3 scripts/reference/explain.py test/fixtures
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

torch.set_num_threads(1)
out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
state = safetensors_io.load(os.path.join(out, "hf-tiny", "model.safetensors"))
pixels = safetensors_io.load(os.path.join(out, "hf-tiny.expected.safetensors"))["pixels"]
H, eps = 4, 1e-12


def forward(x):
    """HF ViT forward written out, keeping each layer's attention probabilities as graph leaves' views."""
    p = lambda k: state[k]  # noqa: E731
    e = torch.nn.functional.conv2d(x, p("vit.embeddings.patch_embeddings.projection.weight"), p("vit.embeddings.patch_embeddings.projection.bias"), stride=8)
    e = e.flatten(2).transpose(1, 2)
    h = torch.cat([p("vit.embeddings.cls_token").expand(x.shape[0], -1, -1), e], 1) + p("vit.embeddings.position_embeddings")
    probs_all = []
    for i in range(2):
        k = f"vit.encoder.layer.{i}"
        ln = torch.nn.functional.layer_norm(h, (32,), p(f"{k}.layernorm_before.weight"), p(f"{k}.layernorm_before.bias"), eps)
        split = lambda t: t.view(t.shape[0], t.shape[1], H, 8).permute(0, 2, 1, 3)  # noqa: E731
        lin = lambda t, n: torch.nn.functional.linear(t, p(f"{k}.{n}.weight"), p(f"{k}.{n}.bias"))  # noqa: E731
        q, kk, v = (split(lin(ln, f"attention.attention.{n}")) for n in ("query", "key", "value"))
        probs = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(8), -1)
        probs.retain_grad()
        probs_all.append(probs)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(h.shape)
        h = h + lin(ctx, "attention.output.dense")
        ln2 = torch.nn.functional.layer_norm(h, (32,), p(f"{k}.layernorm_after.weight"), p(f"{k}.layernorm_after.bias"), eps)
        h = h + lin(torch.nn.functional.gelu(lin(ln2, "intermediate.dense")), "output.dense")
    h = torch.nn.functional.layer_norm(h, (32,), p("vit.layernorm.weight"), p("vit.layernorm.bias"), eps)
    return torch.nn.functional.linear(h[:, 0], p("classifier.weight"), p("classifier.bias")), probs_all


def fuse(a, how):
    return {"mean": a.mean(1), "max": a.max(1)[0], "min": a.min(1)[0]}[how]


def rollout(atts, how, discard):
    n = atts[0].shape[-1]
    result = torch.eye(n).expand(atts[0].shape[0], n, n)
    for att in atts:
        a = fuse(att, how).clone()
        if discard > 0:
            for b in range(a.shape[0]):
                flat = a[b].reshape(-1).clone()
                keep_cls = torch.arange(n * n) % n == 0
                order = sorted((i for i in range(n * n) if not keep_cls[i]), key=lambda i: (flat[i].item(), i))
                flat[order[: int(n * n * discard)]] = 0
                a[b] = flat.view(n, n)
        a = a + torch.eye(n)
        a = a / a.sum(-1, keepdim=True)
        result = a @ result
    return result[:, 0, 1:]


pos = state["vit.embeddings.position_embeddings"][0, 1:]
unit = pos / pos.norm(dim=-1, keepdim=True)
tensors = {"posemb_similarity": unit @ unit.T}
logits, atts = forward(pixels.clone().requires_grad_(True))
atts_d = [a.detach() for a in atts]
for how in ("mean", "max", "min"):
    tensors[f"rollout.{how}"] = rollout(atts_d, how, 0.0)
tensors["rollout.mean.discard0.5"] = rollout(atts_d, "mean", 0.5)
target = logits.argmax(-1)
logits.gather(1, target[:, None]).sum().backward()  # per image, its own predicted class
n = atts[0].shape[-1]
R = torch.eye(n).repeat(pixels.shape[0], 1, 1)
for a in atts:
    cam = (a.grad * a.detach()).clamp(min=0).mean(1)
    R = R + cam @ R
tensors["attribution.predicted"] = R[:, 0, 1:]
tensors["target"] = target.float()
for i, a in enumerate(atts):
    tensors[f"attention_grad.{i}"] = a.grad
safetensors_io.save({k: v.contiguous().float() for k, v in tensors.items()}, os.path.join(out, "hf-tiny.explain.safetensors"))
print("wrote", os.path.join(out, "hf-tiny.explain.safetensors"))
