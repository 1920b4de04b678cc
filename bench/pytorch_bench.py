#!/usr/bin/python3
"""PyTorch (Debian python3-torch) forward on the same shapes as `vitlens bench`; prints one JSON line.

Usage: /usr/bin/python3 bench/pytorch_bench.py --preset vit-b16 --batch 8 --iters 5 --threads 2
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "reference"))
from vit_modules import TimmVisionTransformer  # noqa: E402
from presets import PRESETS  # noqa: E402


p = argparse.ArgumentParser()
p.add_argument("--preset", default="vit-b16")
p.add_argument("--batch", type=int, default=8)
p.add_argument("--iters", type=int, default=5)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--image-size", type=int, default=224)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--train", action="store_true", help="also time forward + backward + SGD-momentum step")
a = p.parse_args()
torch.set_num_threads(a.threads)
d, depth, heads, mlp, patch = PRESETS[a.preset]
model = TimmVisionTransformer(dict(embed_dim=d, depth=depth, num_heads=heads, mlp_dim=mlp, img_size=a.image_size,
                                   patch_size=patch, in_chans=3, qkv_bias=True, num_classes=1000)).eval()
x = torch.randn(a.batch, 3, a.image_size, a.image_size)
times = []
with torch.no_grad():
    for _ in range(a.warmup):
        model(x)
    for _ in range(a.iters):
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
result = {"engine": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(), "batch": a.batch,
          "forward_s": statistics.median(times), "forward_min_s": min(times), "images_per_s": a.batch / statistics.median(times)}
if a.train:
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)
    labels = torch.arange(a.batch) % 1000

    def step():
        opt.zero_grad()
        logits, _ = model(x)
        torch.nn.functional.cross_entropy(logits, labels).backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    steps = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        steps.append(time.perf_counter() - t0)
    result.update({"train_step_s": statistics.median(steps), "train_step_min_s": min(steps)})
print(json.dumps({**result,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
