"""Hugging Face datasets written by `datasets` itself, and pixels as PIL sees them.

test/fixtures/hf-dataset/        a dataset repository in the Hub layout: README.md card with a
    dataset_info ClassLabel whose names' sorted order differs from their indices (Fashion-MNIST
    names, some spelled as folders would), data/{train,validation,test}-00000-of-00001.parquet with
    the images embedded as bytes (as push_to_hub stores them; validation zstd-compressed, as some
    Hub files are), labels snappy (datasets' default)
test/fixtures/hf-dataset-paths/  `Dataset.to_parquet` of image *paths* (bytes null, paths relative
    to the folder), the same images as files under images/, and no card: names from the parquet
    schema's `huggingface` metadata
test/fixtures/pixels/            EXIF orientation 6 (stored sideways) with PIL's exif_transpose of it;
    a CMYK JPEG with PIL's convert("RGB"); BMP (24-bit, 8-bit palette) and ICO with PIL's RGB

Run in a temp venv:  python -m venv /tmp/venv && /tmp/venv/bin/pip install pillow datasets pyarrow
                     /tmp/venv/bin/python scripts/reference/hf_datasets.py test/fixtures
"""
import io
import os
import sys

import datasets
import pyarrow.parquet as pq
from datasets import ClassLabel, Dataset, Features, Image as ImageFeature
from datasets.table import embed_table_storage
from PIL import Image, ImageOps

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures"
here = os.path.dirname(os.path.abspath(__file__))
samples = os.path.join(here, "..", "..", "samples")

# ClassLabel order (indices) differs from sorted order; two names hold "/" or spaces, as the model's do.
NAMES = ["Trouser", "T-shirt/top", "Bag", "Ankle boot", "Dress"]
FILES = {"T-shirt/top": "0_t-shirt-top.png", "Trouser": "1_trouser.png", "Dress": "3_dress.png", "Bag": "8_bag.png", "Ankle boot": "9_ankle-boot.png"}


def variants(name):
    """A few distinct 28x28 images of one class: the sample, mirrored, shifted."""
    img = Image.open(os.path.join(samples, "fashion", FILES[name])).convert("RGB")
    yield img
    yield ImageOps.mirror(img)
    yield ImageOps.expand(img.crop((2, 0, 28, 28)), border=(0, 0, 2, 0), fill=(0, 0, 0))


def rows(split):
    picks = {"train": [0, 1], "validation": [2], "test": [0, 2]}[split]
    images, labels = [], []
    for label, name in enumerate(NAMES):
        for k, img in enumerate(variants(name)):
            if k in picks:
                images.append(img)
                labels.append(label)
    return images, labels


def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


features = Features({"image": ImageFeature(), "label": ClassLabel(names=NAMES)})

# 1. Hub layout, bytes embedded (what push_to_hub uploads)
repo = os.path.join(out, "hf-dataset")
os.makedirs(os.path.join(repo, "data"), exist_ok=True)
for split in ["train", "validation", "test"]:
    images, labels = rows(split)
    ds = Dataset.from_dict({"image": [{"bytes": png_bytes(i), "path": None} for i in images], "label": labels}, features=features)
    ds = ds.with_format("arrow").map(embed_table_storage, batched=True).with_format(None)
    path = os.path.join(repo, "data", f"{split}-00000-of-00001.parquet")
    if split == "validation":  # datasets' to_parquet fixes the codecs; pyarrow writes the same table with zstd
        pq.write_table(ds.data.table, path, compression="zstd")
    else:
        ds.to_parquet(path)
label_yaml = "\n".join(f"          '{i}': {n}" for i, n in enumerate(NAMES))
with open(os.path.join(repo, "README.md"), "w") as f:
    f.write(f"""---
dataset_info:
  features:
  - name: image
    dtype: image
  - name: label
    dtype:
      class_label:
        names:
{label_yaml}
  splits:
  - name: train
    num_examples: {len(rows("train")[1])}
  - name: validation
    num_examples: {len(rows("validation")[1])}
  - name: test
    num_examples: {len(rows("test")[1])}
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
  - split: validation
    path: data/validation-*
  - split: test
    path: data/test-*
---
# A tiny Fashion-MNIST-like dataset written by `datasets` {datasets.__version__} (scripts/reference/hf_datasets.py)
""")

# 2. to_parquet of paths: bytes stay null, paths are stored as given (relative to the folder)
paths_repo = os.path.join(out, "hf-dataset-paths")
os.makedirs(os.path.join(paths_repo, "images"), exist_ok=True)
images, labels = rows("test")
rel = []
for k, (img, y) in enumerate(zip(images, labels)):
    p = f"images/{k:02d}_{NAMES[y].replace('/', '-').replace(' ', '-').lower()}.png"
    img.save(os.path.join(paths_repo, p))
    rel.append(p)
cwd = os.getcwd()
os.chdir(paths_repo)
Dataset.from_dict({"image": rel, "label": labels}, features=features).to_parquet("test.parquet")
os.chdir(cwd)

# 3. pixels
pix = os.path.join(out, "pixels")
os.makedirs(pix, exist_ok=True)
photo = Image.open(os.path.join(samples, "coffee.jpg")).convert("RGB").resize((64, 48), Image.BICUBIC)
# orientation 6: the camera was turned; the stored pixels are the upright image rotated 90° clockwise...
sideways = photo.transpose(Image.Transpose.ROTATE_90)
exif = Image.Exif()
exif[0x0112] = 6
sideways.save(os.path.join(pix, "exif6.jpg"), quality=95, exif=exif.tobytes())
stored = Image.open(os.path.join(pix, "exif6.jpg"))
ImageOps.exif_transpose(stored).convert("RGB").save(os.path.join(pix, "exif6.upright.png"))
stored.convert("RGB").save(os.path.join(pix, "exif6.stored.png"))  # what --no-exif-rotate sees

cat = Image.open(os.path.join(samples, "cat.jpg")).convert("RGB").resize((48, 32), Image.BICUBIC)
cat.convert("CMYK").save(os.path.join(pix, "cmyk.jpg"), quality=95)
Image.open(os.path.join(pix, "cmyk.jpg")).convert("RGB").save(os.path.join(pix, "cmyk.rgb.png"))

cat.save(os.path.join(pix, "rgb24.bmp"))
cat.quantize(16).save(os.path.join(pix, "palette8.bmp"))
cat.resize((32, 32)).save(os.path.join(pix, "icon.ico"), sizes=[(16, 16), (32, 32)])
for f in ["rgb24.bmp", "palette8.bmp", "icon.ico"]:
    Image.open(os.path.join(pix, f)).convert("RGB").save(os.path.join(pix, f + ".rgb.png"))
print("wrote", repo, paths_repo, pix)
