#!/usr/bin/env bash
# Runs on the GPU machine (no network; its own python3 with torch): installs the carried wheels, unpacks the
# carried data, runs the fast-path benchmark and the recipes, and leaves everything under $OUT.
#   bash bench/gpu/job.sh                      # full: benchmark + recipe runs (set RUNS, RECIPES, EPOCHS)
#   SMOKE=1 bash bench/gpu/job.sh              # the same steps on tiny settings (also works on a CPU)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
if [ -d .whl ] && ! python3 -c "import fastai" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}
tgz=$(ls .gpu-data/*.tgz 2>/dev/null | head -1 || true)
if [ -n "$tgz" ]; then
  mkdir -p /tmp/data && tar -C /tmp/data -xzf "$tgz"
  export IMAGENETTE_SOTA_DATA=/tmp/data/$(basename "$tgz" .tgz)
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true; python3 -c "import torch, fastai; print('torch', torch.__version__, 'fastai', fastai.__version__, 'cuda', torch.cuda.is_available())"; } | tee "$OUT/env.txt"
if [ -n "${SMOKE:-}" ]; then
  python3 bench/fastpath.py --smoke --out "$OUT/fastpath-smoke.json" 2>&1 | tee "$OUT/fastpath-smoke.txt"
  python3 -m imagenette_sota.cli train --recipe leaderboard --quick --loader cache --out "$OUT/records.jsonl" 2>&1 | tail -3
  exit 0
fi
EPOCHS=${EPOCHS:-5}; SIZE=${SIZE:-128}; BS=${BS:-256}; LR=${LR:-8e-3}
python3 bench/fastpath.py --size "$SIZE" --epochs "$EPOCHS" --bs "$BS" --lr "$LR" --stock-bs 64 --workers "$(nproc)" \
  ${COMPILE:+--compile} --out "$OUT/fastpath.json" 2>&1 | tee "$OUT/fastpath.txt"
for r in ${RECIPES:-}; do
  python3 -m imagenette_sota.cli train --recipe "$r" --scale gpu --loader cache --size "$SIZE" --epochs "$EPOCHS" --runs "${RUNS:-3}" \
    --out "$OUT/records.jsonl" 2>&1 | grep -v '^{' | tee -a "$OUT/train.txt"
done
