#!/usr/bin/env bash
# One training session on a GPU machine: prints the GPU, runs train.py with the given arguments
# and keeps the log beside the checkpoint.
#   OUT=/tmp/run1 bash scripts/train/gpu-run.sh --minutes 8.3
#   OUT=/tmp/run2 bash scripts/train/gpu-run.sh --minutes 8.3 --resume /tmp/run1/ckpt.pt --index-offset 2000000
# Writes $OUT/ckpt.pt (EMA weights), $OUT/history.json (val mAP over time), $OUT/train.log.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${OUT:?set OUT to the output directory}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
{
  date -u +'start %FT%TZ'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'
  echo "cpus: $(nproc)"
  python3 -c 'import torch, torchvision, numpy, PIL; print("torch", torch.__version__, "torchvision", torchvision.__version__, "numpy", numpy.__version__, "pillow", PIL.__version__)'
} 2>&1 | tee "$OUT/train.log"
set -o pipefail
python3 "$here/train.py" --out "$OUT" "$@" 2>&1 | grep --line-buffered -v 'Warning' | tee -a "$OUT/train.log"
date -u +'end %FT%TZ' | tee -a "$OUT/train.log"
