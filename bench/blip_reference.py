"""transformers' own BLIP captioner at Salesforce/blip-image-captioning-base's shapes (ViT-B/16 at
384 + BERT-base decoder, 12 heads; random weights: the hub is not reachable here), timed as a user
runs it: model.generate on one 384x384 image, greedy or beam search, exactly --tokens new tokens
(min_new_tokens = max_new_tokens, so [SEP] cannot end it early). Prints one JSON line.

Needs transformers 5 on PyTorch 2 (a temp venv: pip install torch==2.13.0+cpu transformers), e.g.
    /tmp/venv/bin/python bench/blip_reference.py --beam 3 --tokens 20 --threads 2
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "reference"))
import torchvision_cpu_shim  # noqa: E402,F401
import torch  # noqa: E402
import transformers as T  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--beam", type=int, default=1)
p.add_argument("--tokens", type=int, default=20)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--iters", type=int, default=3)
p.add_argument("--warmup", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
config = T.BlipConfig(
    vision_config=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, image_size=384, patch_size=16),
    text_config=dict(vocab_size=30524, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, encoder_hidden_size=768,
                     bos_token_id=30522, sep_token_id=102, pad_token_id=0),
)
model = T.BlipForConditionalGeneration(config).eval()
pixels = torch.randn(1, 3, 384, 384)


def caption():
    with torch.inference_mode():
        t0 = time.perf_counter()
        enc = model.vision_model(pixel_values=pixels)[0]
        t1 = time.perf_counter()
        model.generate(pixel_values=pixels, num_beams=a.beam, max_new_tokens=a.tokens, min_new_tokens=a.tokens, do_sample=False)
        t2 = time.perf_counter()
    del enc
    return t2 - t1, t1 - t0


for _ in range(a.warmup):
    caption()
runs = [caption() for _ in range(a.iters)]
times = sorted(r[0] for r in runs)
print(json.dumps({
    "engine": f"transformers {T.__version__}, torch {torch.__version__}", "beam": a.beam, "tokens": a.tokens, "threads": a.threads,
    "caption_s": times[len(times) // 2], "caption_min_s": times[0], "encoder_s": sorted(r[1] for r in runs)[len(runs) // 2],
}))
