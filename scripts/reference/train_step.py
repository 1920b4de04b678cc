#!/usr/bin/python3
"""Training-step parity fixtures: the timm-tiny checkpoint, its reference batch, and after
two steps of SGD (momentum, weight decay) and of AdamW, every parameter; plus step 1's gradients.

Run with Debian's torch:  /usr/bin/python3 scripts/reference/train_step.py test/fixtures
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from vit_modules import TimmVisionTransformer  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
CONFIG = dict(embed_dim=24, depth=2, num_heads=3, mlp_dim=96, img_size=24, patch_size=4, in_chans=3, qkv_bias=True, num_classes=3)
LABELS = torch.tensor([1, 2])
RECIPES = {
    "sgd": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-4), 0.0),
    "adamw": (lambda ps: torch.optim.AdamW(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05), 0.1),
}


def fresh_model():
    model = TimmVisionTransformer(CONFIG)
    model.load_state_dict(safetensors_io.load(os.path.join(out, "timm-tiny", "model.safetensors")))
    return model.train()  # no dropout layers: train mode only enables autograd bookkeeping


pixels = safetensors_io.load(os.path.join(out, "timm-tiny.expected.safetensors"))["pixels"]
tensors = {}
for name, (make_opt, smoothing) in RECIPES.items():
    model = fresh_model()
    opt = make_opt(model.parameters())
    for step in range(2):
        opt.zero_grad()
        logits, _ = model(pixels)
        loss = F.cross_entropy(logits, LABELS, label_smoothing=smoothing)
        loss.backward()
        if step == 0:
            tensors[f"{name}.loss0"] = loss.detach().reshape(1)
            for k, p in model.named_parameters():
                tensors[f"{name}.grad0.{k}"] = p.grad.detach().clone()
        opt.step()
    for k, p in model.named_parameters():
        tensors[f"{name}.after2.{k}"] = p.detach().clone()
safetensors_io.save(tensors, os.path.join(out, "timm-tiny.train-steps.safetensors"))
print("wrote", os.path.join(out, "timm-tiny.train-steps.safetensors"))
