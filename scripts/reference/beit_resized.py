"""HF BEiT at another patch grid: what transformers computes for families_more.py's committed BEiT models
(family-hf-beit: a relative position table per layer; family-hf-beit-shared: one shared table) on inputs
of another size than they were made for (16x16 pixels, patch 4: a 4x4 grid).

transformers' BeitRelativePositionBias resizes the (2*4-1)^2 offset rows of each table bilinearly
(torch.nn.functional.interpolate, align_corners=False) to the new grid's (2*gh-1) x (2*gw-1) on every
forward, and keeps the three CLS rows; the models here have no absolute positions.

test/fixtures/family-hf-beit-24x20.expected.safetensors         family-hf-beit at 24x20 pixels (6x5 grid)
test/fixtures/family-hf-beit-shared-12x12.expected.safetensors  family-hf-beit-shared at 12x12 (3x3 grid: smaller)
test/fixtures/family-hf-beit-6x5/                               family-hf-beit's shapes made at 24x20 (a 6x5 grid),
                                                                tables drawn from N(0, 1) so that they show
test/fixtures/family-hf-beit-6x5.expected.safetensors           it at its own 24x20: transformers re-reads a
                                                                non-square table as (2w-1) x (2h-1) on every
                                                                forward, so even its own grid is a resize
test/fixtures/family-hf-beit-6x5-16x16.expected.safetensors     it at 16x16 (4x4 grid): from a non-square table
    pixels (1, 3, H, W) (samples/cat.jpg, PIL bicubic to H x W, mean = std = 0.5), logits, attention.<l>

Run from the repository root with transformers 5.x and torch: python scripts/reference/beit_resized.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchvision_cpu_shim  # noqa: E402,F401  (before transformers: see the module)
import numpy as np  # noqa: E402
import safetensors_io  # noqa: E402
import torch  # noqa: E402
import transformers as T  # noqa: E402
from PIL import Image  # noqa: E402

fixtures = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
samples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples")


def pixels(size):
    photo = Image.open(os.path.join(samples, "cat.jpg")).convert("RGB").resize((size[1], size[0]), Image.BICUBIC)
    x = torch.from_numpy(np.array(photo)).float().permute(2, 0, 1)[None] / 255
    return (x - 0.5) / 0.5


def non_square_model():
    folder = os.path.join(fixtures, "family-hf-beit-6x5")
    with open(os.path.join(fixtures, "family-hf-beit", "config.json")) as f:
        cfg = {k: v for k, v in json.load(f).items() if k not in ("architectures", "transformers_version")}
    torch.manual_seed(0)
    m = T.BeitForImageClassification(T.BeitConfig(**{**cfg, "image_size": [24, 20]})).eval()
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("relative_position_bias_table"):
                p.normal_()
    m.save_pretrained(folder)
    with open(os.path.join(fixtures, "family-hf-beit", "preprocessor_config.json")) as f:
        pre = json.load(f)
    pre["size"] = {"height": 24, "width": 20}
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)


non_square_model()
for name, size, out in [("hf-beit", (24, 20), None), ("hf-beit-shared", (12, 12), None),
                        ("hf-beit-6x5", (24, 20), "family-hf-beit-6x5"), ("hf-beit-6x5", (16, 16), None)]:
    m = T.BeitForImageClassification.from_pretrained(os.path.join(fixtures, f"family-{name}"), attn_implementation="eager").eval()
    out = out or f"family-{name}-{size[0]}x{size[1]}"
    x = pixels(size)
    with torch.no_grad():
        r = m(pixel_values=x, output_attentions=True)
    meta = {"transformers": T.__version__, "torch": torch.__version__, "model": f"family-{name}",
            "pixels": f"samples/cat.jpg, PIL bicubic to {size[0]}x{size[1]}, mean = std = 0.5"}
    tensors = {"pixels": x, "logits": r.logits, **{f"attention.{l}": a for l, a in enumerate(r.attentions)}}
    safetensors_io.save({k: v.detach().float().contiguous() for k, v in tensors.items()},
                        os.path.join(fixtures, f"{out}.expected.safetensors"),
                        {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()})
    print(f"{out}: logits {r.logits.numpy().round(4).tolist()}")
