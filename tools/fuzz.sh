#!/usr/bin/env bash
# tools/fuzz.sh: builds nova's libFuzzer harnesses (tests/fuzz/) with clang 14,
# AddressSanitizer and UBSan, and runs each over a copy of its seed corpus:
#   tools/fuzz.sh smoke [BUILD]   about 30 s per harness (CI)
#   tools/fuzz.sh full [BUILD]    1,000,000 inputs per harness
# BUILD defaults to build-fuzz in the repository (CPU only, no tests,
# examples or benchmarks; FUZZ_JOBS compile jobs, default nproc). Needs clang-14, libclang-rt-14-dev and
# libomp-14-dev (tools/install-deps.sh installs them). Exits non-zero when
# any harness finds a crash, a sanitizer report, a leak, a hang (-timeout)
# or one allocation over the cap; the input that did it is kept under
# BUILD/fuzz-artifacts/<harness>/ and the log shows how to rerun it.
#
# The cap: -malloc_limit_mb=64 for inputs of at most -max_len=8192 bytes
# (65536 for stl10, so that two of its 27648-byte images fit). A reader
# checks every size a header claims against the input before it allocates,
# so no honest allocation comes near 64 MB; -rss_limit_mb=2048 bounds the
# whole process.
set -euo pipefail

usage() { echo "usage: $0 smoke|full [BUILD]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
case $1 in
  smoke) budget=(-max_total_time=30) ;;
  full) budget=(-runs=1000000) ;;
  *) usage ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-fuzz}
harnesses=(safetensors checkpoint idx cifar stl10 interactions)  # tests/fuzz/fuzz_<name>.cpp, corpus/<name>/
# the largest input libFuzzer makes for a harness
max_len() { case $1 in stl10) echo 65536 ;; *) echo 8192 ;; esac; }
cap_mb=64

cxx=${CXX:-clang++-14}
command -v "$cxx" >/dev/null || { echo "fuzz: $cxx not found; run tools/install-deps.sh" >&2; exit 1; }
# CMAKE_CXX_COMPILER_LAUNCHER=ccache in the environment is honoured by CMake
mkdir -p "$build"
# -O1 -g1, as tools/sanitize.sh: the optimisation libFuzzer's and ASan's
# authors suggest, and a build about twice as fast as -O2 -g (CI's budget)
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
  -DNOVA_FUZZ=ON -DNOVA_CUDA=OFF -DNOVA_BLAS=OFF -DNOVA_BUILD_TESTS=OFF -DNOVA_BUILD_EXAMPLES=OFF \
  -DNOVA_BUILD_BENCH=OFF -DNOVA_INSTALL=OFF >"$build/fuzz-configure.log" 2>&1 ||
  { cat "$build/fuzz-configure.log"; echo "fuzz: configuring $build failed" >&2; exit 1; }
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" --target "${targets[@]}" -j "${FUZZ_JOBS:-$(nproc)}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
summary=()
for h in "${harnesses[@]}"; do
  # libFuzzer adds the inputs it finds to the corpus folder: a copy, so a
  # run never writes into the repository
  cp -r "$src/tests/fuzz/corpus/$h" "$work/$h"
  artifacts="$build/fuzz-artifacts/$h"
  rm -rf "$artifacts" && mkdir -p "$artifacts"
  echo "fuzz: fuzz_$h: $1 over $(ls "$work/$h" | wc -l) seed files"
  rc=0
  # OpenMP threads a harness never uses would only slow each input
  OMP_NUM_THREADS=1 "$build/tests/fuzz/fuzz_$h" "$work/$h" "${budget[@]}" \
    -rss_limit_mb=2048 -malloc_limit_mb=$cap_mb -max_len="$(max_len "$h")" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$work/$h.log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$h.log")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/$h.log")
  line="fuzz_$h: ${runs:-?} inputs up to $(max_len "$h") bytes, ${speed:-?} exec/s, peak RSS ${rss:-?} MB"
  if [ $rc -ne 0 ]; then
    tail -n 60 "$work/$h.log"
    line+=", FAILED (exit $rc); input kept in $artifacts/"
    failed+=("$h")
  fi
  echo "fuzz: $line"
  summary+=("$line")
done

echo "fuzz: $1, cap ${cap_mb} MB per allocation:"
printf 'fuzz:   %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAIL: ${failed[*]}; rerun one input with BUILD/tests/fuzz/fuzz_<name> FILE" >&2
  exit 1
fi
echo "fuzz: OK"
