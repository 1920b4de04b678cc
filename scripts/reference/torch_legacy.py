#!/usr/bin/python3
"""torch.save's legacy (pre-1.6, non-zip) format, written by PyTorch itself
(`_use_new_zipfile_serialization=False`), and the same objects in the zip format.

Writes into the fixtures folder:
  catr-legacy.pth           a CATR-style training checkpoint, as its main.py saves it:
                            {"model": state dict, "optimizer": AdamW state (two param groups, one
                            step: exp_avg / exp_avg_sq tensors, step tensors, floats, tuples, lists),
                            "lr_scheduler": StepLR state, "epoch": 7}; the state dict has CATR's
                            names (frozen-BN buffers, nn.MultiheadAttention in_proj, embeddings, mlp)
                            and extra tensors: a transposed view, two views of one storage (one at an
                            offset), a strided slice, float16 (one transposed) and float64 storages
  catr-legacy.zip.pth       the same object, zip format
  catr-legacy.expected.safetensors  every float tensor of "model" as torch.load reads the legacy
                            file back, contiguous float32
  storage-view.legacy.pth   the oldest legacy files' storage views: persistent ids whose
                            view_metadata (view key, offset, size) names a slice of another storage,
                            written with torch's own legacy layout and read back by torch.load
  storage-view.expected.safetensors  its tensors as torch.load reads them
  module.legacy.pth         torch.save(nn.Linear(2, 2)): a whole module, which vitlens refuses to unpickle

Run with Debian's torch:  /usr/bin/python3 scripts/reference/torch_legacy.py test/fixtures
"""
import collections
import io
import os
import pickle
import struct
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

torch.manual_seed(0)
out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"


class FrozenBatchNorm2d(nn.Module):
    """DETR's / CATR's frozen BN: the four statistics are buffers, not parameters."""

    def __init__(self, n):
        super().__init__()
        for name, init in (("weight", torch.rand(n) + 0.5), ("bias", torch.randn(n)),
                           ("running_mean", torch.randn(n)), ("running_var", torch.rand(n) + 0.5)):
            self.register_buffer(name, init)


class Body(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, bias=False)
        self.bn1 = FrozenBatchNorm2d(4)


class Embeddings(nn.Module):
    def __init__(self, vocab, hidden, positions):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(positions, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)


class Layer(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(hidden, 2)
        self.linear1 = nn.Linear(hidden, 2 * hidden)
        self.norm1 = nn.LayerNorm(hidden)


class Catr(nn.Module):
    """CATR's parameter names at toy sizes (only the names and kinds matter here)."""

    def __init__(self, hidden=8, vocab=12, positions=6):
        super().__init__()
        self.backbone = nn.ModuleList([nn.Module()])
        self.backbone[0].body = Body()
        self.input_proj = nn.Conv2d(4, hidden, 1)
        self.transformer = nn.Module()
        self.transformer.encoder = nn.Module()
        self.transformer.encoder.layers = nn.ModuleList([Layer(hidden)])
        self.transformer.embeddings = Embeddings(vocab, hidden, positions)
        self.mlp = nn.Module()
        self.mlp.layers = nn.ModuleList([nn.Linear(hidden, 6), nn.Linear(6, vocab)])


def catr_checkpoint():
    model = Catr()
    param_dicts = [
        {"params": [p for n, p in model.named_parameters() if "backbone" not in n and p.requires_grad]},
        {"params": [p for n, p in model.named_parameters() if "backbone" in n and p.requires_grad], "lr": 1e-5},
    ]
    optimizer = torch.optim.AdamW(param_dicts, lr=1e-4, weight_decay=1e-4)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 20)
    loss = sum((p.float() ** 2).sum() for p in model.parameters() if p.requires_grad)
    loss.backward()
    optimizer.step()
    lr_scheduler.step()
    state = model.state_dict()
    base = torch.randn(6, 5)
    shared = torch.randn(40)
    state["extra.transposed"] = base.t()  # (5, 6), stride (1, 5)
    state["extra.shared_a"] = shared[:12].view(3, 4)  # storage offset 0
    state["extra.shared_b"] = shared[16:36].view(4, 5)  # the same storage at offset 16
    state["extra.sliced"] = base[1:5, ::2]  # (4, 3), stride (10, 2), offset 5
    state["extra.half"] = torch.randn(2, 3).half()
    state["extra.half_t"] = torch.randn(3, 2).half().t()
    state["extra.double"] = torch.randn(3, 2, dtype=torch.float64) * 1e-3
    state["extra.scalar"] = torch.tensor(2.5)
    state["extra.index"] = torch.tensor([3, -1, 7])  # int64: not a weight, skipped by vitlens
    return {"model": state, "optimizer": optimizer.state_dict(), "lr_scheduler": lr_scheduler.state_dict(), "epoch": 7}


def float_tensors(state):
    return {k: v.float().contiguous() for k, v in state.items() if v.is_floating_point()}


def write_catr():
    ckpt = catr_checkpoint()
    legacy = os.path.join(out, "catr-legacy.pth")
    torch.save(ckpt, legacy, _use_new_zipfile_serialization=False)
    torch.save(ckpt, os.path.join(out, "catr-legacy.zip.pth"))
    with open(legacy, "rb") as f:
        assert f.read(2) == b"\x80\x02", "not the legacy format"
    back = torch.load(legacy)
    assert back["epoch"] == 7 and set(back["model"]) == set(ckpt["model"])
    assert all(torch.equal(back["model"][k], v) for k, v in ckpt["model"].items())
    safetensors_io.save(float_tensors(back["model"]), os.path.join(out, "catr-legacy.expected.safetensors"))


# torch's legacy layout, written out here to reach what torch >= 1.0 no longer writes: storage views.
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


class StorageId:
    """A persistent id: ('storage', type, key, location, numel, view_metadata)."""

    def __init__(self, key, numel, view=None):
        self.pid = ("storage", torch.FloatStorage, key, "cpu", numel, view)


class TensorOf:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def write_storage_view():
    root = torch.arange(20, dtype=torch.float32) * 0.5 - 3
    whole = StorageId("100", 20)
    view = StorageId("100", 20, ("101", 6, 8))  # elements 6..13 of storage 100, as its own storage 101
    obj = collections.OrderedDict(
        whole=TensorOf(whole, 2, (3, 4), (4, 1)),
        view=TensorOf(view, 1, (2, 3), (1, 2)),  # offset 1 inside the view: elements 7, 9, 11 / 8, 10, 12
        view_again=TensorOf(view, 0, (8,), (1,)),
    )
    f = io.BytesIO()
    for header in (MAGIC_NUMBER, PROTOCOL_VERSION, {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
                                                     "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(header, f, protocol=2)
    p = pickle.Pickler(f, protocol=2)
    p.persistent_id = lambda o: o.pid if isinstance(o, StorageId) else None
    p.dump(obj)
    pickle.dump(["100"], f, protocol=2)
    f.write(struct.pack("<q", 20) + root.numpy().tobytes())
    path = os.path.join(out, "storage-view.legacy.pth")
    with open(path, "wb") as fh:
        fh.write(f.getvalue())
    back = torch.load(path)
    assert torch.equal(back["view"], torch.tensor([[0.5, 1.5, 2.5], [1.0, 2.0, 3.0]]))
    assert torch.equal(back["view_again"], root[6:14])
    safetensors_io.save({k: v.contiguous() for k, v in back.items()}, os.path.join(out, "storage-view.expected.safetensors"))


def write_module():
    """torch.save(model) pickles the module's classes: the restricted unpickler must refuse it."""
    torch.save(nn.Linear(2, 2), os.path.join(out, "module.legacy.pth"), _use_new_zipfile_serialization=False)


write_catr()
write_storage_view()
write_module()
print("wrote catr-legacy.pth, catr-legacy.zip.pth, storage-view.legacy.pth, module.legacy.pth and expected tensors to", out)
