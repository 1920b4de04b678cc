"""Tiny DeiT, DINOv2 and DINOv2-with-registers models written by transformers' save_pretrained, and
timm ViTs with register tokens, layer scale, no_embed_class and a distillation token written by
timm's save_for_hf, with what each library computes on a real photo at the model's native size.

test/fixtures/family-<name>/                  the model folder the library wrote
test/fixtures/family-<name>.expected.safetensors   pixels (1, 3, 32, 32), logits (or features: the
                                              final-norm CLS token of a headless model), attention.<l>

Run in a temp venv with the local wheel mirror:
    python -m venv /tmp/venv && /tmp/venv/bin/pip install torch==2.13.0+cpu torchvision==0.28.0 timm transformers pillow
    /tmp/venv/bin/python scripts/reference/families.py test/fixtures
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torchvision_cpu_shim  # noqa: E402,F401  (before timm and transformers: see the module)
from jitter import jitter  # noqa: E402
import numpy as np  # noqa: E402
import timm  # noqa: E402
import torch  # noqa: E402
import transformers as T  # noqa: E402
from PIL import Image  # noqa: E402
from timm.models._hub import save_for_hf  # noqa: E402

import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
photo = Image.open(os.path.join(here, "..", "..", "samples", "cat.jpg")).convert("RGB").resize((32, 32), Image.BICUBIC)
LABELS = {0: "cat", 1: "dog", 2: "bird"}


def pixels(mean, std):
    x = torch.from_numpy(np.asarray(photo)).float().permute(2, 0, 1)[None] / 255
    return (x - torch.tensor(mean)[None, :, None, None]) / torch.tensor(std)[None, :, None, None]


def save_expected(name, x, y, attentions, versions):
    tensors = {"pixels": x, "logits": y, **{f"attention.{l}": a for l, a in enumerate(attentions)}}
    safetensors_io.save({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out, f"family-{name}.expected.safetensors"), versions)


HF_VERSIONS = {"transformers": T.__version__, "torch": torch.__version__}
SMALL = dict(hidden_size=24, num_hidden_layers=2, num_attention_heads=3, image_size=32, patch_size=8, attn_implementation="eager")

# HF: DeiT distilled (logits = mean of both heads) and DeiT without the teacher head
for name, cls in [("hf-deit-distilled", T.DeiTForImageClassificationWithTeacher), ("hf-deit", T.DeiTForImageClassification)]:
    m = jitter(cls(T.DeiTConfig(intermediate_size=48, num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, **SMALL)))
    m.save_pretrained(os.path.join(out, f"family-{name}"))
    x = pixels([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    with torch.no_grad():
        r = m(pixel_values=x, output_attentions=True)
    save_expected(name, x, r.logits, r.attentions, HF_VERSIONS)

# HF: DINOv2 (layer scale), headless and with its [CLS, mean of patches] classifier; DINOv2 with registers
for name, cls, cfg_cls, extra in [
    ("hf-dinov2", T.Dinov2Model, T.Dinov2Config, {}),
    ("hf-dinov2-cls", T.Dinov2ForImageClassification, T.Dinov2Config, {"num_labels": 3, "id2label": LABELS, "label2id": {v: k for k, v in LABELS.items()}}),
    ("hf-dinov2-reg", T.Dinov2WithRegistersModel, T.Dinov2WithRegistersConfig, {"num_register_tokens": 2}),
]:
    m = jitter(cls(cfg_cls(mlp_ratio=2, **SMALL, **extra)))
    m.save_pretrained(os.path.join(out, f"family-{name}"))
    x = pixels([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    with torch.no_grad():
        r = m(pixel_values=x, output_attentions=True)
    y = r.logits if hasattr(r, "logits") else r.last_hidden_state[:, 0]
    save_expected(name, x, y, r.attentions, HF_VERSIONS)


def timm_attentions(model, x):
    store = []

    def hook(module, inputs, output):
        t = inputs[0]
        B, N, C = t.shape
        qkv = module.qkv(t).reshape(B, N, 3, module.num_heads, C // module.num_heads).permute(2, 0, 3, 1, 4)
        store.append(((qkv[0] * module.scale) @ qkv[1].transpose(-2, -1)).softmax(-1))

    hooks = [blk.attn.register_forward_hook(hook) for blk in model.blocks]
    with torch.no_grad():
        y = model(x)
    for h in hooks:
        h.remove()
    return y, store


TIMM_VERSIONS = {"timm": timm.__version__, "torch": torch.__version__}
TIMM_ARGS = dict(img_size=32, patch_size=8, embed_dim=24, depth=2, num_heads=3, mlp_ratio=2.0, num_classes=3)
for name, arch, extra in [
    ("timm-reg-noembed", "vit_tiny_patch16_224", {"reg_tokens": 2, "no_embed_class": True, "init_values": 0.5}),
    ("timm-reg", "vit_tiny_patch16_224", {"reg_tokens": 2, "init_values": 0.5}),
    ("timm-deit-distilled", "deit_tiny_distilled_patch16_224", {}),
]:
    m = jitter(timm.create_model(arch, pretrained=False, **TIMM_ARGS, **extra))
    save_for_hf(m, os.path.join(out, f"family-{name}"), model_config={"label_names": list(LABELS.values())}, model_args={**TIMM_ARGS, **extra}, safe_serialization=True)
    x = pixels([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]) if "deit" not in arch else pixels([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    y, attentions = timm_attentions(m, x)
    save_expected(name, x, y, attentions, TIMM_VERSIONS)
print("wrote", sorted(f for f in os.listdir(out) if f.startswith("family-")))
