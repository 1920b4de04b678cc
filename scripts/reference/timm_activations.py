"""timm ViTs whose model_args set act_layer, saved by timm's own hub saver (save_for_hf: config.json
with architecture, model_args, label_names at the top level; model.safetensors), and the logits and
attention timm computes on a real photo through timm's own eval transform.

test/fixtures/timm-act-<act>/          one tiny model per activation (quick_gelu, silu, gelu_tanh, relu)
test/fixtures/timm-act-<act>.expected.safetensors   pixels (1, 3, 32, 32), logits, attention.<l>

vitlens ran every one of these as GELU before (the silently wrong case of issue 20).

Run in a temp venv with the local wheel mirror:
    python -m venv /tmp/venv && /tmp/venv/bin/pip install torch==2.13.0+cpu torchvision==0.28.0 timm pillow
    /tmp/venv/bin/python scripts/reference/timm_activations.py test/fixtures
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torchvision_cpu_shim  # noqa: E402,F401  (before timm: see the module)
import timm  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from timm.data import create_transform, resolve_data_config  # noqa: E402
from timm.models._hub import save_for_hf  # noqa: E402

import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)

ARGS = dict(img_size=32, patch_size=8, embed_dim=24, depth=2, num_heads=3, mlp_ratio=2.0, num_classes=3)
photo = Image.open(os.path.join(here, "..", "..", "samples", "cat.jpg")).convert("RGB")

for act in ["quick_gelu", "silu", "gelu_tanh", "relu"]:
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, act_layer=act, **ARGS).eval()
    with torch.no_grad():  # larger than timm's init so that the activation matters in the logits
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    folder = os.path.join(out, f"timm-act-{act}")
    save_for_hf(model, folder, model_config={"label_names": ["cat", "dog", "bird"]}, model_args={**ARGS, "act_layer": act}, safe_serialization=True)

    cfg = resolve_data_config({"input_size": (3, 32, 32)}, model=model)
    pixels = create_transform(**cfg)(photo).unsqueeze(0)
    attentions = []
    hooks = []
    for blk in model.blocks:
        def hook(module, inputs, output, store=attentions):
            x = inputs[0]
            B, N, C = x.shape
            qkv = module.qkv(x).reshape(B, N, 3, module.num_heads, C // module.num_heads).permute(2, 0, 3, 1, 4)
            q, k = qkv[0], qkv[1]
            store.append(((q * module.scale) @ k.transpose(-2, -1)).softmax(-1))
        hooks.append(blk.attn.register_forward_hook(hook))
    with torch.no_grad():
        logits = model(pixels)
    tensors = {"pixels": pixels, "logits": logits, **{f"attention.{l}": a for l, a in enumerate(attentions)}}
    # the same weights run as GELU: how far off the old vitlens was
    gelu = timm.create_model("vit_tiny_patch16_224", pretrained=False, **ARGS).eval()
    gelu.load_state_dict(model.state_dict())
    with torch.no_grad():
        tensors["logits_if_gelu"] = gelu(pixels)
    safetensors_io.save(tensors, os.path.join(out, f"timm-act-{act}.expected.safetensors"),
                        {"timm": timm.__version__, "torch": torch.__version__, "transform": str(cfg)})
    print(act, "max |logit - logit as GELU|", (logits - tensors["logits_if_gelu"]).abs().max().item())

# HF transformers' ViT with hidden_act silu, saved by save_pretrained (its own config.json).
import transformers  # noqa: E402

hf_cfg = transformers.ViTConfig(hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=48, image_size=32, patch_size=8,
                                hidden_act="silu", num_labels=3, attn_implementation="eager", id2label={0: "cat", 1: "dog", 2: "bird"}, label2id={"cat": 0, "dog": 1, "bird": 2})
hf = transformers.ViTForImageClassification(hf_cfg).eval()
with torch.no_grad():
    for p in hf.parameters():
        p.add_(torch.randn_like(p) * 0.2)
hf.save_pretrained(os.path.join(out, "hf-act-silu"))
pixels = (torch.from_numpy(__import__("numpy").asarray(photo.resize((32, 32), Image.BILINEAR))).float().permute(2, 0, 1)[None] / 255 - 0.5) / 0.5
with torch.no_grad():
    r = hf(pixel_values=pixels, output_attentions=True)
safetensors_io.save({"pixels": pixels, "logits": r.logits, **{f"attention.{l}": a for l, a in enumerate(r.attentions)}},
                    os.path.join(out, "hf-act-silu.expected.safetensors"), {"transformers": transformers.__version__, "torch": torch.__version__})
print("hf silu written")
