#!/usr/bin/env bash
# tools/sanitize.sh: builds nova's CPU library, tests and examples (the
# tests run them) under a sanitizer and runs the test suite, so memory errors,
# undefined behaviour, leaks and data races fail a run instead of hiding in
# one. CI runs the `address` mode on every submission (.ci/run).
#
#   tools/sanitize.sh [address|thread] [BUILD]
#
# address (default; BUILD defaults to build-asan): GCC with
#   -fsanitize=address,undefined, every UBSan check fatal, leak detection on;
#   runs the whole ctest suite (check_install is left out of this build: it
#   links an outside program against the installed library, without the
#   sanitizer runtime; the ordinary build runs it).
# thread (BUILD defaults to build-tsan): clang 14 with -fsanitize=thread and
#   LLVM's OpenMP runtime (libomp), which reports its own synchronisation to
#   ThreadSanitizer through the Archer tool (libarcher, in libomp-14-dev):
#   GCC's libgomp synchronises with futexes TSan cannot see, so every
#   parallel loop would be a false race. Runs the tests of the threaded
#   parts, tagged [threads]: parallel_for, the CPU allocator, models trained
#   on two threads at once, the DataLoader's prefetch thread.
#
# Suppressions: none for nova's code; one for LLVM's OpenMP runtime's own
# memory (tools/tsan-suppressions.txt says why). A report is a failure.
set -euo pipefail

mode=${1:-address}
src=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}

# -O1 -g1: the optimisation ASan's authors suggest (fast enough to run the
# suite, stack traces still right), and line tables only, which compile
# faster than full debug information
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
        -DNOVA_CUDA=OFF -DNOVA_INSTALL=OFF -DNOVA_BUILD_BENCH=OFF)
if command -v ccache >/dev/null; then common+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

case $mode in
  address)
    build=${2:-$src/build-asan}
    flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    cmake -S "$src" -B "$build" "${common[@]}" \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
    cmake --build "$build" -j "$jobs"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
    ;;
  thread)
    build=${2:-$src/build-tsan}
    archer=/usr/lib/llvm-14/lib/libarcher.so
    [ -f "$archer" ] || { echo "sanitize.sh: $archer not found (apt-get install libomp-14-dev)" >&2; exit 1; }
    CC=clang-14 CXX=clang++-14 cmake -S "$src" -B "$build" "${common[@]}" \
      -DNOVA_BUILD_EXAMPLES=OFF \
      -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread"
    cmake --build "$build" -j "$jobs" --target nova_tests
    export OMP_TOOL_LIBRARIES=$archer
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$src/tools/tsan-suppressions.txt"
    # more threads than cores, so the parallel loops really split
    OMP_NUM_THREADS=4 "$build/tests/nova_tests" '[threads]'
    ;;
  *)
    echo "usage: $0 [address|thread] [BUILD]" >&2
    exit 2
    ;;
esac
echo "sanitize.sh: $mode: clean"
