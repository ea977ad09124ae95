#!/usr/bin/env bash
# tools/check-floor-roots.sh: shows that the build itself refuses an include
# that climbs a floor (CMakeLists.txt, nova_add_floor): each floor library
# compiles against an include root, BUILD/floors/<library>/, that holds only
# the folders it may see. Against nova_kernels' root a kernel source can
# include core/base/view.h (the control) but not core/tensor.h. ctest runs
# it (floors_refuse_climbing_include).
#
#   tools/check-floor-roots.sh BUILD_DIR [C++ compiler]
set -euo pipefail
root="$(cd "$1" && pwd)/floors/nova_kernels"
cxx="${2:-c++}"
# from an empty folder: a quoted include is first looked up next to the
# includer, and for standard input that is the current folder
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
compile() { printf '#include "%s"\n' "$1" | "$cxx" -std=c++17 -fsyntax-only -x c++ -I"$root" - 2>&1; }

if ! out=$(compile core/base/view.h); then
  echo "check-floor-roots: the control failed: core/base/view.h does not compile against $root"
  echo "$out"
  exit 1
fi
if out=$(compile core/tensor.h); then
  echo "check-floor-roots: core/tensor.h compiled against $root: the kernel floor can see a Tensor"
  exit 1
fi
if ! grep -q 'core/tensor.h: No such file' <<<"$out"; then
  echo "check-floor-roots: core/tensor.h failed for another reason than not being there:"
  echo "$out"
  exit 1
fi
echo "check-floor-roots: nova_kernels sees core/base/view.h and not core/tensor.h"
