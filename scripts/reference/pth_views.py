#!/usr/bin/python3
"""torch.save files whose tensors are views, and a training checkpoint with non-tensor entries.

Writes into the fixtures folder:
  views.pth                 a transposed tensor (t.t()), two views of one storage (one at an offset),
                            a non-contiguous slice, a permuted 3-D view, a float16 transposed view
  views.expected.safetensors  each of them as the contiguous float32 copy torch reads back
  train-checkpoint.pth      what a training script saves: {"model": state dict with float16/bfloat16/
                            int64 tensors, "optimizer": SGD state after one step, "epoch", "best_acc",
                            "arch", "tags", "betas", "ema": {...}, "note": None}

Run with Debian's torch:  /usr/bin/python3 scripts/reference/pth_views.py test/fixtures
"""
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
g = torch.Generator().manual_seed(10)
base = torch.randn(6, 5, generator=g)
shared = torch.randn(40, generator=g)
cube = torch.randn(2, 3, 4, generator=g)
views = collections.OrderedDict(
    transposed=base.t(),  # (5, 6), stride (1, 5)
    shared_a=shared[:12].view(3, 4),  # storage offset 0
    shared_b=shared[16:36].view(4, 5),  # the same storage at offset 16
    sliced=base[1:5, ::2],  # (4, 3), stride (10, 2), offset 5
    permuted=cube.permute(2, 0, 1),  # (4, 2, 3)
    half_t=torch.randn(3, 2, generator=g).half().t(),
)
assert not views["transposed"].is_contiguous() and not views["sliced"].is_contiguous()
assert views["shared_a"].storage().data_ptr() == views["shared_b"].storage().data_ptr()
assert views["shared_b"].storage_offset() == 16 and views["sliced"].storage_offset() == 5
torch.save(views, os.path.join(out, "views.pth"))
reread = torch.load(os.path.join(out, "views.pth"))
assert all(torch.equal(reread[k], v) for k, v in views.items())
safetensors_io.save({k: v.float().contiguous() for k, v in views.items()}, os.path.join(out, "views.expected.safetensors"))

model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
model(torch.randn(5, 4, generator=g)).square().mean().backward()
opt.step()
state = model.state_dict()
state["2.weight_f16"] = state["2.weight"].half()
state["2.weight_bf16"] = state["2.weight"].bfloat16()
state["0.mask"] = torch.tensor([True, False, True])
state["0.index"] = torch.tensor([3, -1, 7], dtype=torch.int32)
state["0.bytes"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
torch.save({
    "model": state,
    "optimizer": opt.state_dict(),
    "epoch": 3,
    "best_acc": 0.8125,
    "arch": "vit_tiny",
    "tags": ["a", "b"],
    "betas": (0.9, 0.999),
    "ema": {"decay": 0.999, "steps": 120},
    "note": None,
}, os.path.join(out, "train-checkpoint.pth"))
print("wrote views.pth, views.expected.safetensors and train-checkpoint.pth to", out)
