#!/usr/bin/env bash
# tools/gpu-prebuild.sh: run HERE (nvcc is installed, no GPU) before a device
# call, so the GPU machine's limited time goes to running, not compiling.
# Builds the CUDA test binary, the benchmarks and the 8-Gaussian trainer for
# sm_90 with -DNOVA_NATIVE=OFF (portable x86-64: the GPU machine's CPU is not
# this one) and -DNOVA_BLAS=OFF (that machine has no OpenBLAS), and copies
# them into gpu-bin/ (git-ignored) in the layout tools/gpu-check.sh expects, stripped and packed as gpu-bin.tar.xz (about
# 10 MB; the unpacked folder, 70 MB, is over the device tool's 64 MiB). Then:
#   carry: ["gpu-bin.tar.xz"]
#   command: mkdir -p /work && { [ -e /work/main ] || ln -s "$PWD" /work/main; } &&
#            tar -xJf gpu-bin.tar.xz && PREBUILT=gpu-bin tools/gpu-check.sh
# (the link lets the benchmarks find bench/*.py and the commit at the path
# they were built with).
# The binaries link cuBLAS and cuSOLVER from /usr/local/cuda, which the GPU
# machine has at the same path; fmt is linked header-only.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-gpu}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNOVA_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DNOVA_NATIVE=OFF -DNOVA_BLAS=OFF
benches=$(cd bench && ls bench_*.cpp bench_*.cu | sed 's/\.[a-z]*$//')
# shellcheck disable=SC2086
cmake --build "$BUILD" --target nova_cuda_tests gan_8gaussians $benches
rm -rf gpu-bin && mkdir -p gpu-bin/tests gpu-bin/bench gpu-bin/examples
cp "$BUILD/tests/nova_cuda_tests" gpu-bin/tests/
cp "$BUILD/examples/gan_8gaussians" gpu-bin/examples/
for b in $benches; do
  case "$b" in
    bench_dcgan_step|bench_soak|bench_rnn_step) ;;  # CPU-only: gpu-check skips them
    *) cp "$BUILD/bench/$b" gpu-bin/bench/ ;;
  esac
done
strip gpu-bin/*/*
# the commit the binaries were built from ("-dirty": with uncommitted changes)
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)" > gpu-bin/COMMIT
tar -cJf gpu-bin.tar.xz gpu-bin
ls -l gpu-bin.tar.xz
