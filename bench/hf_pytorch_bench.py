"""The PyTorch people install today as the anchor: HF transformers' ViTForImageClassification
(sdpa attention) on a current PyTorch CPU wheel, at `vitlens bench`'s shapes; fp32, bf16 autocast,
and torch.compile for the forward; a training step (forward, cross-entropy, backward, SGD with
momentum) in fp32 and bf16 autocast. Prints one JSON line. Run in a temp venv with the local wheel
mirror (pip install torch==2.13.0+cpu transformers), e.g.
    /tmp/venv/bin/python bench/hf_pytorch_bench.py --preset vit-b16 --batch 8 --iters 3 --threads 2 [--train] [--compile]
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "reference"))
sys.path.insert(0, os.path.dirname(__file__))
import torchvision_cpu_shim  # noqa: E402,F401
import torch  # noqa: E402
import transformers as T  # noqa: E402
from presets import PRESETS  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--preset", default="vit-b16")
p.add_argument("--batch", type=int, default=8)
p.add_argument("--iters", type=int, default=3)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--image-size", type=int, default=224)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--train", action="store_true")
p.add_argument("--compile", action="store_true", help="also time torch.compile's forward (fp32 and bf16 autocast)")
p.add_argument("--bf16-anyway", action="store_true", help="time bf16 autocast on a CPU without bf16 units too (PyTorch's slow path; vitlens refuses native bf16 there)")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
d, depth, heads, mlp, patch = PRESETS[a.preset]
config = T.ViTConfig(hidden_size=d, num_hidden_layers=depth, num_attention_heads=heads, intermediate_size=mlp, image_size=a.image_size,
                     patch_size=patch, num_labels=1000, attn_implementation="sdpa")
model = T.ViTForImageClassification(config)
x = torch.randn(a.batch, 3, a.image_size, a.image_size)
labels = torch.randint(0, 1000, (a.batch,))


def timed(fn):
    for _ in range(a.warmup):
        fn()
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def forward(m, bf16):
    def run():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            m(pixel_values=x)
    return run


out = {"engine": f"transformers {T.__version__} ViT (sdpa), torch {torch.__version__}", "preset": a.preset, "batch": a.batch, "threads": a.threads,
       "bf16_cpu": torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()}
model.eval()
bf16 = out["bf16_cpu"] or a.bf16_anyway  # without bf16 units autocast runs minutes per step: nothing to compare
out["forward_s"] = timed(forward(model, False))
if bf16:
    out["forward_bf16_s"] = timed(forward(model, True))
if a.compile:
    compiled = torch.compile(model)
    out["compile_forward_s"] = timed(forward(compiled, False))
    if bf16:
        out["compile_forward_bf16_s"] = timed(forward(compiled, True))
if a.train:
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)

    def step(bf16):
        def run():
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model(pixel_values=x, labels=labels).loss
            loss.backward()
            opt.step()
        return run
    out["train_step_s"] = timed(step(False))
    if bf16:
        out["train_step_bf16_s"] = timed(step(True))
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
