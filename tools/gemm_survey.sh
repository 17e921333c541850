#!/usr/bin/env bash
# The CPU GEMM libraries Debian offers, side by side on this machine at the FF step's shapes:
# OpenBLAS with the kernels it picks itself and with each kernel set named in OPENBLAS_CORETYPE,
# BLIS, and oneDNN (fp32 and bf16). Builds bench/gemm_survey/gemm_survey.cpp once per library into
# build-survey/, runs each with the same threads (default: all cores), and prints one table.
# Every product is checked against double precision (the error column).
#
#     tools/gemm_survey.sh [SECONDS_PER_SHAPE]     (default 1; about 2 minutes in all)
#
# Needs libopenblas-openmp-dev, libblis-openmp-dev, libdnnl-dev (installed when missing). Run it
# on an otherwise idle machine: `uptime` is printed before and after.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-1}
out=$root/build-survey
mkdir -p "$out"
packages=(libopenblas-openmp-dev libblis-openmp-dev libdnnl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}" >/dev/null
fi
src=$root/bench/gemm_survey/gemm_survey.cpp
flags=(-O2 -std=c++20 -fopenmp)
multiarch=$(gcc -print-multiarch)
# OpenBLAS has a bf16 GEMM (sbgemm) only when built with it; Debian's 0.3.21 is not.
openblas_bf16=()
if nm -D "/usr/lib/$multiarch/openblas-openmp/libopenblas.so.0" 2>/dev/null | grep -q ' T cblas_sbgemm'; then
  openblas_bf16=(-DGEMM_SURVEY_OPENBLAS_BF16)
fi
g++ "${flags[@]}" "${openblas_bf16[@]}" -DGEMM_SURVEY_CBLAS -DGEMM_SURVEY_OPENBLAS -I"/usr/include/$multiarch/openblas-openmp" "$src" \
  -o "$out/survey_openblas" -L"/usr/lib/$multiarch/openblas-openmp" -lopenblas \
  -Wl,-rpath,"/usr/lib/$multiarch/openblas-openmp"
g++ "${flags[@]}" -DGEMM_SURVEY_CBLAS -I"/usr/include/$multiarch/blis-openmp" "$src" \
  -o "$out/survey_blis" "/usr/lib/$multiarch/blis-openmp/libblis.a" -lm -lpthread
g++ "${flags[@]}" -DGEMM_SURVEY_DNNL "$src" -o "$out/survey_onednn" -ldnnl

export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $OMP_NUM_THREADS threads; load before: $(uptime | sed 's/.*load/load/')"
run() {
  local name=$1
  shift
  echo "== $name"
  "$@" --seconds "$seconds"
}
run "OpenBLAS, kernels it picks itself" env -u OPENBLAS_CORETYPE "$out/survey_openblas"
# This machine's environment may name a kernel set (OPENBLAS_CORETYPE): "picks itself" is run
# without it, each named set with it.
for core in Haswell SkylakeX Cooperlake Zen; do
  run "OpenBLAS, OPENBLAS_CORETYPE=$core" env OPENBLAS_CORETYPE=$core "$out/survey_openblas"
done
run "OpenBLAS, bf16 operands, fp32 accumulation (sbgemm), kernels it picks itself" env -u OPENBLAS_CORETYPE "$out/survey_openblas" --bf16
run "BLIS (its own kernel choice)" "$out/survey_blis"
run "oneDNN, fp32 (dnnl_sgemm)" "$out/survey_onednn"
run "oneDNN, fp32 (matmul primitive)" "$out/survey_onednn" --matmul
run "oneDNN, bf16 operands, fp32 accumulation (matmul primitive)" "$out/survey_onednn" --bf16
echo "load after: $(uptime | sed 's/.*load/load/')"
