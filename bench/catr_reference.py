#!/usr/bin/python3
"""CATR's own captioning loop (predict.py: the whole model, ResNet-101 included, rerun over the
128-position caption for every token) at CATR's real shapes with random weights: ResNet-101 with
layer4 dilated, hidden 256, 6 + 6 layers, 8 heads, vocabulary 30,522, a 299 x 224 image, exactly
`--tokens` generated tokens ([SEP] ignored). Prints one JSON line (seconds per caption, per token).

Usage: /usr/bin/python3 bench/catr_reference.py --tokens 16 --threads 2 --iters 1
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
from torchvision.models import resnet101
from torchvision.ops.misc import FrozenBatchNorm2d

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "reference"))
from catr import Caption, nested, predict  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--tokens", type=int, default=16)
p.add_argument("--iters", type=int, default=1)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

CFG = dict(hidden=256, heads=8, enc_layers=6, dec_layers=6, ff=2048, mlp=512, max_pos=128, eps=1e-12)
resnet = resnet101(replace_stride_with_dilation=[False, False, True], norm_layer=FrozenBatchNorm2d)
model = Caption(CFG, 30522, True, resnet, 2048).eval()
pixels = torch.randn(3, 299, 224)
predict(model, pixels, ignore_end=True, tokens=1)  # warm-up
times = []
for _ in range(a.iters):
    t0 = time.perf_counter()
    predict(model, pixels, ignore_end=True, tokens=a.tokens)
    times.append(time.perf_counter() - t0)
s = sorted(times)[len(times) // 2]
with torch.no_grad():  # the share of each token's rerun that is the ResNet-101
    t0 = time.perf_counter()
    model.features(*nested([pixels]))
    backbone = time.perf_counter() - t0
print(json.dumps({"engine": f"PyTorch {torch.__version__}", "caption_s": s, "per_token_s": s / a.tokens, "backbone_s": backbone, "tokens": a.tokens, "threads": a.threads,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
