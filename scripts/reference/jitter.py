"""Weights far from a library's init, so that every piece of a tiny fixture model (layer scale,
prefix tokens, biases) shows in its output; shared by the families' reference scripts."""
import torch


def jitter(model, scale=0.2):
    """Adds N(0, scale) noise to every parameter (the global torch seed decides it); returns the model in eval mode."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * scale)
    return model.eval()
