#!/usr/bin/python3
"""torchvision VisionTransformer checkpoints, built with torchvision's own class and saved as its
state_dict() with torch.save: a 48-wide ViT with 4 heads (not a published width, so it needs
--heads 4), the same architecture saved under the pre-0.13 MLP names (mlp.linear_1/linear_2), and
one with a representation layer (heads.pre_logits + tanh), which vitlens refuses. Expected logits
come from torchvision itself, for pixel tensors and for PNGs at the model's size (torchvision's
ImageNet normalization, no resize needed).

Run with Debian's torch:  /usr/bin/python3 scripts/reference/torchvision_vit.py test/fixtures
"""
import collections
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision.models.vision_transformer import VisionTransformer

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from vit_modules import randomize_  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
MEAN, STD = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])


def build(seed, **kw):
    model = VisionTransformer(**kw).eval()
    randomize_(model, seed)
    return model


def png_pixels(size, count, seed):
    """PNGs at the model's size and the normalized pixels torchvision's transforms make of them."""
    rng = np.random.default_rng(seed)
    pixels = []
    for i in range(count):
        img = rng.integers(0, 256, (size, size, 3)).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(out, f"torchvision-tiny-{i}.png"))
        x = torch.from_numpy(img).float().permute(2, 0, 1) / 255.0
        pixels.append((x - MEAN[:, None, None]) / STD[:, None, None])
    return torch.stack(pixels)


model = build(41, image_size=16, patch_size=4, num_layers=2, num_heads=4, hidden_dim=48, mlp_dim=24, num_classes=5)
sd = model.state_dict()
torch.save(sd, os.path.join(out, "torchvision-tiny.pth"))
pixels = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(5))
images = png_pixels(16, 2, 6)

legacy_model = build(42, image_size=16, patch_size=4, num_layers=1, num_heads=2, hidden_dim=32, mlp_dim=32, num_classes=3)
legacy = collections.OrderedDict(  # torchvision < 0.13 named the MLP's Linear layers linear_1 / linear_2
    (k.replace("mlp.0.", "mlp.linear_1.").replace("mlp.3.", "mlp.linear_2."), v) for k, v in legacy_model.state_dict().items())
torch.save(legacy, os.path.join(out, "torchvision-tiny.legacy-mlp.pth"))

pre_logits = build(43, image_size=8, patch_size=4, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=16,
                   num_classes=3, representation_size=8)
torch.save(pre_logits.state_dict(), os.path.join(out, "torchvision-tiny.pre-logits.pth"))

with torch.no_grad():
    expected = {
        "pixels": pixels, "logits": model(pixels), "image_pixels": images, "image_logits": model(images),
        "legacy_logits": legacy_model(pixels),
    }
safetensors_io.save({k: v.float().contiguous() for k, v in expected.items()}, os.path.join(out, "torchvision-tiny.expected.safetensors"))
print("wrote torchvision fixtures to", out)
