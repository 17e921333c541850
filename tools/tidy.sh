#!/usr/bin/env bash
# clang-tidy with the checks of .clang-tidy over the host sources (src/core, src/data, src/cpu,
# src/train, src/cli, and the headers of include/ff and src/ they include). The CUDA sources are
# not checked: Debian's clang-tidy 14 cannot parse CUDA 13's headers. Uses a CPU-only build
# directory, build-tidy/ (or $FF_TIDY_BUILD_DIR), configured here for its compile_commands.json;
# nothing is compiled but the generated header of the commit. Exits non-zero on any finding.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FF_TIDY_BUILD_DIR:-$root/build-tidy}
tidy=$(command -v run-clang-tidy || command -v run-clang-tidy-14 || true)
if [ -z "$tidy" ]; then
  echo "tidy: run-clang-tidy not found (Debian: apt-get install clang-tidy)" >&2
  exit 2
fi
cmake -S "$root" -B "$build" -G Ninja -DFF_ENABLE_CUDA=OFF -DFF_BUILD_BENCH=OFF \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
ninja -C "$build" ff_commit >/dev/null  # version.cpp includes the generated ff_commit.hpp
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# run-clang-tidy always asks for colours; they are taken out so that the log reads in any viewer.
(cd "$root" && "$tidy" -quiet -p "$build" -j "$(nproc)" 'src/(core|data|cpu|train|cli)/') 2>&1 |
  sed 's/\x1b\[[0-9;]*m//g' >"$log" || status=$?
# The per-file command lines and clang-tidy's counts of suppressed system-header warnings are
# noise; the findings (and any failure to run) are what is shown.
noise='^(clang-tidy|[0-9]+ warnings? (generated|treated as errors?)|Suppressed |Use -header-filter)'
grep -v -E "$noise" "$log" || true
if [ "$status" -ne 0 ] || grep -q -E '(warning|error): ' "$log"; then
  echo "tidy: findings above" >&2
  exit 1
fi
echo "tidy: clean"
