"""PyTorch ViTs laid out exactly like HF transformers' ViTForImageClassification and timm's
VisionTransformer, so their state_dict() keys and shapes are the real ones. Written from the
published architectures (no transformers/timm on Debian); forward semantics match both."""
import math

import torch
import torch.nn.functional as F
from torch import nn


# ---- HF transformers layout (modeling_vit.py names) ----
class HFPatchEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.projection = nn.Conv2d(c["num_channels"], c["hidden_size"], c["patch_size"], c["patch_size"])

    def forward(self, x):
        return self.projection(x).flatten(2).transpose(1, 2)  # (B, P, D)


class HFEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        n = (c["image_size"] // c["patch_size"]) ** 2
        self.cls_token = nn.Parameter(torch.randn(1, 1, c["hidden_size"]) * 0.02)
        self.position_embeddings = nn.Parameter(torch.randn(1, n + 1, c["hidden_size"]) * 0.02)
        self.patch_embeddings = HFPatchEmbeddings(c)

    def forward(self, x):
        e = self.patch_embeddings(x)
        e = torch.cat([self.cls_token.expand(e.shape[0], -1, -1), e], dim=1)
        return e + self.position_embeddings


class HFSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.h = c["hidden_size"], c["num_attention_heads"]
        self.query = nn.Linear(d, d, bias=c["qkv_bias"])
        self.key = nn.Linear(d, d, bias=c["qkv_bias"])
        self.value = nn.Linear(d, d, bias=c["qkv_bias"])

    def split(self, x):
        b, n, d = x.shape
        return x.view(b, n, self.h, d // self.h).permute(0, 2, 1, 3)

    def forward(self, x):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(x.shape)
        return ctx, probs


class HFSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])


class HFAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = HFSelfAttention(c)
        self.output = HFSelfOutput(c)


class HFIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])


class HFOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])


class HFLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c["layer_norm_eps"]
        self.attention = HFAttention(c)
        self.intermediate = HFIntermediate(c)
        self.output = HFOutput(c)
        self.layernorm_before = nn.LayerNorm(c["hidden_size"], eps=eps)
        self.layernorm_after = nn.LayerNorm(c["hidden_size"], eps=eps)

    def forward(self, x):
        ctx, probs = self.attention.attention(self.layernorm_before(x))
        x = x + self.attention.output.dense(ctx)
        x = x + self.output.dense(F.gelu(self.intermediate.dense(self.layernorm_after(x))))
        return x, probs


class HFEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([HFLayer(c) for _ in range(c["num_hidden_layers"])])


class HFPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])


class HFViTModel(nn.Module):
    def __init__(self, c, pooler=False):
        super().__init__()
        self.embeddings = HFEmbeddings(c)
        self.encoder = HFEncoder(c)
        self.layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        if pooler:
            self.pooler = HFPooler(c)

    def forward(self, x):
        x, attentions = self.embeddings(x), []
        for layer in self.encoder.layer:
            x, probs = layer(x)
            attentions.append(probs)
        return self.layernorm(x), attentions


class HFViTForImageClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vit = HFViTModel(c)
        self.classifier = nn.Linear(c["hidden_size"], len(c["id2label"]))

    def forward(self, x):
        h, attentions = self.vit(x)
        return self.classifier(h[:, 0]), attentions


# ---- timm layout (vision_transformer.py names) ----
class TimmPatchEmbed(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Conv2d(c["in_chans"], c["embed_dim"], c["patch_size"], c["patch_size"])


class TimmAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.h = c["embed_dim"], c["num_heads"]
        self.qkv = nn.Linear(d, 3 * d, bias=c["qkv_bias"])
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4).unbind(0)
        probs = torch.softmax(q @ k.transpose(-2, -1) * (d // self.h) ** -0.5, dim=-1)
        return self.proj((probs @ v).transpose(1, 2).reshape(b, n, d)), probs


class TimmMlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c["embed_dim"], c["mlp_dim"])
        self.fc2 = nn.Linear(c["mlp_dim"], c["embed_dim"])


class TimmBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = nn.LayerNorm(c["embed_dim"], eps=1e-6)
        self.attn = TimmAttention(c)
        self.norm2 = nn.LayerNorm(c["embed_dim"], eps=1e-6)
        self.mlp = TimmMlp(c)

    def forward(self, x):
        a, probs = self.attn(self.norm1(x))
        x = x + a
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x)))), probs


class TimmVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        n = (c["img_size"] // c["patch_size"]) ** 2
        self.cls_token = nn.Parameter(torch.randn(1, 1, c["embed_dim"]) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, c["embed_dim"]) * 0.02)
        self.patch_embed = TimmPatchEmbed(c)
        self.blocks = nn.ModuleList([TimmBlock(c) for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(c["embed_dim"], eps=1e-6)
        self.head = nn.Linear(c["embed_dim"], c["num_classes"])

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        attentions = []
        for blk in self.blocks:
            x, probs = blk(x)
            attentions.append(probs)
        return self.head(self.norm(x)[:, 0]), attentions


def randomize_(model, seed):
    """Non-trivial weights everywhere (LayerNorm scales and biases too, peaked attention) so a
    swapped or transposed key changes the outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "token" in name or "pos" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
