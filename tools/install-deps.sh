#!/usr/bin/env bash
# tools/install-deps.sh: installs nova's build dependencies from Debian's
# packages (Debian 12). Does nothing when they are all present, so the README
# commands can run it every time. Needs root (or sudo) only when installing.
set -euo pipefail

packages=(build-essential cmake ninja-build libeigen3-dev libfmt-dev catch2 nlohmann-json3-dev libstb-dev libcli11-dev
          libopenblas-openmp-dev zlib1g-dev)
# tools/fuzz.sh: clang 14 with libFuzzer and the sanitizer runtimes (in
# libclang-rt-14-dev, which clang-14 only recommends) and clang's OpenMP
# runtime (libomp-14-dev: nova needs OpenMP, and with clang CMake looks for
# clang's omp.h, not GCC's)
packages+=(clang-14 libclang-rt-14-dev libomp-14-dev)
# Graphviz's dot: the trainers' --graph draws its DOT file as a PNG with it
# (optional for a user; installed here so that the suite checks the picture)
packages+=(graphviz)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
