#!/usr/bin/env bash
# CPU speed of ffcuda beside the same FF training step in plain NumPy (tools/numpy_ff.py) and in
# PyTorch (tools/torch_ff.py, Debian's python3-torch), measured in one run so that all see the
# same machine state.
#
# Usage (from anywhere; about 10 minutes with the default 3 rounds on 2 cores):
#     tools/cpu_speed.sh [ROUNDS] [OUT_FILE]
#
# For every network (2x500, 4x2000) and batch (100, 1000), one after the other in each round:
#     ffcuda bench --device cpu (fp32, then --precision bf16)
#     /usr/bin/python3 tools/numpy_ff.py        (fp32; NumPy has no bf16 matrix product)
#     /usr/bin/python3 tools/torch_ff.py --device cpu (fp32, then bf16 autocast)
# and prints samples/s (training images per second), ffcuda's step / its GEMMs alone, its GEMMs'
# rate as a fraction of oneDNN's own at the same shapes (bench/gemm_survey/gemm_survey.cpp --list
# on the GEMMs the bench lists, run right after it: fp32 dnnl_sgemm, bf16 the matmul primitive),
# and the ratios ffcuda/NumPy and ffcuda/PyTorch; at the end the median of every figure over the
# rounds.
# Each peer gets the best kernels its library offers here: OPENBLAS_CORETYPE is unset for NumPy
# (OpenBLAS then picks its kernels from the CPU model; an inherited setting may name slower ones)
# and glibc is told to keep its large temporaries mapped (numpy_ff.py explains why: page faults
# otherwise dominate its 4x2000 step). PyTorch (Debian's 1.13: fp32 products on the same
# OpenBLAS, bf16 ones on oneDNN) gets OPENBLAS_CORETYPE unset too and every core as threads (its
# default here is one). ffcuda needs nothing set.
# Needs: build-cpu/ffcuda (tools/build.sh), Debian's python3-numpy and python3-torch (run by
# /usr/bin/python3: the pyenv python3 on PATH has neither), jq, MNIST in data/mnist, and g++ with
# libdnnl-dev (the engine's own build needs both) for build-survey/survey_onednn, built when missing.
# Reading the numbers: `uptime` is printed before and after; a load well above 0 before the start
# means something else (a compile) shares the cores and every figure is slowed.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds="${1:-3}"
out_file="${2:-}"
python=/usr/bin/python3
ffcuda=build-cpu/ffcuda
[[ -x "$ffcuda" ]] || { echo "missing $ffcuda: build it first (FF_BUILD_DIR=build-cpu tools/build.sh)" >&2; exit 1; }
"$python" -c "import numpy" 2>/dev/null || { echo "$python has no NumPy: apt-get install -y python3-numpy" >&2; exit 1; }
"$python" -c "import torch" 2>/dev/null || { echo "$python has no PyTorch: apt-get install -y python3-torch" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }
# oneDNN alone at the step's shapes (the library ffcuda's CPU backend calls; libdnnl-dev).
survey=build-survey/survey_onednn
if [[ ! -x "$survey" || bench/gemm_survey/gemm_survey.cpp -nt "$survey" ]]; then
  mkdir -p build-survey
  g++ -O2 -std=c++20 -fopenmp -DGEMM_SURVEY_DNNL bench/gemm_survey/gemm_survey.cpp -o "$survey" -ldnnl
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
declare -A figures=()  # "<layers> <batch> <what>" -> space-separated values over the rounds

# Steps per measurement: a few seconds each.
steps() {  # layers batch tool
  case "$1 $2 $3" in
    "2x500 100 ffcuda") echo 400 ;; "2x500 100 numpy") echo 200 ;; "2x500 100 torch") echo 200 ;;
    "2x500 1000 ffcuda") echo 60 ;; "2x500 1000 "*) echo 30 ;;
    "4x2000 100 ffcuda") echo 40 ;; "4x2000 100 "*) echo 12 ;;
    *) echo 6 ;;
  esac
}

record() { figures["$1"]="${figures[$1]:-} $2"; }

measure() {  # layers batch
  local L=$1 B=$2 json sps
  for precision in fp32 bf16; do
    "$ffcuda" bench --device cpu --layers "$L" --batch "$B" --warmup 3 --iters "$(steps "$L" "$B" ffcuda)" \
      --eval-images 0 --precision "$precision" --json "$tmp/bench.json" >/dev/null 2>"$tmp/err" ||
      { cat "$tmp/err" >&2; exit 1; }
    record "$L $B ffcuda-$precision" "$(jq -r '.samples_per_s' "$tmp/bench.json")"
    record "$L $B ffcuda-$precision-step/gemms" "$(jq -r '.step_over_gemms' "$tmp/bench.json")"
    jq -r '.step_gemms[] | "\(.m) \(.n) \(.k) \(.trans_a) \(.trans_b)"' "$tmp/bench.json" >"$tmp/gemms.txt"
    local library_args=(--list "$tmp/gemms.txt" --seconds 0.3)
    [[ $precision == bf16 ]] && library_args+=(--bf16)
    local library
    library=$("$survey" "${library_args[@]}" | sed -n 's/^list: .*, \([0-9.]*\) GFLOP\/s$/\1/p')
    record "$L $B ffcuda-$precision-gemms/library" \
      "$(awk -v engine="$(jq -r '.gemm_tflops' "$tmp/bench.json")" -v lib="$library" 'BEGIN { print engine * 1000 / lib }')"
    ffcuda_device=$(jq -r '.device' "$tmp/bench.json")
  done
  sps=$(env -u OPENBLAS_CORETYPE MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=100000000000 \
    "$python" tools/numpy_ff.py --layers "$L" --batch "$B" --warmup 2 --steps "$(steps "$L" "$B" numpy)" \
    --no-eval --json 2>/dev/null | tail -n 1 | jq -r '.train_samples_per_s')
  record "$L $B numpy-fp32" "$sps"
  for precision in fp32 bf16; do
    json=$(env -u OPENBLAS_CORETYPE "$python" tools/torch_ff.py --device cpu --layers "$L" --batch "$B" --warmup 3 \
      --iters "$(steps "$L" "$B" torch)" --precision "$precision" 2>/dev/null | tail -n 1)
    record "$L $B torch-$precision" "$(jq -r '.samples_per_s' <<<"$json")"
  done
}

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g |
  awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

{
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(uptime | sed 's/.*load/load/')"
  for ((r = 1; r <= rounds; r++)); do
    for L in 2x500 4x2000; do
      for B in 100 1000; do measure "$L" "$B"; done
    done
    echo "round $r done: $(uptime | sed 's/.*load/load/')"
  done
  echo "ffcuda: $ffcuda_device"
  # The OpenBLAS NumPy loaded, asked which kernels it chose.
  echo "NumPy $("$python" -c 'import numpy; print(numpy.__version__)'), OpenBLAS kernels" \
    "$(env -u OPENBLAS_CORETYPE "$python" -c 'import numpy, ctypes
paths = sorted({l.split()[-1] for l in open("/proc/self/maps") if "libopenblas" in l})
core = ctypes.CDLL(paths[0]).openblas_get_corename if paths else None
if core: core.restype = ctypes.c_char_p
print(core().decode() if core else "?")' 2>/dev/null || echo '?') (its own choice)"
  echo "PyTorch $("$python" -c 'import torch; print(torch.__version__, "oneDNN (mkldnn)", torch.backends.mkldnn.is_available())'), threads: every core"
  echo
  echo "oneDNN alone: $("$survey" --list /dev/null 2>/dev/null | sed -n 's/^kernels: //p' || true)"
  echo
  echo "median samples/s over $rounds rounds; for ffcuda (step / its GEMMs alone, its GEMMs' rate / oneDNN's alone):"
  printf '%-7s %6s %22s %22s %10s %10s %10s %12s %12s\n' layers batch "ffcuda fp32" "ffcuda bf16" \
    "numpy" "torch fp32" "torch bf16" "ff/numpy" "ff/torch"
  for L in 2x500 4x2000; do
    for B in 100 1000; do
      f32=$(median "${figures["$L $B ffcuda-fp32"]}"); b16=$(median "${figures["$L $B ffcuda-bf16"]}")
      r32=$(median "${figures["$L $B ffcuda-fp32-step/gemms"]}"); r16=$(median "${figures["$L $B ffcuda-bf16-step/gemms"]}")
      l32=$(median "${figures["$L $B ffcuda-fp32-gemms/library"]}"); l16=$(median "${figures["$L $B ffcuda-bf16-gemms/library"]}")
      np=$(median "${figures["$L $B numpy-fp32"]}"); t32=$(median "${figures["$L $B torch-fp32"]}")
      t16=$(median "${figures["$L $B torch-bf16"]}")
      printf '%-7s %6s %8.0f (%4.2f, %3.0f%%) %8.0f (%4.2f, %3.0f%%) %10.0f %10.0f %10.0f %11.2fx %11.2fx\n' "$L" "$B" \
        "$f32" "$r32" "$(awk -v x="$l32" 'BEGIN { print 100 * x }')" \
        "$b16" "$r16" "$(awk -v x="$l16" 'BEGIN { print 100 * x }')" "$np" "$t32" "$t16" \
        "$(awk -v a="$f32" -v b="$np" 'BEGIN { print a / b }')" \
        "$(awk -v a="$f32" -v b="$t32" 'BEGIN { print a / b }')"
    done
  done
  echo "every round's figures:"
  for key in "${!figures[@]}"; do echo "  $key:${figures[$key]}"; done | sort
  echo "load after: $(uptime | sed 's/.*load/load/')"
} | if [ -n "$out_file" ]; then tee "$out_file"; else cat; fi
