"""Loads folders vitlens wrote in the HF layout (`vitlens convert --to hf`, or a run's best/) with
transformers itself and compares its output with what vitlens computed on the same pixels.

Each folder holds config.json, model.safetensors, preprocessor_config.json and expected.safetensors
(`pixels`, `out`: vitlens' logits, or a backbone's pooled features). Run in a temp venv with the
local wheel mirror (see families.py), e.g. on folders written by
`node --test dist/test/families-export.test.js` with VITLENS_KEEP_EXPORTS=/tmp/hfout:
    /tmp/venv/bin/python scripts/reference/check_hf_export.py /tmp/hfout
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torchvision_cpu_shim  # noqa: E402,F401
import torch  # noqa: E402
import transformers as T  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

root = sys.argv[1]
worst = 0.0
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    arch = json.load(open(os.path.join(d, "config.json")))["architectures"][0]
    model = getattr(T, arch).from_pretrained(d).eval()
    e = load_file(os.path.join(d, "expected.safetensors"))
    kw = {"interpolate_pos_encoding": True} if arch.startswith(("CLIP", "ViT", "DeiT")) else {}
    with torch.no_grad():
        r = model(pixel_values=e["pixels"], **kw)
    y = r.logits if getattr(r, "logits", None) is not None else r.pooler_output
    diff = float((y - e["out"]).abs().max())
    worst = max(worst, diff)
    print(f"{name:28} {arch:45} max |diff| {diff:.2e}")
print(f"worst {worst:.2e} (transformers {T.__version__}, torch {torch.__version__})")
sys.exit(0 if worst <= 1e-4 else 1)
