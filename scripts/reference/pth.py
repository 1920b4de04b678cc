#!/usr/bin/python3
"""PyTorch .pth fixtures with torch.save: the timm-tiny weights under timm's names (plain and nested
under "state_dict"), under lukemelas/PyTorch-Pretrained-ViT's names, and a file whose pickle
calls os.system (which vitlens must refuse to load).

Run with Debian's torch:  /usr/bin/python3 scripts/reference/pth.py test/fixtures
"""
import collections
import os
import pickle
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from lukemelas_keys import lukemelas_state  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
sd = safetensors_io.load(os.path.join(out, "timm-tiny", "model.safetensors"))
timm = collections.OrderedDict((k, v.clone()) for k, v in sd.items())
torch.save(timm, os.path.join(out, "timm-tiny.pth"))
torch.save({"state_dict": timm, "epoch": 3}, os.path.join(out, "timm-tiny.nested.pth"))

lm = lukemelas_state(sd, depth=2)
torch.save(lm, os.path.join(out, "timm-tiny.lukemelas.pth"))


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


torch.save({"weights": Evil()}, os.path.join(out, "evil.pth"))
print("wrote .pth fixtures to", out)
