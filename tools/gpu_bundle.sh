#!/usr/bin/env bash
# Packs what a run on a GPU machine needs copied there; that machine has the NVIDIA driver, the CUDA
# toolkit and Python, but none of this project's build dependencies (CLI11, matio, OpenBLAS, ...)
# and no package registry:
#   - a Release build for sm_90 (Hopper: H100/H200) in build-gpu/ (or $FF_BUILD_DIR),
#   - .carry/gpu-bundle.tar.xz: that build's ffcuda, ff_tests and ff_bench, the shared libraries
#     they need beyond glibc and CUDA (ldd), and MNIST (gzip), xz-compressed because at most
#     64 MiB of files can be copied to a GPU machine.
# Then, on the GPU machine (tools/gpu-check.sh unpacks the bundle and runs everything):
#   tools/gpu-check.sh              (with .carry/gpu-bundle.tar.xz copied; allow it ~500 s)
# and the second run its summary prints (FF_GPU_CHECK_STEPS=... FF_GPU_CHECK_DEADLINE=170).
# The bundle holds no glibc library; this script prints the newest GLIBC symbol version every
# bundled file needs (Debian 12 builds: 2.34 or so), so a mismatch is caught before the GPU
# machine is used. On the GPU machine, gpu-check.sh prefers the system's copy of a bundled library
# when the system has one that satisfies the binaries.
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
# The CUDA backend plugin, which no binary links (the engine loads it with dlopen from beside
# libff_core.so): into lib/ with the engine's libraries, which ldd finds below. Its own libraries
# beyond CUDA's are bundled too.
cp "$build/libffcuda_cuda.so" "$stage/gpu/lib/"
binaries+=("$build/libffcuda_cuda.so")
# Every library the binaries load except glibc's own (a C library must match its loader, so the
# device machine's is used: the binaries state the GLIBC version they need, below) and CUDA's (the
# device's driver and toolkit provide those, in the versions that match its GPU).
glibc_own='/(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libnss_[a-z0-9_]*|libanl|libutil|libBrokenLocale|libthread_db|libcrypt|libnsl|libmemusage|libpcprofile|libSegFault|libc_malloc_debug)\.so|/ld-linux'
ldd "${binaries[@]}" | awk '/=> \// {print $3}' | sort -u |
  grep -v -E -e "$glibc_own" -e '/lib(cuda|cudart|cublas|cublasLt|nvidia-)[^/]*\.so' |
  xargs -I{} cp -L {} "$stage/gpu/lib/"
for file in "$stage"/gpu/lib/*; do
  if printf '/%s\n' "$(basename "$file")" | grep -q -E "$glibc_own"; then
    echo "gpu_bundle: glibc's $(basename "$file") would be bundled; it must come from the device" >&2
    exit 1
  fi
done
for file in data/mnist/*-ubyte; do gzip -c "$file" >"$stage/gpu/mnist/$(basename "$file").gz"; done

mkdir -p .carry
tar -C "$stage" -cf - gpu | xz -T0 -6 >"$bundle.tmp"
mv "$bundle.tmp" "$bundle"
size=$(du -m "$bundle" | cut -f1)
# The newest GLIBC symbol version each bundled file needs (binaries and libraries): the device
# machine's glibc must be at least the newest of them.
newest=""
for file in "$stage"/gpu/bin/* "$stage"/gpu/lib/*; do
  need=$(objdump -T "$file" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1)
  printf '  %-28s needs %s\n' "$(basename "$file")" "${need:-no versioned glibc symbol}"
  newest=$(printf '%s\n%s\n' "$newest" "$need" | sed '/^$/d' | sort -V | tail -1)
done
echo "wrote $bundle: ${size} MiB ($(ls "$stage/gpu/lib" | wc -l) libraries, no glibc library;" \
  "the bundle needs glibc >= ${newest#GLIBC_})"
if [ "$size" -gt 60 ]; then
  echo "the bundle is over 60 MiB: at most 64 MiB in all can be copied to the GPU machine" >&2
  exit 1
fi
