#!/usr/bin/python3
"""Expected `vitlens tensors` listings, computed by numpy and torch from the files themselves.

Writes into the fixtures folder:
  sharded-tiny/             a few timm-tiny tensors (one float16) in two safetensors shards and
                            model.safetensors.index.json (the layout transformers writes)
  tensors.expected.json     {file: [{name, dtype, shape, min, max, mean} | {name, type, value}]}
                            for every listed fixture: stats in float64 (numpy's min/max/mean of
                            the array widened to float64), .pth dicts flattened with dots

Run after npy_layouts.py and pth_views.py:  /usr/bin/python3 scripts/reference/tensors.py test/fixtures
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"

sd = safetensors_io.load(os.path.join(out, "timm-tiny", "model.safetensors"))
shards = {
    "model-00001-of-00002.safetensors": {"cls_token": sd["cls_token"], "pos_embed": sd["pos_embed"].half()},
    "model-00002-of-00002.safetensors": {"norm.weight": sd["norm.weight"], "norm.bias": sd["norm.bias"], "head.bias": sd["head.bias"]},
}
os.makedirs(os.path.join(out, "sharded-tiny"), exist_ok=True)
weight_map = {}
for file, tensors in shards.items():
    safetensors_io.save(tensors, os.path.join(out, "sharded-tiny", file), {"format": "pt"})
    weight_map.update({k: file for k in tensors})
with open(os.path.join(out, "sharded-tiny", "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)

TORCH_DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64",
    torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
NUMPY_DTYPES = {"f2": "F16", "f4": "F32", "f8": "F64", "i1": "I8", "i2": "I16", "i4": "I32", "i8": "I64", "u1": "U8", "b1": "BOOL"}


def stats(a):
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return {"min": None, "max": None, "mean": None}
    return {"min": float(a.min()), "max": float(a.max()), "mean": float(a.mean())}


def tensor_row(name, t):
    return {"name": name, "dtype": TORCH_DTYPES[t.dtype], "shape": list(t.shape), **stats(t.double().numpy())}


def flatten(v, name, rows):
    key = (lambda k: f"{name}.{k}" if name else str(k))
    if isinstance(v, torch.Tensor):
        rows.append(tensor_row(name, v))
    elif isinstance(v, dict) and v:
        for k, x in v.items():
            flatten(x, key(k), rows)
    elif isinstance(v, (list, tuple)) and any(isinstance(x, (torch.Tensor, dict, list, tuple)) for x in v):
        for i, x in enumerate(v):
            flatten(x, key(i), rows)
    else:
        kind = "None" if v is None else type(v).__name__
        rows.append({"name": name, "type": kind, "value": list(v) if isinstance(v, tuple) else v})


listings = {}
for file in ["train-checkpoint.pth", "views.pth", "timm-tiny.nested.pth"]:
    rows = []
    flatten(torch.load(os.path.join(out, file)), "", rows)
    listings[file] = rows
for file in ["timm-tiny/model.safetensors", "sharded-tiny/model.safetensors.index.json"]:
    paths = [os.path.join(out, file)] if file.endswith(".safetensors") else [os.path.join(out, "sharded-tiny", s) for s in shards]
    listings[file] = [tensor_row(n, t) for p in paths for n, t in safetensors_io.load(p).items()]
for file in ["npy-layouts.npz", "npy-layouts.compressed.npz", "timm-tiny.google-layouts.npz"]:
    with np.load(os.path.join(out, file)) as z:
        listings[file] = [{"name": n, "dtype": NUMPY_DTYPES[z[n].dtype.str[1:]], "shape": list(z[n].shape), **stats(z[n])} for n in z.files]
with open(os.path.join(out, "tensors.expected.json"), "w") as f:  # one row per line: short, readable diffs
    files = [f' "{file}": [\n' + ",\n".join("  " + json.dumps(r, separators=(",", ":")) for r in rows) + "\n ]" for file, rows in listings.items()]
    f.write("{\n" + ",\n".join(files) + "\n}\n")
print("wrote sharded-tiny/ and tensors.expected.json to", out)
