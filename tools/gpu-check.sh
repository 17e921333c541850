#!/usr/bin/env bash
# The one command for a machine with an NVIDIA GPU: everything the CUDA backend promises, checked,
# timed and logged, built to fit a short time slot on the machine and to lose nothing it measured.
#
#   tools/gpu-check.sh [BUILD_DIR]   (or FF_BUILD_DIR=...; default: the copied bundle
#                                     .carry/gpu-bundle.tar.xz of tools/gpu_bundle.sh if present,
#                                     else configure + build here)
#
# Two runs. The first, at most 8 minutes: FF_GPU_CHECK_DEADLINE (default 470 s of script time)
# bounds the whole run; each step gets what is left, under `timeout`, which kills the step's whole
# process group when it runs out (TIMEOUT, with what it printed), and the script goes on. Its
# summary ends with the settings of the second run: FF_GPU_CHECK_STEPS="<failed, timed out or
# not reached>" FF_GPU_CHECK_DEADLINE=170 (3 minutes with start-up).
#
# Steps, in order of value, with their expected time on one H100/H200 (estimates from the work
# each does: none has been timed on a GPU yet) and the most each may take:
#   step        expected   limit   what
#   build         ~6 min    600 s  without a bundle or build folder only: cmake + ninja for sm_90
#   preflight      ~10 s     60 s  ffcuda devices + a 2x64 bench: runtime, cuBLAS(Lt), stream-ordered
#                                  pools and graph capture; a failure stops the run with the reason
#   smi             ~2 s     20 s  nvidia-smi, and the shared libraries the binaries load
#   parity       40-90 s    150 s  ff_tests --gtest_filter='*Parity*' with FF_DEBUG_SYNC=1 (an
#                                  asynchronous fault is pinned to its kernel); a skip is a FAIL
#   tests        30-60 s    150 s  the rest of the suite (CPU tests, CLI, datasets)
#   bench       90-150 s    200 s  ffcuda bench 4x2000, batch 100 and 1000: every step plan in
#                                  fp32, then tf32 and bf16 (these decide the defaults)
#   study      120-240 s    240 s  ffcuda study --preset paper on MNIST, supervised and rotation x
#                                  ff and bp-ce (4x2000, 60 epochs, 100-epoch probes): as many cells
#                                  as fit, then its report with the time per cell
#   torch        20-40 s     90 s  tools/torch_ff.py at batch 100 and 1000, the PyTorch baseline
#   rotation    90-200 s    300 s  MNIST rotation 4x2000, 60 epochs, then the 100-epoch probe
#   long        60-240 s    240 s  the long preset's rotation cells (FF and bp-ce, 4x2000, with the
#                                  classifier trained alongside), 40 epochs each, as far as fits:
#                                  the per-epoch transfer curves (tools/plot_curves.py draws them)
#   sanitizer      ~10 s     60 s  compute-sanitizer tried on one tiny test: where the machine
#                                  refuses it (gVisor), the sanitizer steps are SKIP, not FAIL
#   memcheck    60-180 s    240 s  compute-sanitizer memcheck over every parity test
#   racecheck   60-180 s    240 s  racecheck over the op table minus cuBLAS (the hand-written kernels)
#   initcheck   60-180 s    240 s  initcheck over the same
# The first run fits preflight to torch (~5-7 min expected); rotation, long and the sanitizers
# are the second run's, with whatever failed or timed out.
#
# Knobs: FF_GPU_CHECK_STEPS (a subset, in any order: they run in the order above),
# FF_GPU_CHECK_DEADLINE (seconds), FF_GPU_CHECK_LIMIT_<step> (one step's limit, e.g. to rehearse a
# TIMEOUT), FF_GPU_CHECK_DEVICE (cuda; cpu rehearses the flow on a machine without a GPU).
#
# Results: everything a step writes goes to bench/results/<device>/ (the log
# gpu-check-<stamp>.log, bench JSON, training runs). After EVERY step, when $OUT names a folder
# that is collected from the machine afterwards, the log and one tarball of that folder are
# rewritten to $OUT under a temporary name and renamed, each kept under 16 MiB: a run killed at
# any point leaves all that was done before.
# Unpack with: tar -xzf gpu-check-<device>-<stamp>.tar.gz -C <checkout>.
#
# Libraries: the project's binaries get LD_LIBRARY_PATH (only they do; python and nvidia-smi run
# with the machine's own): the bundle's libraries the system lacks (a library the system provides
# under the same name is the system's, unless the binaries then miss a symbol version), and for
# cudart/cuBLAS not found, /usr/local/cuda/lib64, /usr/local/cuda/targets/x86_64-linux/lib or the
# Python environment's nvidia/*/lib, whichever has them. A copied build folder holds absolute
# paths (ctest files): copy it only to the same checkout path, or copy the bundle.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
all_steps="build preflight smi parity tests bench study torch rotation long sanitizer memcheck racecheck initcheck"
export PATH="/usr/local/cuda/bin:$PATH"
device=${FF_GPU_CHECK_DEVICE:-cuda}

step_limit() {  # the most a step may take, in seconds
  local override="FF_GPU_CHECK_LIMIT_$1"
  if [ -n "${!override:-}" ]; then echo "${!override}"; return; fi
  case $1 in
    build) echo 600 ;; preflight) echo 60 ;; smi) echo 20 ;; parity | tests) echo 150 ;;
    bench) echo 200 ;; study) echo 240 ;; torch) echo 90 ;; rotation) echo 300 ;; long) echo 240 ;;
    sanitizer) echo 60 ;; *) echo 240 ;;
  esac
}

# ---- the project's binaries and their libraries --------------------------------------------
# proj COMMAND...: runs one of the project's binaries with the library path chosen below.
proj() { LD_LIBRARY_PATH="${FF_GPU_LIBS:-}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }

missing_libraries() {  # sonames the binaries cannot load (or load without a needed version)
  # The CUDA plugin too: the binaries load it (and the CUDA libraries behind it) with dlopen.
  local plugin="$build/libffcuda_cuda.so"
  [ -f "$plugin" ] || plugin="$root/.carry/gpu/lib/libffcuda_cuda.so"
  proj ldd "$build/ffcuda" "$build/ff_tests" "$plugin" 2>&1 |
    sed -n -e 's/^\s*\(\S*\) => not found.*/\1/p' -e "s/.*version .* not found (required by .*).*/VERSION/p" |
    sort -u
}

choose_libraries() {
  local selected="$root/.carry/gpu/lib-selected" lib name dir missing
  FF_GPU_LIBS=""
  if [ -d "$root/.carry/gpu/lib" ]; then
    rm -rf "$selected" && mkdir -p "$selected"
    # The system's copy first: link only what it lacks.
    for lib in "$root/.carry/gpu/lib"/*; do
      name=$(basename "$lib")
      ldconfig -p 2>/dev/null | grep -q "^\s*$name " || ln -s "$lib" "$selected/$name"
    done
    FF_GPU_LIBS=$selected
    export FF_GPU_LIBS
    # A system copy too old for the binaries (a missing symbol version): the bundle's after all.
    if missing_libraries | grep -q VERSION; then
      echo "gpu-check: a system library lacks a symbol version the binaries need; using every" \
        "bundled library"
      for lib in "$root/.carry/gpu/lib"/*; do ln -sf "$lib" "$selected/$(basename "$lib")"; done
    fi
  fi
  missing=$(missing_libraries | grep -v VERSION)
  if [ -n "$missing" ]; then
    local candidates=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
    while IFS= read -r dir; do candidates+=("$dir"); done < <(python3 - <<'PY' 2>/dev/null
import os
try:
    import nvidia
    for base in nvidia.__path__:
        for name in sorted(os.listdir(base)):
            if os.path.isdir(os.path.join(base, name, "lib")):
                print(os.path.join(base, name, "lib"))
except Exception:
    pass
PY
)
    for name in $missing; do
      for dir in "${candidates[@]}"; do
        if [ -e "$dir/$name" ]; then
          case ":$FF_GPU_LIBS:" in *":$dir:"*) ;; *) FF_GPU_LIBS="${FF_GPU_LIBS:+$FF_GPU_LIBS:}$dir" ;; esac
          echo "gpu-check: $name from $dir"
          break
        fi
      done
    done
    export FF_GPU_LIBS
  fi
}

# ---- steps (each runs in its own process, under `timeout`) ---------------------------------
do_build() {
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFF_CUDA_ARCHITECTURES=90 \
    -DFF_BUILD_BENCH=OFF && ninja -C "$build" -j "$(nproc)"
}

do_preflight() {
  proj "$build/ffcuda" --version && proj "$build/ffcuda" devices || return 1
  # A tiny network through everything the engine needs of the device: allocation from the
  # stream-ordered pool, batch prep, cuBLASLt GEMMs with epilogues, graph capture and replay
  # (--graphs auto is on for CUDA), CUB reductions, events.
  proj "$build/ffcuda" bench --device "$device" --layers 2x64 --batch 100 --warmup 3 --iters 5 \
    --eval-images 200
}

do_smi() {
  nvidia-smi || return 1
  local missing
  missing=$(missing_libraries)
  if [ -n "$missing" ]; then
    echo "libraries the binaries cannot load: $missing"
    return 1
  fi
  proj ldd "$build/ffcuda" | grep -e cuda -e cublas
}

# run_tests FILTER SKIPS [ENV...]: ff_tests with the filter. SKIPS=fail: a skipped test fails the
# step (the GPU tests must all run on a GPU machine); SKIPS=list: skips are listed and allowed (the
# rest of the suite skips what the machine lacks, e.g. Slurm, with the reason).
run_tests() {
  local filter=$1 skips=$2 out status
  shift 2
  out=$(mktemp)
  env "$@" LD_LIBRARY_PATH="${FF_GPU_LIBS:-}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$build/ff_tests" --gtest_filter="$filter" --gtest_brief=1 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  if grep -q '^\[  SKIPPED \]' "$out"; then
    if [[ $skips == fail ]]; then
      echo "gpu-check: tests were SKIPPED on a GPU machine; every GPU test must run here"
      status=1
    else
      echo "gpu-check: skipped here (what this machine lacks), each test's place and reason:"
      grep -A1 ': Skipped$' "$out" | grep -v -- '^--$' | sed 's/^/  /'
    fi
  fi
  rm -f "$out"
  return "$status"
}

do_parity() { run_tests '*Parity*' fail FF_DEBUG_SYNC=1; }
do_tests() { run_tests '-*Parity*' list; }

# The hand-written kernels' tests: the op table without the cuBLAS GEMMs and the plain copies.
kernel_tests='ParityTable/ParityOpTable.*:-*MatchesCpu/gemm_*:*MatchesCpu/copy*'

do_sanitizer() {
  command -v compute-sanitizer >/dev/null || {
    echo "gpu-check: SKIP: compute-sanitizer is not installed here"
    return 3
  }
  local out
  out=$(mktemp)
  proj compute-sanitizer --tool memcheck --error-exitcode 99 "$build/ff_tests" \
    --gtest_filter='ParityTable/ParityOpTable.MatchesCpu/fill_n7_seed1' 2>&1 | tee "$out"
  local status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ] && ! grep -q "ERROR SUMMARY: [1-9]" "$out"; then
    # gVisor machines answer "Device not supported" and error 999: the tool, not the code.
    echo "gpu-check: SKIP: compute-sanitizer does not run on this machine (exit $status:" \
      "$(grep -m1 -i -e 'not supported' -e error "$out" || echo 'see above'))"
    rm -f "$out"
    return 3
  fi
  rm -f "$out"
  return "$status"
}

sanitize() {
  local tool=$1 filter=$2 extra=()
  [ "$tool" = racecheck ] && extra=(--racecheck-report analysis)
  proj compute-sanitizer --tool "$tool" "${extra[@]}" --error-exitcode 99 --print-limit 50 \
    "$build/ff_tests" --gtest_filter="$filter" --gtest_brief=1
}
do_memcheck() { sanitize memcheck '*Parity*'; }
do_racecheck() { sanitize racecheck "$kernel_tests"; }
do_initcheck() { sanitize initcheck "$kernel_tests"; }

find_mnist() {
  local data=${FF_MNIST_DIR:-} candidate
  if [ -z "$data" ]; then
    for candidate in "$root/data/mnist" "$root/.carry/mnist"; do
      if ls "$candidate"/train-images-idx3-ubyte* >/dev/null 2>&1; then
        data=$candidate
        break
      fi
    done
  fi
  if [ -z "$data" ]; then
    echo "MNIST not found: run tools/fetch_data.sh, or copy the four IDX files (gzip -k them:" >&2
    echo "the reader takes .gz) in data/mnist or .carry/mnist, or set FF_MNIST_DIR" >&2
    return 1
  fi
  echo "$data"
}

# train_run TASK EPOCHS [OPTIONS...]: MNIST 4x2000, metrics and result.json kept next to the log.
train_run() {
  local task=$1 epochs=$2 data out status
  shift 2
  data=$(find_mnist) || return 1
  out="$results/train-$task-4x2000-e$epochs-$stamp"
  proj "$build/ffcuda" train --dataset mnist --data-dir "$data" --task "$task" --layers 4x2000 \
    --epochs "$epochs" --device "$device" --out "$out" "$@"
  status=$?
  ls -l "$out"
  return "$status"
}
# A study of MNIST cells that fits in step $1's time (stopped 20 s before the step's limit, and
# resumable), then the report of what finished, with the time of every cell. $2: the folder's
# name; the rest: the study's options.
study_run() {
  local step=$1 name=$2 data out status data_root
  shift 2
  data=$(find_mnist) || return 1
  data_root=$(dirname "$data")
  if [ "$(basename "$data")" != mnist ]; then  # the study reads <data root>/mnist
    data_root=$(mktemp -d)
    ln -s "$data" "$data_root/mnist"
  fi
  out="$results/$name-$stamp"
  timeout --signal=KILL $(($(step_limit "$step") - 20)) env \
    LD_LIBRARY_PATH="${FF_GPU_LIBS:-}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$build/ffcuda" study --datasets mnist --data-root "$data_root" --device "$device" \
    --out "$out" "$@"
  status=$?
  [ "$status" = 137 ] && echo "$step: stopped at the step's time limit; the report has what finished"
  proj "$build/ffcuda" study --report "$out" || return 1
  cat "$out/timing.csv"
  case $status in 0 | 137) return 0 ;; *) return "$status" ;; esac
}
do_study() {
  study_run study study-paper-mnist --preset paper --tasks supervised,rotation --algos ff,bp-ce
}
# The long preset's rotation cells, shortened to 40 epochs: FF's tracked transfer rising then
# falling while bp-ce's holds is the curve this is for (each cell's metrics.jsonl).
do_long() { study_run long study-long-rotation --preset long --tasks rotation --epochs 40; }
# The study reports 98.6% rotation accuracy and 76.3% transfer for this row.
do_rotation() { train_run rotation 60 --probe --probe-epochs 100; }

do_bench() {
  local status=0 batch pass overlap graphs precision name
  for batch in 100 1000; do
    for pass in stacked streams; do
      for overlap in true false; do
        for graphs in on off; do
          [ "$device" = cpu ] && [ "$graphs" = on ] && continue  # the CPU cannot capture
          name="bench-4x2000-b$batch-fp32-$pass-overlap_$overlap-graphs_$graphs.json"
          proj "$build/ffcuda" bench --device "$device" --layers 4x2000 --batch "$batch" \
            --precision fp32 --pass-mode "$pass" --overlap "$overlap" --graphs "$graphs" \
            --warmup 10 --iters 50 --json "$results/$name" || status=1
        done
      done
    done
    for precision in tf32 bf16; do
      [ "$device" = cpu ] && [ "$precision" = tf32 ] && continue  # tensor cores only
      name="bench-4x2000-b$batch-$precision-default-plan.json"
      proj "$build/ffcuda" bench --device "$device" --layers 4x2000 --batch "$batch" \
        --precision "$precision" --warmup 10 --iters 50 --json "$results/$name" || status=1
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
      >"$results/torch-4x2000-b$batch.json" || status=1
    cat "$results/torch-4x2000-b$batch.json"
  done
  return "$status"
}

# ---- one step, in its own process (the parent passes the paths through the environment) ----
if [ "${1:-}" = --run-step ]; then
  build=$FF_GPU_CHECK_BUILD results=$FF_GPU_CHECK_RESULTS stamp=$FF_GPU_CHECK_STAMP
  "do_$2"
  exit $?
fi

# ---- the run ---------------------------------------------------------------------------------
start=$SECONDS
deadline=${FF_GPU_CHECK_DEADLINE:-470}
build=${1:-${FF_BUILD_DIR:-}}
device_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
slug=$(printf '%s' "${device_name:-no-gpu}" | tr '[:upper:]' '[:lower:]' |
  sed -e 's/[^a-z0-9]\+/-/g' -e 's/^-//' -e 's/-$//')
stamp=$(date +%Y%m%d-%H%M%S)
results="$root/bench/results/$slug"
mkdir -p "$results"
[ -n "${OUT:-}" ] && mkdir -p "$OUT"
log="$results/gpu-check-$stamp.log"
exec > >(tee -a "$log") 2>&1
tee_pid=$!

echo "gpu-check: $(date -Is) on $(hostname), device '${device_name:-none}' (--device $device)," \
  "repo $root, deadline ${deadline} s"
# The checkout's commit as its git metadata says; a copied checkout may carry stale metadata, so
# the binaries' own commit (`ffcuda --version`, the preflight's first line) is the one to trust.
echo "gpu-check: checkout at commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')" \
  "$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo '(uncommitted changes)')" \
  "(the binaries' own commit: the preflight's first line)"

# Rewrites the log and the results tarball in $OUT (temporary name, then rename), each < 16 MiB.
publish() {
  [ -n "${OUT:-}" ] || return 0
  local tarball="$OUT/gpu-check-$slug-$stamp.tar.gz" file excludes=()
  # Files over 4 MiB (a large metrics file, a core dump) stay out of the tarball, named in the log.
  while IFS= read -r file; do
    echo "gpu-check: left out of the tarball (over 4 MiB): $file"
    excludes+=("--exclude=${file#"$root"/}")
  done < <(find "$results" -type f -size +4M 2>/dev/null)
  # The log grows while tar reads it ("file changed"): the archive is still whole.
  tar -C "$root" -czf "$tarball.tmp" "${excludes[@]}" "bench/results/$slug" 2>/dev/null
  if [ "$(stat -c %s "$tarball.tmp" 2>/dev/null || echo 0)" -lt 16000000 ]; then
    mv -f "$tarball.tmp" "$tarball"
  else
    echo "gpu-check: the tarball would exceed 16 MiB; the previous one is kept"
    rm -f "$tarball.tmp"
  fi
  tail -c 15000000 "$log" >"$OUT/gpu-check-$slug-$stamp.log.tmp" &&
    mv -f "$OUT/gpu-check-$slug-$stamp.log.tmp" "$OUT/gpu-check-$slug-$stamp.log"
}

# A copied bundle (tools/gpu_bundle.sh): unpacked once; its binaries, libraries and MNIST used.
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
  mkdir -p "$root/data/mnist"
  for packed in "$root/.carry/gpu/mnist"/*.gz; do
    unpacked="$root/data/mnist/$(basename "$packed" .gz)"
    [ -f "$unpacked" ] || gunzip -c "$packed" >"$unpacked"
  done
fi
steps=${FF_GPU_CHECK_STEPS:-$all_steps}
if [ -z "$build" ]; then
  build="$root/build-gpu-check"
else
  steps=" $steps "
  steps=${steps// build / }  # a given build is used as it is
fi
build=$(mkdir -p "$build" && cd "$build" && pwd)
export FF_GPU_CHECK_BUILD=$build FF_GPU_CHECK_RESULTS=$results FF_GPU_CHECK_STAMP=$stamp
# The tests find data/mnist, the headers and the ffcuda binary here, whatever the build's paths.
export FF_SOURCE_DIR="$root" FF_BINARY="$build/ffcuda"

[ -x "$build/ffcuda" ] && choose_libraries
summary=()
rerun=()
failed=0
stopped=""
record() {  # record STATUS NAME DETAIL
  summary+=("$(printf '%-8s %-10s %s' "$1" "$2" "$3")")
  case $1 in PASS | SKIP) ;; *) rerun+=("$2"); failed=1 ;; esac
}
print_summary() {
  echo
  echo "===== summary after $((SECONDS - start)) s (${log#"$root"/}) ====="
  printf '%s\n' "${summary[@]}"
  if ((${#rerun[@]})); then
    echo "gpu-check: rerun: FF_GPU_CHECK_STEPS='${rerun[*]}' FF_GPU_CHECK_DEADLINE=170 tools/gpu-check.sh"
    echo "gpu-check: (copy .carry/gpu-bundle.tar.xz again; allow the run ~200 s)"
  else
    echo "gpu-check: no step failed ($(printf '%s\n' "${summary[@]}" | grep -c '^SKIP') skipped)"
  fi
}

for name in $all_steps; do
  [[ " $steps " == *" $name "* ]] || continue
  if [ -n "$stopped" ]; then
    record NOTRUN "$name" "($stopped)"
    continue
  fi
  left=$((deadline - (SECONDS - start)))
  limit=$(step_limit "$name")
  ((limit > left)) && limit=$left
  if ((limit < 5)); then
    record NOTRUN "$name" "(no time left: ${left} s of the ${deadline} s deadline)"
    continue
  fi
  if [[ "$name" =~ ^(memcheck|racecheck|initcheck)$ ]] && [ -n "${sanitizer_skip:-}" ]; then
    record SKIP "$name" "($sanitizer_skip)"
    continue
  fi
  if [ "$name" != build ] && [ ! -x "$build/ffcuda" ]; then
    record FAIL "$name" "(no ffcuda in $build)"
    continue
  fi
  echo
  echo "===== $name (limit ${limit} s; $(date +%T)) ====="
  step_start=$SECONDS
  timeout --kill-after=5 "$limit" "$root/tools/gpu-check.sh" --run-step "$name"
  status=$?
  took=$((SECONDS - step_start))
  case $status in
    0) record PASS "$name" "(${took} s)" ;;
    124 | 137) record TIMEOUT "$name" "(stopped after ${took} s, its limit)" ;;
    3)
      if [ "$name" = sanitizer ]; then
        sanitizer_skip="compute-sanitizer does not run here"
        record SKIP "$name" "(${sanitizer_skip})"
      else
        record FAIL "$name" "(exit 3, ${took} s)"
      fi
      ;;
    *) record FAIL "$name" "(exit $status, ${took} s)" ;;
  esac
  if [ "$name" = preflight ] && [ "$status" -ne 0 ]; then
    stopped="preflight failed: the CUDA runtime, cuBLAS(Lt), the memory pool or graph capture do not work here; see the preflight output"
    echo "gpu-check: $stopped"
  fi
  if [ "$name" = build ]; then
    if [ "$status" -ne 0 ]; then stopped="the build failed"; else choose_libraries; fi
  fi
  echo "gpu-check: ${summary[-1]}"
  publish
done

print_summary
publish
exec 1>&- 2>&-
wait "$tee_pid"  # let tee write the last lines before the log is collected
exit "$failed"
