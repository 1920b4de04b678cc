#!/usr/bin/python3
"""bf16 mixed-precision references (numpy has no bf16; torch.bfloat16 rounds to nearest even):

- round.*   float32 values (ties, subnormals, overflow, infinities) and torch's bf16 rounding of them
- mm.*      a product of bf16-rounded operands accumulated in float64: what the emulation computes
- policy.*  timm-tiny's logits with vitlens' policy written in torch (every linear, conv and
            attention product on bf16-rounded operands, everything else float32)
- autocast.* the same logits under torch.autocast("cpu", bfloat16): a different policy (bf16
            outputs), for a loose sanity check only

Run with Debian's torch:  /usr/bin/python3 scripts/reference/bf16.py test/fixtures
"""
import os
import sys

import torch
from torch.overrides import TorchFunctionMode

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from vit_modules import TimmVisionTransformer  # noqa: E402

torch.manual_seed(0)
out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"


def bf16(t):
    return t.to(torch.bfloat16).to(torch.float32)


# Rounding: exact ties both ways, values just off a tie, subnormals, the overflow edge, infinities.
bits = [
    0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF, 0xBF808000, 0xBF818000,  # ties to even (+/-), near ties
    0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x80008000,  # subnormals
    0x7F7FFFFF, 0x7F7F7FFF, 0x7F7F8000, 0xFF7FFFFF,  # largest finite: rounds to inf or stays
    0x7F800000, 0xFF800000, 0x00000000, 0x80000000,  # infinities and zeros
]
special = torch.tensor(bits, dtype=torch.int64).to(torch.int32).view(torch.float32)
values = torch.cat([special, torch.randn(2000) * torch.exp(torch.randn(2000) * 8)])
tensors = {"round.in": values, "round.out": bf16(values)}

# One product (M, K) @ (K, N) on rounded operands, accumulated in float64 then stored as float32.
a, b = torch.randn(9, 37), torch.randn(37, 11)
tensors.update({"mm.a": a, "mm.b": b, "mm.emulated": (bf16(a).double() @ bf16(b).double()).float()})


class Bf16Products(TorchFunctionMode):
    """vitlens' policy: matrix products (linear, conv as patch embedding, @) on bf16-rounded operands."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        # By name: the same product reaches the mode as torch.conv2d or F.conv2d, Tensor.matmul or torch.matmul.
        if getattr(func, "__name__", "") in ("linear", "conv2d", "matmul", "__matmul__", "bmm"):
            args = (bf16(args[0]), bf16(args[1])) + tuple(args[2:])
        return func(*args, **kwargs)


CONFIG = dict(embed_dim=24, depth=2, num_heads=3, mlp_dim=96, img_size=24, patch_size=4, in_chans=3, qkv_bias=True, num_classes=3)
model = TimmVisionTransformer(CONFIG).eval()
model.load_state_dict(safetensors_io.load(os.path.join(out, "timm-tiny", "model.safetensors")))
pixels = safetensors_io.load(os.path.join(out, "timm-tiny.expected.safetensors"))["pixels"]
with torch.no_grad():
    with Bf16Products():
        tensors["policy.logits"] = model(pixels)[0].float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tensors["autocast.logits"] = model(pixels)[0].float()
    tensors["fp32.logits"] = model(pixels)[0]
path = os.path.join(out, "bf16.expected.safetensors")
safetensors_io.save(tensors, path)
print("wrote", path)
