#!/usr/bin/env bash
# Packs what a GPU session carries to the device machine, which has the NVIDIA driver, the CUDA
# toolkit and Python, but none of this project's build dependencies (CLI11, matio, OpenBLAS, ...)
# and no package registry:
#   - a Release build for sm_90 (Hopper: H100/H200) in build-gpu/ (or $FF_BUILD_DIR),
#   - .carry/gpu-bundle.tar.xz: that build's ffcuda, ff_tests and ff_bench, the shared libraries
#     they need beyond glibc and CUDA (ldd), and MNIST (gzip), xz-compressed because the device
#     tool carries at most 64 MiB.
# Then, on the device machine (tools/gpu-check.sh unpacks the bundle and runs everything):
#   run(command="tools/gpu-check.sh", carry=[".carry/gpu-bundle.tar.xz"])
# or split across calls: FF_GPU_CHECK_STEPS="smi devices tests" tools/gpu-check.sh, ...
# The binaries need glibc >= 2.34 (they are built on Debian 12); this script prints the version
# they need so a mismatch is caught before any device time is spent.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${FF_BUILD_DIR:-build-gpu}
bundle=.carry/gpu-bundle.tar.xz
export PATH="/usr/local/cuda/bin:$PATH"

tools/fetch_data.sh >/dev/null  # MNIST into data/mnist (idempotent)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFF_ENABLE_CUDA=ON \
  -DFF_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$build" -j "$(nproc)"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/gpu/bin" "$stage/gpu/lib" "$stage/gpu/mnist"
binaries=()
for name in ffcuda ff_tests ff_bench; do
  [ -x "$build/$name" ] && binaries+=("$build/$name") && cp "$build/$name" "$stage/gpu/bin/"
done
# Every library the binaries load except the C library family and CUDA's own (the device's
# driver and toolkit provide those, in the versions that match its GPU).
ldd "${binaries[@]}" | awk '/=> \// {print $3}' | sort -u |
  grep -v -e '/libc\.so' -e '/libm\.so' -e '/libpthread' -e '/libdl\.so' -e '/librt\.so' \
    -e '/ld-linux' -e '/libcuda\.so' -e '/libcudart' -e '/libcublas' |
  xargs -I{} cp -L {} "$stage/gpu/lib/"
for file in data/mnist/*-ubyte; do gzip -c "$file" >"$stage/gpu/mnist/$(basename "$file").gz"; done

mkdir -p .carry
tar -C "$stage" -cf - gpu | xz -T0 -6 >"$bundle.tmp"
mv "$bundle.tmp" "$bundle"
size=$(du -m "$bundle" | cut -f1)
glibc=$(objdump -T "${binaries[@]}" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)
echo "wrote $bundle: ${size} MiB ($(ls "$stage/gpu/lib" | wc -l) libraries, binaries need $glibc)"
if [ "$size" -gt 60 ]; then
  echo "the bundle is over 60 MiB: the device tool carries at most 64 MiB in all" >&2
  exit 1
fi
