"""Import before timm in a venv built from the local wheel mirror: the mirror's torchvision is the
CUDA build, whose C ops (_C.so) do not load beside torch+cpu, and torchvision's import then fails
registering fake kernels for two ops it declares there (nms, qnms). Declaring their schemas here
lets torchvision's Python parts (transforms, which timm imports) load; no C op is ever called.
"""
import torch

try:
    import torchvision  # noqa: F401
except RuntimeError:
    _lib = torch.library.Library("torchvision", "DEF")
    _lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import sys
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    import torchvision  # noqa: F401
