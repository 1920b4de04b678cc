"""ViT presets for the benchmark scripts: embed_dim, depth, heads, mlp, patch — as src/models/vit-config.ts."""
PRESETS = {
    "vit-ti16": (192, 12, 3, 768, 16), "vit-s16": (384, 12, 6, 1536, 16), "vit-b16": (768, 12, 12, 3072, 16),
    "vit-b32": (768, 12, 12, 3072, 32), "vit-l16": (1024, 24, 16, 4096, 16), "vit-l32": (1024, 24, 16, 4096, 32),
}
