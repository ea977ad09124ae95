#!/usr/bin/env bash
# tools/gpu-check.sh: the whole GPU check in one call, for the machine with a
# GPU (see ../shared/DEVICE.md): build for sm_90 (H100/H200), run the whole
# test suite, run the CUDA tests under compute-sanitizer memcheck (and the
# tiled conv kernels and the persistent RNN kernels under racecheck), run the
# benchmarks, and print a table of steps last. Exits non-zero when any step
# fails. Logs go to $BUILD/gpu-check-logs and, when $OUT is set, to $OUT.
#
#   tools/gpu-check.sh                 # BUILD=build-gpu by default
#   BUILD=build-x tools/gpu-check.sh
#   PREBUILT=gpu-bin tools/gpu-check.sh
#
# PREBUILT saves device time: build here (nvcc is on the development machine),
# with -DNOVA_NATIVE=OFF (the GPU machine's CPU may lack this one's
# instructions), -DNOVA_BLAS=OFF (it has no OpenBLAS) and
# -DCMAKE_CUDA_ARCHITECTURES=90, copy
# tests/nova_cuda_tests, bench/bench_* and examples/gan_8gaussians into a
# folder ignored by git with the same layout (tools/gpu-prebuild.sh does
# both), carry it, and the GPU machine only runs them; the CPU suite (ctest)
# is left to the machine that built it.
#
# That machine has no package registry: header-only dependencies travel as
# .deb files in .deps/ (made by tools/fetch-gpu-deps.sh, carried with the
# working tree) and are unpacked into
# /tmp/deps, which CMake searches through CMAKE_PREFIX_PATH.
set -u
cd "$(dirname "$0")/.."

PREBUILT=${PREBUILT:-}
BUILD=${PREBUILT:-${BUILD:-build-gpu}}
LOGS="$BUILD/gpu-check-logs"
mkdir -p "$LOGS"

steps=()
results=()
failed=0

# step NAME LOG COMMAND...: runs COMMAND with output to $LOGS/LOG (and a tail on
# failure), and records PASS or FAIL (rc) for the table.
step() {
  local name=$1 log=$2
  shift 2
  echo "== $name"
  "$@" >"$LOGS/$log" 2>&1
  local rc=$?
  steps+=("$name")
  if [ $rc -eq 0 ]; then
    results+=("PASS")
  else
    local why="rc $rc"
    [ $rc -eq 77 ] && why="rc 77: skipped, no CUDA device answered"
    results+=("FAIL ($why, log $log)")
    failed=1
    tail -n 40 "$LOGS/$log"
  fi
  return $rc
}

skip() {
  steps+=("$1")
  results+=("SKIP ($2)")
}

# ---- dependencies carried as .deb files ----
prefix_args=()
if [ -n "$PREBUILT" ]; then
  skip "unpack .deps" "prebuilt binaries in $PREBUILT"
elif compgen -G ".deps/*.deb" >/dev/null; then
  unpack_deps() {
    mkdir -p /tmp/deps && for f in .deps/*.deb; do dpkg -x "$f" /tmp/deps || return 1; done
  }
  step "unpack .deps" deps.log unpack_deps
  prefix_args=(-DCMAKE_PREFIX_PATH=/tmp/deps/usr)
else
  skip "unpack .deps" "no .deps/*.deb: using the system's packages"
fi

# ---- build ----
built=0
if [ -n "$PREBUILT" ]; then
  skip "configure" "prebuilt"
  skip "build" "prebuilt"
  built=1
elif step "configure" configure.log cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
     -DNOVA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 "${prefix_args[@]}"; then
  step "build" build.log cmake --build "$BUILD" && built=1
else
  skip "build" "configure failed"
fi

# ---- tests ----
cuda_tests="$BUILD/tests/nova_cuda_tests"
if [ $built -eq 1 ]; then
  if [ -n "$PREBUILT" ]; then
    skip "ctest (whole suite)" "prebuilt: the CPU suite runs where it was built"
  else
    step "ctest (whole suite)" ctest.log ctest --test-dir "$BUILD" --output-on-failure
  fi
  # On this machine the CUDA tests must run: 77 (skipped: no device) is a failure.
  step "nova_cuda_tests" cuda_tests.log "$cuda_tests"

  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  if [ -x "$sanitizer" ]; then
    # ~[oom] leaves out the out-of-memory test: its deliberately failing
    # cudaMalloc would be reported as an API error.
    step "compute-sanitizer memcheck" sanitizer.log \
      timeout 300 "$sanitizer" --tool memcheck --error-exitcode 1 "$cuda_tests" "~[oom]"
    # racecheck on the tiled conv kernels' double-buffered shared memory
    # (kernels/cuda/conv_igemm.cu): every tile once, and on the persistent
    # RNN kernels' per-step phases (kernels/cuda/rnn_sequence.cu) ([racecheck])
    step "compute-sanitizer racecheck (conv igemm, rnn_sequence)" racecheck.log \
      timeout 300 "$sanitizer" --tool racecheck --error-exitcode 1 "$cuda_tests" "[racecheck]"
  else
    steps+=("compute-sanitizer memcheck")
    results+=("FAIL (compute-sanitizer not found)")
    steps+=("compute-sanitizer racecheck (conv igemm, rnn_sequence)")
    results+=("FAIL (compute-sanitizer not found)")
    failed=1
  fi
else
  skip "ctest (whole suite)" "no build"
  skip "nova_cuda_tests" "no build"
  skip "compute-sanitizer memcheck" "no build"
  skip "compute-sanitizer racecheck (conv igemm, rnn_sequence)" "no build"
fi

# ---- benchmarks: every bench_* program the build made; each writes its JSON
# into the current folder, which is $LOGS/bench ----
if [ $built -eq 1 ]; then
  mapfile -t benches < <(find "$BUILD/bench" -maxdepth 1 -type f -name 'bench_*' -perm -u+x 2>/dev/null | sort)
  if [ ${#benches[@]} -eq 0 ]; then
    skip "benchmarks" "no bench_* programs in $BUILD/bench yet"
  else
    mkdir -p "$LOGS/bench"
    for b in "${benches[@]}"; do
      name=$(basename "$b")
      # CPU-only benchmarks belong to the CPU machine; benchmarks that run on
      # either device are asked for CUDA here
      limit=180
      case "$name" in
        bench_dcgan_step|bench_soak|bench_rnn_step) skip "$name" "CPU benchmark"; continue ;;
        # bench_symconv --device cuda: its sweep only (packed vs nova's conv2d vs cuDNN);
        # bench_gan_step --device cuda: the 8-Gaussian step vs PyTorch on this GPU (bench-gan_step_cuda.json)
        bench_grad_split|bench_gan_step|bench_sngan_step|bench_cayley|bench_symconv) extra=(--device cuda) ;;
        # 10 model/size pairs, each with cuDNN twice and a PyTorch process
        bench_rnn_step_cuda) extra=(); limit=400 ;;
        *) extra=() ;;
      esac
      step "$name" "bench/$name.log" timeout "$limit" bash -c 'cd "$1" && shift && "$@"' _ "$LOGS/bench" "$(realpath "$b")" "${extra[@]}"
      # the 48x48 (STL-10) SN-GAN shapes as a run of their own, inside the same limit
      if [ "$name" = bench_conv ]; then
        step "bench_conv --layout 48" "bench/bench_conv_48.log" timeout "$limit" bash -c 'cd "$1" && shift && "$@"' _ \
          "$LOGS/bench" "$(realpath "$b")" --layout 48
      fi
    done
  fi
else
  skip "benchmarks" "no build"
fi

# ---- the main example on CUDA: baseline and aw (fused grad_split) side by
# side, then aw with WGAN-GP (reference grad_split through double backward) ----
trainer="$BUILD/examples/gan_8gaussians"
if [ $built -eq 1 ] && [ -x "$trainer" ]; then
  step "gan_8gaussians --compare (cuda)" trainer_compare.log \
    "$trainer" --device cuda --compare --seeds 1 --steps 2000 --lr-d 1e-3
  step "gan_8gaussians wgan-gp aw1 (cuda)" trainer_wgangp.log \
    "$trainer" --device cuda --loss wgan-gp --weighting aw1 --steps 300 --plot-every 0
else
  skip "gan_8gaussians (cuda)" "no trainer built"
fi

# ---- the table last (also in $LOGS/summary.txt), then the logs to $OUT ----
summary() {
  local device
  device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
  # prebuilt binaries name their commit (the GPU machine's copy of .git may
  # be older than the working tree it was sent)
  local commit
  if [ -n "$PREBUILT" ] && [ -f "$PREBUILT/COMMIT" ]; then
    commit="$(cat "$PREBUILT/COMMIT") (prebuilt)"
  else
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
  fi
  echo "gpu-check: ${device:-no GPU visible to nvidia-smi}, commit $commit, $(date -u '+%Y-%m-%d %H:%M UTC')"
  printf '%-30s %s\n' "step" "status"
  printf '%-30s %s\n' "----" "------"
  for i in "${!steps[@]}"; do
    printf '%-30s %s\n' "${steps[$i]}" "${results[$i]}"
  done
}
summary >"$LOGS/summary.txt"
if [ -n "${OUT:-}" ]; then
  # one archive: $OUT returns at most 8 files
  cp "$LOGS/summary.txt" "$OUT/" && tar -czf "$OUT/gpu-check-logs.tgz" -C "$LOGS" .
fi
echo
cat "$LOGS/summary.txt"
exit $failed
