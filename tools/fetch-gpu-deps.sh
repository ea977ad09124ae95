#!/usr/bin/env bash
# tools/fetch-gpu-deps.sh: run HERE (a machine with Debian's package
# registry) before using the GPU machine, which has none: downloads the .deb
# files of nova's header-only dependencies into .deps/ (git-ignored). Name
# .deps in the device tool's `carry`, and tools/gpu-check.sh unpacks them
# into /tmp/deps there (see ../shared/DEVICE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps
cd .deps
apt-get download libeigen3-dev libfmt-dev libfmt9 catch2 nlohmann-json3-dev libcli11-dev
ls -l
