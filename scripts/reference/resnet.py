#!/usr/bin/python3
"""ResNet trunks as DETR / CATR hold them (`backbone.0.body.*`: torchvision's ResNet without
avgpool / fc, FrozenBatchNorm2d), built with torchvision's own ResNet._make_layer, BasicBlock and
Bottleneck, at tiny widths so the fixtures stay small:
  resnet-bottleneck.pth  Bottleneck, stem 8, planes 4/8/8/16 (outputs 16/32/32/64), layers [1, 1, 2, 2]
                         (two blocks in layer4: the second is the one dilated by 2)
  resnet-basic.pth       BasicBlock, stem 8, planes 4/8/8/16, layers [2, 1, 2, 1]
BatchNorm statistics are calibrated (a few random batches in train mode, cumulative average),
then the BNs become FrozenBatchNorm2d (eps 1e-5) as in DETR; the affine weights are random too,
so folding them into the convolutions is exercised. Expected features (torchvision's forward)
for a real photo crop (samples/cat.jpg, 64x48, CATR's normalization: mean = std = 0.5) and a
batch of two odd-sized 37x29 random inputs, with layer4 dilated (CATR:
replace_stride_with_dilation=[False, False, True]) and not. resnet-torchvision-shapes.json: the
state-dict shapes of torchvision's resnet18/34/50/101/152.

  /usr/bin/python3 scripts/reference/resnet.py test/fixtures
  /usr/bin/python3 scripts/reference/resnet.py --full DIR   ResNet-101 at 299x224 (not a fixture:
      ~170 MB; bench/resnet-compare.js writes and times it against vitlens)
"""
import os
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet, resnet101
from torchvision.ops.misc import FrozenBatchNorm2d

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

PREFIX = "backbone.0.body."
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


class TinyResNet(ResNet):
    """torchvision's ResNet with chosen stem and layer widths (its own _make_layer and blocks)."""

    def __init__(self, block, layers, stem, planes, dilate, norm_layer):
        nn.Module.__init__(self)
        self._norm_layer = norm_layer
        self.inplanes, self.dilation, self.groups, self.base_width = stem, 1, 1, 64
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, planes[3], layers[3], stride=2, dilate=dilate)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # calibration runs the whole model; DETR's body drops these
        self.fc = nn.Linear(planes[3] * block.expansion, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def calibrated_state(make, seed, size):
    """Random conv weights and BN affines; running statistics from a few random batches."""
    torch.manual_seed(seed)
    model = make(nn.BatchNorm2d)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batches
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0.0, 0.1)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(4, 3, *size))
    return model.state_dict()


def frozen_body(make, state):
    """DETR's backbone body: the trunk with FrozenBatchNorm2d, layer4's output as "0"."""
    model = make(FrozenBatchNorm2d)
    model.load_state_dict({k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}, strict=False)
    return IntermediateLayerGetter(model, return_layers={"layer4": "0"}).eval()


class DetrFrozenBatchNorm2d(FrozenBatchNorm2d):
    """DETR's / CATR's own FrozenBatchNorm2d: the same arithmetic, but no extra_repr, so
    print() shows "FrozenBatchNorm2d()" (what `vitlens inspect` reproduces)."""

    def __repr__(self):
        return nn.Module.__repr__(self)


DetrFrozenBatchNorm2d.__name__ = "FrozenBatchNorm2d"


def features(body, pixels):
    with torch.no_grad():
        return body(pixels)["0"]


def photo_pixels(path, w, h):
    """A w x h centre crop of the photo shrunk to 80 wide, normalized like CATR (mean = std = 0.5)."""
    img = Image.open(path).convert("RGB")
    img = img.resize((80, round(img.height * 80 / img.width)), Image.BICUBIC)
    left, top = (img.width - w) // 2, (img.height - h) // 2
    x = torch.from_numpy(np.asarray(img.crop((left, top, left + w, top + h)), dtype=np.float32) / 255.0)
    return ((x.permute(2, 0, 1) - 0.5) / 0.5)[None].contiguous()  # (1, 3, h, w)


def fixtures(out):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    photo = photo_pixels(os.path.join(ROOT, "samples", "cat.jpg"), 64, 48)
    odd = torch.randn(2, 3, 37, 29, generator=torch.Generator().manual_seed(7))
    expected = {"pixels.photo": photo, "pixels.odd": odd}
    tiny = {
        "bottleneck": (Bottleneck, [1, 1, 2, 2], 11),
        "basic": (BasicBlock, [2, 1, 2, 1], 12),
    }
    for name, (block, layers, seed) in tiny.items():
        def make(norm, dilate=True, block=block, layers=layers):
            return TinyResNet(block, layers, 8, [4, 8, 8, 16], dilate and block is Bottleneck, norm)

        state = calibrated_state(make, seed, (64, 48))
        body = frozen_body(make, state)
        sd = {PREFIX + k: v for k, v in body.state_dict().items()}
        with open(os.path.join(out, f"resnet-{name}.print.txt"), "w") as f:
            f.write(str(frozen_body(lambda norm: make(DetrFrozenBatchNorm2d), state)) + "\n")
        torch.save(sd, os.path.join(out, f"resnet-{name}.pth"))
        if block is Bottleneck:  # CATR's default: layer4 dilated; and the same weights undilated
            expected[f"{name}.dilated.photo"] = features(body, photo)
            expected[f"{name}.dilated.odd"] = features(body, odd)
            plain = frozen_body(lambda norm: make(norm, dilate=False), state)
            expected[f"{name}.photo"] = features(plain, photo)
        else:
            expected[f"{name}.photo"] = features(body, photo)
            expected[f"{name}.odd"] = features(body, odd)
    safetensors_io.save(expected, os.path.join(out, "resnet.expected.safetensors"))
    torchvision_shapes(out)
    for k, v in expected.items():
        print(k, tuple(v.shape), f"std {v.std():.3f}")


def torchvision_shapes(out):
    """The state-dict shapes of torchvision's resnet18/34/50/101/152 (fc included, BatchNorm as
    its weight only: bias and running statistics have the same shape): what vitlens must read
    the depth and block type from. Shapes only, so the fixture stays small."""
    import json
    from torchvision import models
    listing = {}
    for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]:
        sd = getattr(models, name)().state_dict()
        listing[name] = {k: list(v.shape) for k, v in sd.items()
                         if not k.endswith(("num_batches_tracked", "running_mean", "running_var"))
                         and not (k.endswith(".bias") and k[:-5] + ".running_mean" in sd)}
    with open(os.path.join(out, "resnet-torchvision-shapes.json"), "w") as f:
        json.dump(listing, f, separators=(",", ":"))


def full(out, threads=2, runs=5):
    """ResNet-101, dilated layer4, random weights with calibrated BN, on one 299x224 image: the
    state dict, the pixels, torchvision's features and its time per image."""
    torch.set_num_threads(threads)
    os.makedirs(out, exist_ok=True)

    def make(norm):
        return resnet101(replace_stride_with_dilation=[False, False, True], norm_layer=norm)

    path = os.path.join(out, "resnet101.pth")
    state = calibrated_state(make, 101, (224, 299))
    body = frozen_body(make, state)
    torch.save({PREFIX + k: v for k, v in body.state_dict().items()}, path)
    pixels = photo_pixels_full(os.path.join(ROOT, "samples", "astronaut.jpg"), 299, 224)
    y = features(body, pixels)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        features(body, pixels)
        times.append(time.perf_counter() - t0)
    safetensors_io.save({"pixels": pixels, "features": y}, os.path.join(out, "resnet101.expected.safetensors"))
    print(f"pytorch {torch.__version__} resnet101 299x224 threads={threads}: min {min(times) * 1000:.1f} ms, "
          f"median {sorted(times)[len(times) // 2] * 1000:.1f} ms per image; features {tuple(y.shape)}")


def photo_pixels_full(path, w, h):
    img = Image.open(path).convert("RGB").resize((w, h), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
    return ((x.permute(2, 0, 1) - 0.5) / 0.5)[None].contiguous()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--full":
        full(sys.argv[2])
    else:
        fixtures(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures")
