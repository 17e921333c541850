#!/usr/bin/env bash
# The one command for a machine with an NVIDIA GPU: everything the CUDA backend promises, checked
# and logged in one go.
#
#   tools/gpu-check.sh [BUILD_DIR]        (or FF_BUILD_DIR=...; default: the carried bundle
#                                          .carry/gpu-bundle.tar.xz of tools/gpu_bundle.sh if
#                                          present, else configure + build here)
#
# Steps (FF_GPU_CHECK_STEPS="build smi devices tests memcheck racecheck initcheck train bench
# torch study rotation" runs a subset, e.g. to split the work across calls with a time limit):
#   build      without a given build folder: cmake -DFF_CUDA_ARCHITECTURES=90 + ninja into
#              build-gpu-check/ (a carried folder is used as it is)
#   smi        nvidia-smi, and the shared libraries the binaries cannot find
#   devices    ffcuda devices
#   tests      the whole test suite; any SKIPPED test fails the step (a GPU machine must run the
#              GPU parity tests, not skip them). ctest when available, else ff_tests directly.
#   memcheck, racecheck, initcheck
#              compute-sanitizer --tool <tool> over ff_tests --gtest_filter='Parity*'
#   train      ffcuda train --dataset mnist --task supervised --layers 4x2000 --epochs 3
#              --device cuda (MNIST from $FF_MNIST_DIR, data/mnist or .carry/mnist)
#   bench      ffcuda bench, 4x2000 at batch 100 and 1000: every step plan (--pass-mode stacked|
#              streams x --overlap x --graphs) in fp32, then tf32 and bf16 with the default plan;
#              one JSON per run in bench/results/<device>/ (these decide the defaults)
#   torch      tools/torch_ff.py at batch 100 and 1000 (fp32), if PyTorch is importable
#   study      60 epochs of MNIST supervised 4x2000, batch 100, evaluation included, timed
#   rotation   issue 5's full-size row: MNIST rotation 4x2000, 60 epochs, then the linear probe
#              (100 epochs); timed, result.json kept (study: 98.6% rotation, 76.3% transfer)
# Everything is tee'd into bench/results/<device-name-slug>/gpu-check-<date>.log; when $OUT is set
# (the device tool), also into $OUT/gpu-check-<device>-<date>.log, and the results folder is packed
# into $OUT/gpu-check-<device>-<date>.tar.gz at the end. Exit status: 0 only if every step passed.
#
# Machines without the runtime libraries (libopenblas, libgomp, libmatio, libhdf5, libgfortran,
# ...): put them in .carry/lib (git-ignored); this script prepends it to LD_LIBRARY_PATH. To fill
# it, on the build machine:
#   mkdir -p .carry/lib
#   ldd build-cuda/ffcuda build-cuda/ff_tests | awk '/=> \// {print $3}' | sort -u |
#     grep -v -e '/libc\.so' -e '/libm\.so' -e '/libpthread' -e '/libdl\.so' -e '/librt\.so' \
#             -e '/ld-linux' -e '/libcuda\.so' -e '/libcudart' -e '/libcublas' |
#     xargs -I{} cp -L {} .carry/lib/
# (the CUDA libraries come from the GPU machine's own toolkit and driver). The smi step prints
# the libraries still "not found"; copying only those keeps the carried folder small.
# A carried build folder holds absolute paths (ctest files, FF_SOURCE_DIR in the tests): carry
# it only to the same checkout path, or let this script build.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
build=${1:-${FF_BUILD_DIR:-}}
steps=${FF_GPU_CHECK_STEPS:-build smi devices tests memcheck racecheck initcheck train bench torch study rotation}
export PATH="/usr/local/cuda/bin:$PATH"
if [ -d "$root/.carry/lib" ]; then
  export LD_LIBRARY_PATH="$root/.carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# ---- the log: one file per run, named after the device ----
device_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
slug=$(printf '%s' "${device_name:-unknown-gpu}" | tr '[:upper:]' '[:lower:]' |
  sed -e 's/[^a-z0-9]\+/-/g' -e 's/^-//' -e 's/-$//')
stamp=$(date +%Y%m%d-%H%M%S)
log_rel="bench/results/$slug/gpu-check-$stamp.log"
mkdir -p "$root/bench/results/$slug"
logs=("$root/$log_rel")
if [ -n "${OUT:-}" ]; then
  # The device tool brings back at most 8 files from $OUT, at most 2 folders down: the log goes to
  # $OUT itself, and everything this run writes under bench/results/<device>/ goes back as one
  # tarball at the end (unpack it in the checkout: tar -xzf ... -C .).
  logs+=("$OUT/gpu-check-$slug-$stamp.log")
fi
exec > >(tee -a "${logs[@]}") 2>&1
tee_pid=$!

echo "gpu-check: $(date -Is) on $(hostname), device '${device_name:-none}', repo $root"
echo "gpu-check: commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')" \
  "$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo '(uncommitted changes)')"

results=()
failed=0
wants() { [[ " $steps " == *" $1 "* ]]; }
# run_step NAME COMMAND...: runs it, records PASS/FAIL with the time taken.
run_step() {
  local name=$1 start=$SECONDS status
  shift
  echo
  echo "===== $name: $* ====="
  "$@"
  status=$?
  if [ "$status" -eq 0 ]; then
    results+=("PASS  $name ($((SECONDS - start)) s)")
  else
    results+=("FAIL  $name (exit $status, $((SECONDS - start)) s)")
    failed=1
  fi
  return "$status"
}

# ---- steps ----
do_build() {
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFF_CUDA_ARCHITECTURES=90 \
    -DFF_BUILD_BENCH=OFF && ninja -C "$build" -j "$(nproc)"
}

do_smi() {
  nvidia-smi || return 1
  local missing
  missing=$(ldd "$build/ffcuda" "$build/ff_tests" 2>&1 | grep 'not found' | sort -u)
  if [ -n "$missing" ]; then
    echo "missing shared libraries (copy them into .carry/lib, see the top of this script):"
    echo "$missing"
    return 1
  fi
}

do_tests() {
  local out status
  out=$(mktemp)
  if command -v ctest >/dev/null && [ -f "$build/CTestTestfile.cmake" ]; then
    (cd "$build" && ctest --output-on-failure -j "$(nproc)" --timeout 900) 2>&1 | tee "$out"
    status=${PIPESTATUS[0]}
    # ctest lists skipped tests as "***Skipped" and under "The following tests did not run".
    if grep -q -e '\*\*\*Skipped' -e 'tests did not run' "$out"; then
      echo "gpu-check: tests were SKIPPED on a GPU machine; every test must run here"
      status=1
    fi
  else
    echo "gpu-check: no ctest here; running $build/ff_tests directly (the same tests)"
    "$build/ff_tests" 2>&1 | tee "$out"
    status=${PIPESTATUS[0]}
    if grep -q '^\[  SKIPPED \]' "$out"; then
      echo "gpu-check: tests were SKIPPED on a GPU machine; every test must run here"
      status=1
    fi
  fi
  rm -f "$out"
  return "$status"
}

do_sanitizer() {
  command -v compute-sanitizer >/dev/null || {
    echo "compute-sanitizer not found (it ships with the CUDA toolkit, in /usr/local/cuda/bin)"
    return 1
  }
  # gVisor machines (the device tool's nvidia-h200 kind, kernel 4.4.0) refuse compute-sanitizer
  # ("Device not supported", then error 999): say so instead of a confusing failure.
  if [ "$(uname -r)" = 4.4.0 ]; then
    echo "compute-sanitizer does not run on this machine (gVisor runtime, kernel 4.4.0: the"
    echo "nvidia-h200 kind); run the memcheck/racecheck/initcheck steps on nvidia-h100-x1"
    return 1
  fi
  local extra=()
  [ "$1" = racecheck ] && extra=(--racecheck-report analysis)
  compute-sanitizer --tool "$1" "${extra[@]}" --error-exitcode 99 --print-limit 50 \
    "$build/ff_tests" --gtest_filter='Parity*' --gtest_brief=1
}

find_mnist() {
  local data=${FF_MNIST_DIR:-}
  if [ -z "$data" ]; then
    for candidate in "$root/data/mnist" "$root/.carry/mnist"; do
      if ls "$candidate"/train-images-idx3-ubyte* >/dev/null 2>&1; then
        data=$candidate
        break
      fi
    done
  fi
  if [ -z "$data" ]; then
    echo "MNIST not found: run tools/fetch_data.sh, or carry the four IDX files (gzip -k them:" >&2
    echo "the reader takes .gz) in data/mnist or .carry/mnist, or set FF_MNIST_DIR" >&2
    return 1
  fi
  echo "$data"
}

# train_run TASK EPOCHS [OPTIONS...]: MNIST 4x2000 on the GPU, metrics kept next to the log.
train_run() {
  local task=$1 epochs=$2 data out status
  shift 2
  data=$(find_mnist) || return 1
  out="$root/bench/results/$slug/train-$task-4x2000-e$epochs-$stamp"
  "$build/ffcuda" train --dataset mnist --data-dir "$data" --task "$task" --layers 4x2000 \
    --epochs "$epochs" --device cuda --out "$out" "$@"
  status=$?
  ls -l "$out"
  return "$status"
}

do_train() { train_run supervised 3; }
do_study() { train_run supervised 60; }  # run_step prints the wall time; result.json has elapsed_s
# Issue 5's GPU row; the study reports 98.6% rotation accuracy and 76.3% transfer.
do_rotation() { train_run rotation 60 --probe --probe-epochs 100; }

do_bench() {
  local status=0 batch plan pass overlap graphs precision name
  for batch in 100 1000; do
    for pass in stacked streams; do
      for overlap in true false; do
        for graphs in on off; do
          name="bench-4x2000-b$batch-fp32-$pass-overlap_$overlap-graphs_$graphs.json"
          "$build/ffcuda" bench --device cuda --layers 4x2000 --batch "$batch" --precision fp32 \
            --pass-mode "$pass" --overlap "$overlap" --graphs "$graphs" --warmup 10 --iters 50 \
            --json "$root/bench/results/$slug/$name" || status=1
        done
      done
    done
    for precision in tf32 bf16; do
      name="bench-4x2000-b$batch-$precision-default-plan.json"
      "$build/ffcuda" bench --device cuda --layers 4x2000 --batch "$batch" \
        --precision "$precision" --warmup 10 --iters 50 \
        --json "$root/bench/results/$slug/$name" || status=1
    done
  done
  return "$status"
}

do_torch() {
  python3 -c 'import torch; assert torch.cuda.is_available()' || {
    echo "PyTorch with CUDA is not importable here"
    return 1
  }
  local status=0 batch
  for batch in 100 1000; do
    # It prints one JSON line (and nothing else) on stdout.
    python3 "$root/tools/torch_ff.py" --layers 4x2000 --batch "$batch" \
      >"$root/bench/results/$slug/torch-4x2000-b$batch.json" || status=1
    cat "$root/bench/results/$slug/torch-4x2000-b$batch.json"
  done
  return "$status"
}

# A carried bundle (tools/gpu_bundle.sh): unpacked once, its binaries, libraries and MNIST used.
bundle="$root/.carry/gpu-bundle.tar.xz"
if [ -z "$build" ] && [ -f "$bundle" ]; then
  if [ ! -x "$root/.carry/gpu/bin/ffcuda" ]; then
    echo "gpu-check: unpacking $bundle"
    python3 - "$bundle" "$root/.carry" <<'PY' || exit 2
import sys, tarfile
with tarfile.open(sys.argv[1]) as bundle:
    if hasattr(tarfile, "data_filter"):
        bundle.extractall(sys.argv[2], filter="data")
    else:
        bundle.extractall(sys.argv[2])
PY
  fi
  build="$root/.carry/gpu/bin"
  export LD_LIBRARY_PATH="$root/.carry/gpu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  mkdir -p "$root/data/mnist"
  for packed in "$root/.carry/gpu/mnist"/*.gz; do
    unpacked="$root/data/mnist/$(basename "$packed" .gz)"
    [ -f "$unpacked" ] || gunzip -c "$packed" >"$unpacked"
  done
fi

if [ -z "$build" ]; then
  build="$root/build-gpu-check"
  wants build && run_step build do_build
elif [ ! -x "$build/ffcuda" ]; then
  echo "gpu-check: $build has no ffcuda binary"
  exit 2
fi
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
# The tests find data/mnist and the ffcuda binary here, whatever paths the build was made with.
export FF_SOURCE_DIR="$root" FF_BINARY="$build/ffcuda"
wants smi && run_step smi do_smi
wants devices && run_step devices "$build/ffcuda" devices
wants tests && run_step tests do_tests
for tool in memcheck racecheck initcheck; do
  wants "$tool" && run_step "$tool" do_sanitizer "$tool"
done
wants train && run_step train do_train
wants bench && run_step bench do_bench
wants torch && run_step torch do_torch
wants study && run_step study do_study
wants rotation && run_step rotation do_rotation

echo
echo "===== summary ($log_rel) ====="
printf '%s\n' "${results[@]}"
if [ -n "${OUT:-}" ]; then
  tar -C "$root" -czf "$OUT/gpu-check-$slug-$stamp.tar.gz" "bench/results/$slug" &&
    echo "results packed: \$OUT/gpu-check-$slug-$stamp.tar.gz (tar -xzf it in the checkout)"
fi
exec 1>&- 2>&-
wait "$tee_pid"  # let tee write the last lines before the log is collected
exit "$failed"
