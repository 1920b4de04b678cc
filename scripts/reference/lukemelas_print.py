#!/usr/bin/python3
"""What PyTorch-Pretrained-ViT (lukemelas) prints for `print(model)`, and a checkpoint of its names.

The library is not installable here, so its module classes are declared again below with the
same class names, attribute names, attribute order, LayerNorm eps (1e-6) and dropout wiring as
pytorch_pretrained_vit/model.py and transformer.py (read from lukemelas/PyTorch-Pretrained-ViT,
commit 8ec2cab). Forward passes are left out: printing needs none, and parity of the numbers is
tested elsewhere (scripts/reference/pth.py). Debian's PyTorch 1.13 prints every block expanded.

Writes into the fixtures folder:
  lukemelas-b16-36.print.txt       print(model) of ViT('B_16', num_classes=36) (the seed's model)
  lukemelas-b16-36.pth             its state_dict() keys and shapes, all zeros (see save_zeros)
  timm-tiny.lukemelas.print.txt    print(model) for timm-tiny.lukemelas.pth's sizes (3 classes)

Run with Debian's torch:  /usr/bin/python3 scripts/reference/lukemelas_print.py test/fixtures
"""
import io
import os
import sys
import zipfile

import torch
from torch import nn


class MultiHeadedSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, dropout, device):
        super().__init__()
        self.proj_q = nn.Linear(dim, dim, device=device)
        self.proj_k = nn.Linear(dim, dim, device=device)
        self.proj_v = nn.Linear(dim, dim, device=device)
        self.drop = nn.Dropout(dropout)  # the library passes dropout_rate here, not attention_dropout_rate
        self.n_heads = num_heads
        self.scores = None


class PositionWiseFeedForward(nn.Module):
    def __init__(self, dim, ff_dim, device):
        super().__init__()
        self.fc1 = nn.Linear(dim, ff_dim, device=device)
        self.fc2 = nn.Linear(ff_dim, dim, device=device)


class Block(nn.Module):
    def __init__(self, dim, num_heads, ff_dim, dropout, device):
        super().__init__()
        self.attn = MultiHeadedSelfAttention(dim, num_heads, dropout, device)
        self.proj = nn.Linear(dim, dim, device=device)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6, device=device)
        self.pwff = PositionWiseFeedForward(dim, ff_dim, device)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6, device=device)
        self.drop = nn.Dropout(dropout)


class Transformer(nn.Module):
    def __init__(self, num_layers, dim, num_heads, ff_dim, dropout, device):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, num_heads, ff_dim, dropout, device) for _ in range(num_layers)])


class PositionalEmbedding1D(nn.Module):
    def __init__(self, seq_len, dim, device):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.zeros(1, seq_len, dim, device=device))


class ViT(nn.Module):
    """The library's ViT for classifier='token', positional_embedding='1d', load_repr_layer=False
    (its default: pre_logits is then never built, whatever representation_size says)."""

    def __init__(self, patches=16, dim=768, ff_dim=3072, num_heads=12, num_layers=12, dropout_rate=0.1,
                 in_channels=3, image_size=224, num_classes=1000, device="meta"):
        super().__init__()
        seq_len = (image_size // patches) ** 2
        self.patch_embedding = nn.Conv2d(in_channels, dim, kernel_size=(patches, patches), stride=(patches, patches), device=device)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim, device=device))
        seq_len += 1
        self.positional_embedding = PositionalEmbedding1D(seq_len, dim, device)
        self.transformer = Transformer(num_layers=num_layers, dim=dim, num_heads=num_heads, ff_dim=ff_dim, dropout=dropout_rate, device=device)
        self.norm = nn.LayerNorm(dim, eps=1e-6, device=device)
        self.fc = nn.Linear(dim, num_classes, device=device)


def save_zeros(model, path):
    """torch.save of the model's state_dict() keys and shapes, every value zero. Tensors of one
    shape share one storage, and the archive is re-deflated, so a B_16 file is a few tens of KB;
    torch.load reads it back (checked below)."""
    shared = {}
    state = {k: shared.setdefault(tuple(v.shape), torch.zeros(v.shape)) for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    back = torch.load(path)
    assert list(back) == list(model.state_dict()), "key order lost"
    assert all(back[k].shape == v.shape and not back[k].any() for k, v in model.state_dict().items())


def write_print(model, path):
    with open(path, "w") as f:
        f.write(repr(model) + "\n")


out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
b16 = ViT(num_classes=36)  # ViT('B_16', pretrained=True) with a new nn.Linear(768, 36) as fc prints the same
write_print(b16, os.path.join(out, "lukemelas-b16-36.print.txt"))
save_zeros(b16, os.path.join(out, "lukemelas-b16-36.pth"))
tiny = ViT(patches=4, dim=24, ff_dim=96, num_heads=3, num_layers=2, image_size=24, num_classes=3)
write_print(tiny, os.path.join(out, "timm-tiny.lukemelas.print.txt"))
print("wrote lukemelas print fixtures to", out, "with torch", torch.__version__)
