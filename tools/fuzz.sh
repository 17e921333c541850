#!/usr/bin/env bash
# tools/fuzz.sh TARGET SECONDS [RUNS]: fuzzes one reader with libFuzzer (clang, ASan + UBSan) for
# SECONDS or RUNS inputs, whichever comes first. TARGET: idx, idx_gz, cifar10, svhn, checkpoint,
# config, or all (each in turn, SECONDS and RUNS each).
#
# Builds fuzz/ into build-fuzz/ (its own CMake project), writes a seed corpus of small valid files
# in each real format (fuzz_seeds, which also checks that each reader accepts its seed), keeps the
# growing corpus in build-fuzz/corpus/<target>/ between runs, and records in bench/results/fuzz/:
# <target>.log (libFuzzer's output) and a line per run in summary.md (executions, coverage
# cov/ft, corpus, crashes). A crash leaves its input in build-fuzz/crashes/ and fails the command.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
  echo "usage: tools/fuzz.sh idx|idx_gz|cifar10|svhn|checkpoint|config|all SECONDS [RUNS]" >&2
  exit 2
fi
target=$1 seconds=$2 runs=${3:--1}
targets=(idx idx_gz cifar10 svhn checkpoint config)
if [ "$target" = all ]; then
  status=0
  for t in "${targets[@]}"; do "$0" "$t" "$seconds" "$runs" || status=1; done
  exit "$status"
fi
case " ${targets[*]} " in *" $target "*) ;; *)
  echo "tools/fuzz.sh: unknown target '$target': use ${targets[*]} or all" >&2; exit 2 ;;
esac

build=${FF_FUZZ_BUILD_DIR:-$root/build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ cmake -S "$root/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$build" >/dev/null
if [ ! -d "$build/seeds" ]; then
  "$build/fuzz_seeds" "$build/seeds.tmp" && mv "$build/seeds.tmp" "$build/seeds"
fi
corpus=$build/corpus/$target
mkdir -p "$corpus" "$build/crashes" "$root/bench/results/fuzz"
cp -n "$build/seeds/$target"/* "$corpus/"
log=$root/bench/results/fuzz/$target.log
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
stamp_file=$(mktemp)
set +e
"$build/fuzz_$target" "$corpus" -max_total_time="$seconds" -runs="$runs" -print_final_stats=1 \
  -timeout=10 -rss_limit_mb=4096 -artifact_prefix="$build/crashes/$target-" >"$log" 2>&1
status=$?
set -e
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
final=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")
corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$final")
# The SVHN reader runs matio in a child process: a fault there (an ASan report, libFuzzer's malloc
# limit) leaves an input behind while the fuzzer itself goes on. Those are contained, not crashes.
contained=0
if [ "$status" = 0 ]; then
  mkdir -p "$build/contained"
  while IFS= read -r file; do
    mv "$file" "$build/contained/"
    contained=$((contained + 1))
  done < <(find "$build/crashes" -name "$target-*" -newer "$stamp_file")
fi
rm -f "$stamp_file"
crashes=$(find "$build/crashes" -name "$target-*" | wc -l)
summary=$root/bench/results/fuzz/summary.md
[ -f "$summary" ] || printf '| date | target | seconds | executions | cov | ft | corpus | crash inputs | contained in the child | exit |\n|---|---|---|---|---|---|---|---|---|---|\n' >"$summary"
printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
  "$target" "$seconds" "${executions:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" \
  "$contained" "$status" >>"$summary"
echo "fuzz $target: ${executions:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}," \
  "$crashes crash inputs, $contained faults contained in the matio child, exit $status"
[ "$status" = 0 ] || { tail -n 40 "$log" >&2; exit 1; }
