#!/usr/bin/python3
""".npy layouts numpy writes and reads back without complaint, so vitlens must read them too:
Fortran order (numpy writes `fortran_order: True` for any array of 2+ dimensions that is
F-contiguous and not C-contiguous, e.g. a transposed view passed to np.savez), big-endian floats,
float16, and np.savez_compressed.

Writes into the fixtures folder:
  timm-tiny.google-layouts.npz    timm-tiny in Google's layout (like npz.py) but with some kernels
                                  saved as transposed views (Fortran order) and some big-endian:
                                  its logits must equal timm-tiny.google.npz's
  npy-layouts.npz                 1-D..4-D Fortran-ordered arrays, >f4, >f2, <f2, >f8, integers, bool
  npy-layouts.compressed.npz      the same arrays through np.savez_compressed
  npy-layouts.expected.safetensors  every float array as a C-ordered float32 copy (what to read)

Run after npz.py with Debian's numpy:  /usr/bin/python3 scripts/reference/npy_layouts.py test/fixtures
"""
import os
import sys
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"

# Google layout, some arrays stored the ways other JAX/numpy exporters store them.
with np.load(os.path.join(out, "timm-tiny.google.npz")) as g:
    google = {k: g[k] for k in g.files}
layouts = {}
for name, a in google.items():
    if name == "head/kernel":
        layouts[name] = np.ascontiguousarray(a.T).T  # a transposed view: F-contiguous, (D, classes)
    elif name == "embedding/kernel":
        layouts[name] = np.asfortranarray(a)  # 4-D, Fortran order
    elif name.endswith("query/kernel") or name.endswith("out/kernel"):
        layouts[name] = np.asfortranarray(a)  # 3-D, Fortran order
    elif name.endswith("Dense_0/kernel"):
        layouts[name] = np.asfortranarray(a.astype(">f4"))  # Fortran order and big-endian
    elif name.endswith("Dense_1/kernel") or name.endswith("key/kernel"):
        layouts[name] = a.astype(">f4")
    elif name.endswith("bias") and "LayerNorm" in name:
        layouts[name] = a.astype(">f8")  # float32 values survive float64 exactly
    else:
        layouts[name] = a
for name, a in layouts.items():
    assert np.array_equal(a, google[name]), name
path = os.path.join(out, "timm-tiny.google-layouts.npz")
np.savez(path, **layouts)
with zipfile.ZipFile(path) as z:  # the file holds what it claims to
    headers = {n: z.read(n)[:128] for n in z.namelist()}
assert b"'fortran_order': True" in headers["head/kernel.npy"], headers["head/kernel.npy"]
assert b"'descr': '>f4', 'fortran_order': True" in headers["Transformer/encoderblock_0/MlpBlock_3/Dense_0/kernel.npy"]
print("wrote", path)

rng = np.random.default_rng(10)
units = {
    "c1": rng.standard_normal(5).astype(np.float32),
    "f2": np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)),
    "t2": rng.standard_normal((4, 3)).astype(np.float32).T,  # a transposed view
    "f3": np.asfortranarray(rng.standard_normal((2, 3, 4)).astype(np.float32)),
    "f4": np.asfortranarray(rng.standard_normal((2, 3, 2, 5)).astype(np.float32)),
    "be_f4": rng.standard_normal((2, 3)).astype(">f4"),
    "be_f2": rng.standard_normal((3, 2)).astype(">f2"),
    "le_f2": rng.standard_normal((2, 2)).astype("<f2"),
    "be_f8": rng.standard_normal(4).astype(">f8"),
    "be_f4_fortran": np.asfortranarray(rng.standard_normal((3, 2, 2)).astype(">f4")),
    "f2_fortran": np.asfortranarray(rng.standard_normal((2, 3)).astype("<f2")),
    "scalar": np.array(2.5, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "i8": rng.integers(-1000, 1000, (2, 3)).astype("<i8"),
    "i4_fortran": np.asfortranarray(rng.integers(-50, 50, (3, 2)).astype("<i4")),
    "be_i2": rng.integers(-300, 300, 4).astype(">i2"),
    "u1": rng.integers(0, 256, 6).astype("u1"),
    "b1": np.array([True, False, True]),
}
for name, a in units.items():
    if a.ndim >= 2 and name not in ("be_f4", "be_f2", "le_f2", "i8", "empty"):
        assert a.flags.f_contiguous and not a.flags.c_contiguous, name
np.savez(os.path.join(out, "npy-layouts.npz"), **units)
np.savez_compressed(os.path.join(out, "npy-layouts.compressed.npz"), **units)
# numpy never marks a 1-D array Fortran-ordered, but its reader accepts the flag: write one with
# numpy's own header writer and check numpy reads it back.
with zipfile.ZipFile(os.path.join(out, "npy-layouts.npz"), "a") as z, z.open("f1_header.npy", "w") as f:
    np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": True, "shape": (5,)})
    f.write(units["c1"].tobytes())
with np.load(os.path.join(out, "npy-layouts.npz")) as z:
    assert np.array_equal(z["f1_header"], units["c1"])
with zipfile.ZipFile(os.path.join(out, "npy-layouts.compressed.npz")) as z:
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
expected = {n: torch.from_numpy(np.array(a, dtype=np.float32, order="C")) for n, a in units.items() if a.dtype.kind == "f"}
safetensors_io.save(expected, os.path.join(out, "npy-layouts.expected.safetensors"))
print("wrote npy-layouts.npz, npy-layouts.compressed.npz and npy-layouts.expected.safetensors to", out)
