#!/usr/bin/env bash
# Builds native/test-cuda/kernel_test (the CUDA pre-processing and score-filter kernels + the CPU
# pre- and post-processing they are compared with) and runs it. Needs nvcc (CUDA 10.2 or newer) and, to run, a CUDA GPU.
#   native/test-cuda/run.sh [CASES [nobench]]  build + run (default 300 random cases, then throughput)
#   native/test-cuda/run.sh --compile   build only (works without a GPU)
# Env: NVCC (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc), CUDA_ARCH (default: native
# when a GPU is present, else sm_75), OUT_DIR (default: build/test-cuda).
set -euo pipefail
cd "$(dirname "$0")/../.."
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[[ -x "$NVCC" ]] || { echo "SKIP: nvcc not found (install the CUDA toolkit or set NVCC)"; exit 77; }
OUT_DIR=${OUT_DIR:-build/test-cuda}
mkdir -p "$OUT_DIR"
compile_only=0
[[ "${1:-}" == "--compile" ]] && { compile_only=1; shift; }
if [[ -z "${CUDA_ARCH:-}" ]]; then
  if (( compile_only == 0 )) && command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    CUDA_ARCH=native
  else
    CUDA_ARCH=sm_75
  fi
fi
arch_flag="-arch=$CUDA_ARCH"
CXX=${CXX:-g++}
CUDA_INC=""
for d in "${CUDA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$NVCC")")")" /usr/local/cuda; do
  [[ -n "$d" && -f "$d/include/cuda_runtime_api.h" ]] && { CUDA_INC=$d/include; break; }
done
[[ -n "$CUDA_INC" ]] || { echo "error: cuda_runtime_api.h not found (set CUDA_HOME)" >&2; exit 1; }
src=native/src
objs=()
# host C++ (C++17, as the addon builds it) and CUDA (C++14, as CUDA 10.2 needs)
for f in $src/preprocess.cc $src/postprocess.cc $src/cuda/gpu_preprocess.cc native/test-cuda/kernel_test.cc; do
  o="$OUT_DIR/$(basename "${f%.*}").o"
  "$CXX" -std=c++17 -O2 -Wall -Wextra -I"$src" -I"$CUDA_INC" -c "$f" -o "$o"
  objs+=("$o")
done
for f in $src/cuda/preprocess_kernels.cu $src/cuda/decode_kernels.cu; do
  o="$OUT_DIR/$(basename "${f%.*}").o"
  "$NVCC" -std=c++14 -O2 "$arch_flag" -I"$src" -c "$f" -o "$o"
  objs+=("$o")
done
"$NVCC" "$arch_flag" "${objs[@]}" -o "$OUT_DIR/kernel_test"
echo "built $OUT_DIR/kernel_test ($CUDA_ARCH, $("$NVCC" --version | tail -1))"
(( compile_only )) && exit 0
exec "$OUT_DIR/kernel_test" "$@"
