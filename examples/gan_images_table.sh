#!/bin/sh
# examples/gan_images_table.sh: the README's image-GAN table in one command.
# Trains the FID/IS classifier (once), then DCGAN on Fashion-MNIST (padded to
# 32x32) as the baseline and with aw1 for several seeds, JOBS runs at a time
# (each single-threaded, so the runs never share a core's work), and prints
# the per-seed rows and the per-method means as a Markdown table (also
# written to OUT/table.md). A shell script rather than a trainer mode because
# each run is an ordinary gan_images command that a reader can rerun alone,
# and its CSV, log and sample grids stay in OUT.
#
#   examples/gan_images_table.sh BUILD OUT [SEEDS] [STEPS] [WIDTH] [JOBS]
#   defaults:                                4       2000    8       2
#
# FID and IS are on the features of nova's own classifier (not Inception-v3):
# they rank these runs against each other and are not comparable with
# published numbers. Runs are deterministic: the same command gives the same
# table (wall times aside). SKIP_RUNS=1 only re-summarises the runs in OUT.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR OUT_DIR [SEEDS=4] [STEPS=2000] [WIDTH=8] [JOBS=2]" >&2
  exit 2
fi
build=$1 out=$2 seeds=${3:-4} steps=${4:-2000} width=${5:-8} jobs=${6:-2}
bin=$build/examples/gan_images
[ -x "$bin" ] || { echo "$0: no $bin (cmake --build $build --target gan_images)" >&2; exit 1; }
mkdir -p "$out"
classifier=$out/fmnist_classifier.safetensors

if [ ! -f "$classifier" ]; then
  echo "training the FID/IS classifier -> $classifier"
  "$bin" --train-classifier --classifier-out "$classifier" > "$out/classifier.log" 2>&1 ||
    { cat "$out/classifier.log" >&2; exit 1; }
  tail -n 2 "$out/classifier.log"
fi

half=$((steps / 2))
[ "$half" -ge 1 ] || half=1
[ "${SKIP_RUNS:-0}" = 1 ] || {
echo "training $((2 * seeds)) runs ($seeds seeds x baseline, aw1), $jobs at a time: DCGAN width $width, $steps G steps"
start=$(date +%s)
seed=0
while [ "$seed" -lt "$seeds" ]; do
  for method in none aw1; do echo "$method $seed"; done
  seed=$((seed + 1))
done | xargs -P "$jobs" -L 1 sh -c '
  method=$0 seed=$1
  name=dcgan_${method}_seed${seed}
  "'"$bin"'" --model dcgan --width '"$width"' --steps '"$steps"' --weighting "$method" --seed "$seed" \
      --classifier "'"$classifier"'" --fid-every '"$half"' --csv "'"$out"'/$name.csv" --csv-every 100 \
      --sample-every '"$steps"' --out-dir "'"$out"'" --log-every 500 > "'"$out"'/$name.log" 2>&1 ||
    { echo "run $name failed; its log:" >&2; tail -n 20 "'"$out"'/$name.log" >&2; exit 255; }
  grep "^final:" "'"$out"'/$name.log"'
echo "all runs took $(( $(date +%s) - start )) s of wall time"
}

# One row per run from its CSV (FID at half and at the end, IS) and its log's
# final line (seconds per G step without the evaluations, aw's case counts).
{
  echo "| method | seed | FID at step $half | FID at step $steps | IS | s per step | aw cases 1/2/3/4/5 |"
  echo "|---|---|---|---|---|---|---|"
  seed=0
  while [ "$seed" -lt "$seeds" ]; do
    for method in none aw1; do
      name=dcgan_${method}_seed${seed}
      awk -F, -v half="$half" -v steps="$steps" -v logfile="$out/$name.log" -v method="$method" '
        NR > 1 && $3 == half { mid = $16 }
        NR > 1 && $3 == steps { fid = $16; is = $17; seed = $2 }
        END {
          while ((getline line < logfile) > 0) if (line ~ /^final:/) final = line
          sps = final; sub(/.*s_per_step=/, "", sps); sub(/ .*/, "", sps)
          cases = "-"; if (final ~ /cases=/) { cases = final; sub(/.*cases=/, "", cases); sub(/ .*/, "", cases) }
          printf "| %s | %s | %.1f | %.1f | %.2f | %.3f | %s |\n", method == "none" ? "baseline" : method, seed, mid, fid, is, sps, cases
        }' "$out/$name.csv"
    done
    seed=$((seed + 1))
  done
} > "$out/rows.md"

{
  cat "$out/rows.md"
  echo
  echo "| method | runs | mean FID at step $half | mean FID at step $steps (sd) | mean IS | mean s per step |"
  echo "|---|---|---|---|---|---|"
  for method in baseline aw1; do
    awk -F'|' -v m="$method" '
      $2 ~ "^ " m " $" { n++; a += $4; f += $5; f2 += $5 * $5; i += $6; s += $7 }
      END {
        sd = n > 1 ? sqrt((f2 - f * f / n) / (n - 1)) : 0
        printf "| %s | %d | %.1f | %.1f (%.1f) | %.2f | %.3f |\n", m, n, a / n, f / n, sd, i / n, s / n
      }' "$out/rows.md"
  done
} | tee "$out/table.md"
