"""More ViT families (issue 20), each written by its own library, with what the library computes.

Tiny widths as in families.py (hidden 24, 2 layers, 3 heads, MLP 48), but image 16 and patch 4 (the
same 4x4 grid as families.py's 32/8, a quarter of the patch-embedding weights and pixels, to keep
all of this under 3 MB); weights jittered far from the libraries' init so that every piece (layer
scale, relative position bias, registers) shows. Photos are resized with PIL bicubic to the model
size and normalised with the model's mean/std, as in families.py (the processors are tested apart).
Labels: 0 cat, 1 dog, 2 bird.

test/fixtures/family-<name>/ or family-<name>.pth    the model as the library writes it
test/fixtures/family-<name>.expected.safetensors     pixels (1, 3, H, W); logits, or for a headless
    model `features` (what exactly is said per model below and in the metadata key `features`);
    attention.<l> (1, heads, N, N) per layer: the softmax probabilities the library computes
test/fixtures/family-<name>.train.safetensors        one training step on two photos (cat.jpg,
    coffee.jpg): pixels (2, 3, H, W), labels (float32 [0, 2]), loss (1,) = mean cross-entropy, and
    grad.<key> for every parameter that gets one, in the key names of the model's own file (the
    SGD step, lr 0.1, momentum 0.9, is then p - 0.1 * grad)
test/fixtures/family-proc-<name>/preprocessor_config.json and family-proc-<name>.expected.safetensors:
    an HF image processor as save_pretrained writes it, and on samples/cat.jpg (the full photo):
    pixel_values from the PIL ("slow", backend="pil" / use_fast=False) class, pixel_values_fast
    from the default torchvision class, resized (3, h, w): the PIL resize output before any crop,
    its uint8 values stored as float16 (exact)

HF (transformers save_pretrained; attention from output_attentions with attn_implementation="eager";
every expected tensor is computed by the model reloaded with from_pretrained from the written folder):
  hf-clip-vision      CLIPVisionModel, hidden_act quick_gelu. features = pooler_output =
                      post_layernorm(last_hidden_state[:, 0]). Folder holds CLIPImageProcessor's
                      preprocessor_config.json (shortest_edge 16, crop 16).
  hf-clip-cls         CLIPForImageClassification (3 labels): logits = classifier(mean of the patch
                      tokens of the last layer, no norm). CLIPImageProcessor saved beside.
  hf-clip             full CLIPModel (tiny text tower): features = vision_model(...).pooler_output
                      (post_layernorm CLS, before visual_projection); image_embeds =
                      visual_projection(features) (not L2-normalised). Saved with a CLIPProcessor
                      (tiny tokenizer): transformers 5 writes processor_config.json with the image
                      processor nested under "image_processor", and no preprocessor_config.json.
  hf-beit             BeitForImageClassification: per-layer relative position bias, no absolute
                      positions, layer scale 0.1, mean pooling (pooler.layernorm), drop_path_rate 0.
                      BeitImageProcessor (18x18, no crop, resample 2) saved beside;
                      family-hf-beit-18.expected.safetensors runs the model on that processor's
                      18x18 pixels of the full cat.jpg (a 4x4 grid: the convolution drops 2 rows
                      and columns).
  hf-beit-shared      shared relative position bias (beit.encoder.relative_position_bias), no
                      absolute positions, no per-layer bias.
  hf-beit-abs-cls     absolute position embeddings, no relative bias, no layer scale,
                      use_mean_pooling False (final beit.layernorm, CLS token pooled).
  hf-data2vec-vision  Data2VecVisionForImageClassification: per-layer relative bias, mean pooling.
  hf-vit-msn          ViTMSNForImageClassification.
  hf-dinov2-reg-cls   Dinov2WithRegistersForImageClassification (2 registers):
                      logits = classifier(cat(h[:, 0], mean(h[:, 1 + registers:]))).
  hf-dinov2-reg-cls-24x20  the same model at 24x20 pixels (H x W: a 6x5 grid; positions interpolated
                      from 4x4, bicubic with antialias).
  hf-dinov2-48x40     families.py's family-hf-dinov2 (32/8) at 48x40 pixels (6x5 grid; bicubic without
                      antialias); features = last_hidden_state[:, 0] (final layernorm, CLS).
  proc-vit (ViTImageProcessor 16x16, bilinear), proc-deit (DeiTImageProcessor 19x19, crop 16: the
  crop offset 1.5 truncates to 1), proc-dinov2 (BitImageProcessor shortest_edge 18 -> 18x27, crop 16:
  left offset 5.5 -> 5), proc-clip (CLIPImageProcessor, the same sizes), proc-beit
  (BeitImageProcessor 18x18, no crop, resample 2). DeiT and DINOv2 use ImageNet's mean/std as their
  hub configs do; the rest keep the class defaults.
timm (save_for_hf, model_args recorded; label_names at the top level of config.json; logits from
the default forward, attention from a second pass with fused_attn off, read at attn_drop's input):
  timm-avg (global_pool avg, fc_norm by default), timm-avg-nofcnorm (fc_norm False: final norm on
  every token, then the mean), timm-nocls-avg (class_token False), timm-prenorm (pre_norm True in
  model_args on vit_tiny: norm_pre, no patch-embed bias, eps 1e-6), timm-clip
  (vit_base_patch16_clip_224 + tiny model_args: pre_norm and eps 1e-5 come from the name only),
  timm-clip-quickgelu (vit_base_patch16_clip_quickgelu_224 + tiny model_args: QuickGELU from the
  name only), timm-noqkvbias, timm-ls (init_values), timm-noembed-cls (no_embed_class with a class
  token), timm-dynamic (dynamic_img_size, 24x20 pixels: 6x5 grid from a 4x4 position grid), timm-beit
  (beit_base_patch16_224 + tiny model_args).
lucidrains vit-pytorch's five layouts (family-vitpytorch-<layout>-<pool>.pth): written by
scripts/reference/vit_pytorch_layouts.py (its own re-declaration of each layout's modules).
nn.TransformerEncoder ViTs (family-te-post.pth, family-te-pre.pth): see TEViT below. Attention:
the layer's own self_attn called with need_weights=True, average_attn_weights=False on the
layer's attention input (norm1(x) when norm_first, else x), captured by a forward pre-hook.
Training: family-timm-deit-distilled.train (families.py's model, timm VisionTransformerDistilled in
train mode, distilled_training False, CE on (head(cls) + head_dist(dist)) / 2), hf-dinov2-reg-cls,
hf-clip-vision + a new Linear(24, 3) head on pooler_output (its initial weights: init.head.weight,
init.head.bias; grads grad.head.*), hf-beit.

Run in a temp venv with the local wheel mirror:
    python -m venv /tmp/venv && /tmp/venv/bin/pip install torch==2.13.0+cpu torchvision==0.28.0 timm transformers pillow
    /tmp/venv/bin/python scripts/reference/families_more.py test/fixtures
after families.py (hf-dinov2-48x40 and the DeiT-distilled training step use the models it wrote).
The output is byte-for-byte reproducible (seeded; two runs compared).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torchvision_cpu_shim  # noqa: E402,F401  (before timm and transformers: see the module)
from jitter import jitter  # noqa: E402
import numpy as np  # noqa: E402
import timm  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers as T  # noqa: E402
from PIL import Image  # noqa: E402
from timm.models._hub import save_for_hf  # noqa: E402

import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
here = os.path.dirname(os.path.abspath(__file__))
samples = os.path.join(here, "..", "..", "samples")
torch.manual_seed(0)
LABELS = {0: "cat", 1: "dog", 2: "bird"}
LABEL2ID = {v: k for k, v in LABELS.items()}
HF_VERSIONS = {"transformers": T.__version__, "torch": torch.__version__}
TIMM_VERSIONS = {"timm": timm.__version__, "torch": torch.__version__}
IMAGENET_DEFAULT = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
HALF = ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
CLIP_MEAN_STD = ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])


def photo(name="cat.jpg", size=(16, 16)):
    """A sample photo resized (PIL bicubic) to size = (H, W)."""
    return Image.open(os.path.join(samples, name)).convert("RGB").resize((size[1], size[0]), Image.BICUBIC)


def pixels(mean, std, size=(16, 16), names=("cat.jpg",)):
    x = torch.stack([torch.from_numpy(np.array(photo(n, size))).float().permute(2, 0, 1) for n in names]) / 255
    return (x - torch.tensor(mean)[None, :, None, None]) / torch.tensor(std)[None, :, None, None]


def save(name, tensors, meta, suffix="expected"):
    meta = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()}
    safetensors_io.save({k: v.detach().float().contiguous() for k, v in tensors.items()},
                        os.path.join(out, f"family-{name}.{suffix}.safetensors"), meta)


def expected(name, x, y, attentions, meta, key="logits", **extra):
    save(name, {"pixels": x, key: y, **{f"attention.{l}": a for l, a in enumerate(attentions)}, **extra}, meta)


def file_keys(folder_or_file):
    path = os.path.join(folder_or_file, "model.safetensors") if os.path.isdir(folder_or_file) else folder_or_file
    return safetensors_io.load(path)


def names_in_file(model, stored):
    """Each parameter's key in the library's file, found by value (jittered weights are unique)."""
    names = {}
    for k, p in model.named_parameters():
        hits = [fk for fk, v in stored.items() if v.shape == p.shape and torch.equal(v, p.detach())]
        assert len(hits) == 1, (k, hits)
        names[k] = hits[0]
    return names


def train_step(name, model, x, forward, names, meta, extra=None):
    """The loss and gradients of one training step: cross-entropy on labels [0, 2]. The parameters after
    one SGD step (lr 0.1, momentum 0.9, no weight decay) follow from them: the momentum buffer starts
    as the gradient, so the step is p - 0.1 * grad; they are not stored, to keep the fixture small."""
    labels = torch.tensor([0, 2])
    model.train()
    model.zero_grad()
    loss = F.cross_entropy(forward(x), labels)
    loss.backward()
    tensors = {"pixels": x, "labels": labels.float(), "loss": loss.detach().reshape(1), **(extra or {})}
    unused = []
    for k, p in model.named_parameters():
        if p.grad is None:  # not in the forward (DINOv2's mask_token): no gradient, left out
            unused.append(names[k])
        else:
            tensors[f"grad.{names[k]}"] = p.grad.detach().clone()
    model.eval()
    if unused:
        meta = {**meta, "no_gradient": unused}
    save(name, tensors, {**meta, "optimizer": "SGD(lr=0.1, momentum=0.9): after one step p - 0.1 * grad", "loss": "cross_entropy(logits, [0, 2]), mean"}, suffix="train")
    print(name, "train loss", loss.item())


SMALL = dict(hidden_size=24, num_hidden_layers=2, num_attention_heads=3, image_size=16, patch_size=4, attn_implementation="eager")
TRAIN_PHOTOS = ("cat.jpg", "coffee.jpg")


def hf_roundtrip(model, folder, cls, processor=None):
    """Save, reload with from_pretrained, and check that every weight came back (the saved names may differ
    from the module names: transformers 5 converts them both ways)."""
    model.save_pretrained(folder)
    if processor is not None:
        processor.save_pretrained(folder)
    loaded = cls.from_pretrained(folder, attn_implementation="eager").eval()
    before, after = model.state_dict(), loaded.state_dict()
    assert before.keys() == after.keys(), before.keys() ^ after.keys()
    for k, v in before.items():
        assert torch.equal(v, after[k]), f"{folder}: {k} did not survive save_pretrained/from_pretrained"
    return loaded


# ---------------------------------------------------------------- HF CLIP
clip_vision_cfg = dict(hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=3, image_size=16,
                       patch_size=4, hidden_act="quick_gelu", projection_dim=16)
clip_proc = T.CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})

folder = os.path.join(out, "family-hf-clip-vision")
m = hf_roundtrip(jitter(T.CLIPVisionModel(T.CLIPVisionConfig(**clip_vision_cfg, attn_implementation="eager"))), folder, T.CLIPVisionModel, clip_proc)
x = pixels(*CLIP_MEAN_STD)
with torch.no_grad():
    r = m(pixel_values=x, output_attentions=True)
expected("hf-clip-vision", x, r.pooler_output, r.attentions, {**HF_VERSIONS, "features": "pooler_output = post_layernorm(last_hidden_state[:, 0])"}, key="features")
# training: a new Linear(24, 3) head on pooler_output
head = nn.Linear(24, 3)
with torch.no_grad():
    head.weight.normal_(0, 0.5)
    head.bias.normal_(0, 0.5)
init_head = {"init.head.weight": head.weight.detach().clone(), "init.head.bias": head.bias.detach().clone()}


class ClipWithHead(nn.Module):
    def __init__(self, vision, head):
        super().__init__()
        self.vision, self.head = vision, head

    def forward(self, x):
        return self.head(self.vision(pixel_values=x).pooler_output)


wrapped = ClipWithHead(m, head)
names = {f"vision.{k}": v for k, v in names_in_file(m, file_keys(folder)).items()}
names.update({"head.weight": "head.weight", "head.bias": "head.bias"})
train_step("hf-clip-vision", wrapped, pixels(*CLIP_MEAN_STD, names=TRAIN_PHOTOS), wrapped, names,
           {**HF_VERSIONS, "head": "new nn.Linear(24, 3) on pooler_output (post_layernorm CLS); initial weights init.head.*"}, init_head)

clip_text_vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
for c in "abcdefghijklmnopqrstuvwxyz":
    clip_text_vocab[c] = len(clip_text_vocab)
    clip_text_vocab[c + "</w>"] = len(clip_text_vocab)
clip_text_cfg = dict(vocab_size=len(clip_text_vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                     max_position_embeddings=16, projection_dim=16, bos_token_id=0, eos_token_id=1, pad_token_id=1)


def clip_config(**extra):
    return T.CLIPConfig(text_config=clip_text_cfg, vision_config=clip_vision_cfg, projection_dim=16, attn_implementation="eager", **extra)


folder = os.path.join(out, "family-hf-clip-cls")
m = hf_roundtrip(jitter(T.CLIPForImageClassification(clip_config(num_labels=3, id2label=LABELS, label2id=LABEL2ID))), folder,
                 T.CLIPForImageClassification, clip_proc)
with torch.no_grad():
    r = m(pixel_values=x, output_attentions=True)
expected("hf-clip-cls", x, r.logits, r.attentions, HF_VERSIONS)

folder = os.path.join(out, "family-hf-clip")
tokenizer = T.CLIPTokenizer(vocab=clip_text_vocab, merges=[])
m = hf_roundtrip(jitter(T.CLIPModel(clip_config())), folder, T.CLIPModel, T.CLIPProcessor(image_processor=clip_proc, tokenizer=tokenizer))
with torch.no_grad():
    r = m.vision_model(pixel_values=x, output_attentions=True)
    embeds = m.visual_projection(r.pooler_output)
expected("hf-clip", x, r.pooler_output, r.attentions,
         {**HF_VERSIONS, "features": "vision_model pooler_output = post_layernorm(last_hidden_state[:, 0]); image_embeds = visual_projection(features)"},
         key="features", image_embeds=embeds)

# ---------------------------------------------------------------- HF BEiT, Data2Vec-vision
beit_proc = T.BeitImageProcessor(size={"height": 18, "width": 18}, do_center_crop=False, resample=2)
BEIT = dict(intermediate_size=48, num_labels=3, id2label=LABELS, label2id=LABEL2ID, drop_path_rate=0.0, **SMALL)
for name, extra in [
    ("hf-beit", dict(use_relative_position_bias=True, use_absolute_position_embeddings=False, use_mean_pooling=True, layer_scale_init_value=0.1)),
    ("hf-beit-shared", dict(use_shared_relative_position_bias=True, use_relative_position_bias=False, use_absolute_position_embeddings=False,
                            use_mean_pooling=True, layer_scale_init_value=0.1)),
    ("hf-beit-abs-cls", dict(use_absolute_position_embeddings=True, use_relative_position_bias=False, use_mean_pooling=False, layer_scale_init_value=0.0)),
]:
    folder = os.path.join(out, f"family-{name}")
    m = hf_roundtrip(jitter(T.BeitForImageClassification(T.BeitConfig(**BEIT, **extra))), folder, T.BeitForImageClassification,
                     beit_proc if name == "hf-beit" else None)
    x = pixels(*HALF)
    with torch.no_grad():
        r = m(pixel_values=x, output_attentions=True)
    expected(name, x, r.logits, r.attentions, HF_VERSIONS)
    if name == "hf-beit":
        pil = T.BeitImageProcessorPil.from_pretrained(folder)
        x18 = pil(Image.open(os.path.join(samples, "cat.jpg")).convert("RGB"), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            r = m(pixel_values=x18, output_attentions=True)
        expected("hf-beit-18", x18, r.logits, r.attentions, {**HF_VERSIONS, "pixels": "BeitImageProcessorPil from the folder on samples/cat.jpg"})
        train_step(name, m, pixels(*HALF, names=TRAIN_PHOTOS), lambda t: m(pixel_values=t).logits, names_in_file(m, file_keys(folder)), HF_VERSIONS)

folder = os.path.join(out, "family-hf-data2vec-vision")
cfg = T.Data2VecVisionConfig(**BEIT, use_relative_position_bias=True, use_absolute_position_embeddings=False, use_mean_pooling=True, layer_scale_init_value=0.1)
m = hf_roundtrip(jitter(T.Data2VecVisionForImageClassification(cfg)), folder, T.Data2VecVisionForImageClassification)
x = pixels(*HALF)
with torch.no_grad():
    r = m(pixel_values=x, output_attentions=True)
expected("hf-data2vec-vision", x, r.logits, r.attentions, HF_VERSIONS)

# ---------------------------------------------------------------- HF ViT-MSN
folder = os.path.join(out, "family-hf-vit-msn")
m = hf_roundtrip(jitter(T.ViTMSNForImageClassification(T.ViTMSNConfig(intermediate_size=48, num_labels=3, id2label=LABELS, label2id=LABEL2ID, **SMALL))),
                 folder, T.ViTMSNForImageClassification)
x = pixels(*IMAGENET_DEFAULT)
with torch.no_grad():
    r = m(pixel_values=x, output_attentions=True)
expected("hf-vit-msn", x, r.logits, r.attentions, HF_VERSIONS)

# ---------------------------------------------------------------- HF DINOv2 with registers and a head; interpolated positions
folder = os.path.join(out, "family-hf-dinov2-reg-cls")
cfg = T.Dinov2WithRegistersConfig(mlp_ratio=2, num_register_tokens=2, num_labels=3, id2label=LABELS, label2id=LABEL2ID, **SMALL)
m = hf_roundtrip(jitter(T.Dinov2WithRegistersForImageClassification(cfg)), folder, T.Dinov2WithRegistersForImageClassification)
for size, suffix in [((16, 16), ""), ((24, 20), "-24x20")]:
    x = pixels(*IMAGENET_DEFAULT, size=size)
    with torch.no_grad():
        r = m(pixel_values=x, output_attentions=True)
    expected(f"hf-dinov2-reg-cls{suffix}", x, r.logits, r.attentions, HF_VERSIONS)
train_step("hf-dinov2-reg-cls", m, pixels(*IMAGENET_DEFAULT, names=TRAIN_PHOTOS), lambda t: m(pixel_values=t).logits,
           names_in_file(m, file_keys(folder)), HF_VERSIONS)
dinov2_folder = os.path.join(out, "family-hf-dinov2")
if os.path.isdir(dinov2_folder):  # families.py's headless DINOv2 at 48x40 (interpolation without antialias)
    m = T.Dinov2Model.from_pretrained(dinov2_folder, attn_implementation="eager").eval()
    x = pixels(*IMAGENET_DEFAULT, size=(48, 40))
    with torch.no_grad():
        r = m(pixel_values=x, output_attentions=True)
    expected("hf-dinov2-48x40", x, r.last_hidden_state[:, 0], r.attentions,
             {**HF_VERSIONS, "features": "last_hidden_state[:, 0] (final layernorm, CLS)", "model": "family-hf-dinov2"}, key="features")

# ---------------------------------------------------------------- HF image processors, PIL and torchvision
cat_full = Image.open(os.path.join(samples, "cat.jpg")).convert("RGB")
for name, pil_cls, fast_cls, kwargs in [
    ("vit", T.ViTImageProcessorPil, T.ViTImageProcessor, dict(size={"height": 16, "width": 16})),
    ("deit", T.DeiTImageProcessorPil, T.DeiTImageProcessor, dict(size={"height": 19, "width": 19}, crop_size={"height": 16, "width": 16},
                                                                  image_mean=IMAGENET_DEFAULT[0], image_std=IMAGENET_DEFAULT[1])),
    ("dinov2", T.BitImageProcessorPil, T.BitImageProcessor, dict(size={"shortest_edge": 18}, crop_size={"height": 16, "width": 16},
                                                                 image_mean=IMAGENET_DEFAULT[0], image_std=IMAGENET_DEFAULT[1])),
    ("clip", T.CLIPImageProcessorPil, T.CLIPImageProcessor, dict(size={"shortest_edge": 18}, crop_size={"height": 16, "width": 16})),
    ("beit", T.BeitImageProcessorPil, T.BeitImageProcessor, dict(size={"height": 18, "width": 18}, do_center_crop=False, resample=2)),
]:
    folder = os.path.join(out, f"family-proc-{name}")
    pil_cls(**kwargs).save_pretrained(folder)
    slow = T.AutoImageProcessor.from_pretrained(folder, backend="pil")
    fast = T.AutoImageProcessor.from_pretrained(folder)
    assert type(slow) is pil_cls and type(fast) is fast_cls, (type(slow), type(fast))
    pv = slow(cat_full, return_tensors="pt")["pixel_values"]
    pv_fast = fast(cat_full, return_tensors="pt")["pixel_values"]
    size = slow.size
    resized = slow.resize(slow.process_image(cat_full), size=size, resample=slow.resample)
    save(f"proc-{name}", {"pixel_values": pv, "pixel_values_fast": pv_fast, "resized": torch.from_numpy(np.asarray(resized).astype(np.float16))},
         {**HF_VERSIONS, "slow": pil_cls.__name__, "fast": fast_cls.__name__, "image": "samples/cat.jpg (320x213)"})
    print("proc", name, tuple(resized.shape), tuple(pv.shape), "max |slow - fast|", (pv - pv_fast).abs().max().item())


# ---------------------------------------------------------------- timm
def timm_attentions(model):
    """Probabilities at attn_drop's input (timm's unfused path), one (1, H, N, N) per block."""
    store = []
    hooks = []
    for blk in model.blocks:
        blk.attn.fused_attn = False
        hooks.append(blk.attn.attn_drop.register_forward_hook(lambda mod, inp, outp: store.append(inp[0].detach().clone())))
    return store, hooks


def timm_run(model, x):
    with torch.no_grad():
        y = model(x)
        store, hooks = timm_attentions(model)
        y2 = model(x)
    for h in hooks:
        h.remove()
    for blk in model.blocks:
        blk.attn.fused_attn = True
    assert (y - y2).abs().max() < 1e-5
    return y, store


TIMM_ARGS = dict(img_size=16, patch_size=4, embed_dim=24, depth=2, num_heads=3, mlp_ratio=2.0, num_classes=3)
for name, arch, extra, size in [
    ("timm-avg", "vit_tiny_patch16_224", {"global_pool": "avg"}, (16, 16)),
    ("timm-avg-nofcnorm", "vit_tiny_patch16_224", {"global_pool": "avg", "fc_norm": False}, (16, 16)),
    ("timm-nocls-avg", "vit_tiny_patch16_224", {"class_token": False, "global_pool": "avg"}, (16, 16)),
    ("timm-prenorm", "vit_tiny_patch16_224", {"pre_norm": True}, (16, 16)),
    ("timm-clip", "vit_base_patch16_clip_224", {}, (16, 16)),
    ("timm-clip-quickgelu", "vit_base_patch16_clip_quickgelu_224", {}, (16, 16)),
    ("timm-noqkvbias", "vit_tiny_patch16_224", {"qkv_bias": False}, (16, 16)),
    ("timm-ls", "vit_tiny_patch16_224", {"init_values": 0.5}, (16, 16)),
    ("timm-noembed-cls", "vit_tiny_patch16_224", {"no_embed_class": True}, (16, 16)),
    ("timm-dynamic", "vit_tiny_patch16_224", {"dynamic_img_size": True}, (24, 20)),
    ("timm-beit", "beit_base_patch16_224", {}, (16, 16)),
]:
    m = jitter(timm.create_model(arch, pretrained=False, **TIMM_ARGS, **extra))
    folder = os.path.join(out, f"family-{name}")
    save_for_hf(m, folder, model_config={"label_names": list(LABELS.values())}, model_args={**TIMM_ARGS, **extra}, safe_serialization=True)
    x = pixels(m.pretrained_cfg["mean"], m.pretrained_cfg["std"], size=size)
    y, attentions = timm_run(m, x)
    expected(name, x, y, attentions, {**TIMM_VERSIONS, "architecture": arch, "model_args": {**TIMM_ARGS, **extra}})
    print(name, arch, "logits", y.tolist())

# DeiT distilled (families.py's model): one training step on the averaged logits
folder = os.path.join(out, "family-timm-deit-distilled")
if os.path.isdir(folder):
    m = timm.create_model("deit_tiny_distilled_patch16_224", pretrained=False, **{**TIMM_ARGS, "img_size": 32, "patch_size": 8})
    stored = file_keys(folder)
    m.load_state_dict(stored)
    assert not m.distilled_training
    train_step("timm-deit-distilled", m, pixels(*IMAGENET_DEFAULT, size=(32, 32), names=TRAIN_PHOTOS), m, {k: k for k, _ in m.named_parameters()},
               {**TIMM_VERSIONS, "forward": "VisionTransformerDistilled.train(), distilled_training False: (head(x[:, 0]) + head_dist(x[:, 1])) / 2"})


# vit-pytorch layouts: scripts/reference/vit_pytorch_layouts.py


# ---------------------------------------------------------------- nn.TransformerEncoder ViT
class PatchEmbed(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TEViT(nn.Module):
    """A hand-written ViT on nn.TransformerEncoder: CLS token first, positions for every token, no final
    encoder norm, head = LayerNorm + Linear on the CLS token."""

    def __init__(self, image=16, patch=4, dim=24, heads=3, ff=48, depth=2, classes=3, norm_first=False):
        super().__init__()
        self.patch_embed = PatchEmbed(dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=ff, activation="gelu", batch_first=True, norm_first=norm_first)
        self.transformer = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, classes))

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.transformer(x)
        return self.mlp_head(x[:, 0])


def te_attentions(model):
    store, hooks = [], []
    for layer in model.transformer.layers:
        def hook(module, args, kwargs):
            x = args[0] if args else kwargs["src"]
            h = module.norm1(x) if module.norm_first else x
            store.append(module.self_attn(h, h, h, need_weights=True, average_attn_weights=False)[1].detach().clone())
        hooks.append(layer.register_forward_pre_hook(hook, with_kwargs=True))
    return store, hooks


for name, norm_first in [("te-post", False), ("te-pre", True)]:
    m = jitter(TEViT(norm_first=norm_first))
    torch.save(m.state_dict(), os.path.join(out, f"family-{name}.pth"))
    x = pixels(*IMAGENET_DEFAULT)
    store, hooks = te_attentions(m)
    with torch.no_grad():
        y = m(x)  # 3 heads (odd): PyTorch never takes its fused encoder-layer fast path here
    for h in hooks:
        h.remove()
    y_slow = m(x)  # grad enabled: the Python path in any case
    assert (y - y_slow).abs().max() < 1e-5, (y - y_slow).abs().max()
    expected(name, x, y, store, {"torch": torch.__version__, "norm_first": str(norm_first),
                                 "module": "TEViT in scripts/reference/families_more.py: nn.TransformerEncoderLayer(24, 3, dim_feedforward=48, activation='gelu', batch_first=True), 2 layers, dropout 0.1 (default), eps 1e-5"})
    print(name, "logits", y.tolist())

print("wrote", sorted(f for f in os.listdir(out) if f.startswith("family-")))
