#!/usr/bin/env bash
# tools/check-install.sh: checks that nova works as a library of someone
# else's CMake project, as README.md says ("nova in your own CMake project").
# ctest runs it as check_install, after the build it checks:
#   1. the README's first program and CMakeLists are tests/consumer/'s files
#   2. `cmake --install BUILD --prefix WORK/prefix`: the built library, the
#      headers and the package config, nothing rebuilt
#   3. tests/consumer configured with find_package(nova) against that prefix,
#      built, run: it must exit 0 and print the 3x2 gradient
#   4. a project that does add_subdirectory(nova) and links nova::nova,
#      configured only (building it compiles nova again; --build-subdir does)
# The generator, compiler and CMAKE_PREFIX_PATH are BUILD's (its CMakeCache.txt),
# so the consumer finds nova's dependencies where nova found them.
#
#   tools/check-install.sh BUILD [WORK [CONFIG]] [--build-subdir]
# WORK (default: a temporary folder, removed at exit) is emptied first.
set -euo pipefail

build_subdir=0
args=()
for a in "$@"; do
  case $a in
    --build-subdir) build_subdir=1 ;;
    *) args+=("$a") ;;
  esac
done
[ ${#args[@]} -ge 1 ] || { echo "usage: $0 BUILD [WORK [CONFIG]] [--build-subdir]" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${args[0]}" && pwd)
if [ -n "${args[1]:-}" ]; then
  work=${args[1]}
  rm -rf "$work" && mkdir -p "$work"
  work=$(cd "$work" && pwd)
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

fail() { echo "check-install: FAIL: $*" >&2; exit 1; }

# cache NAME: BUILD's cached value of NAME ("" when unset)
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1; }
[ -f "$build/CMakeCache.txt" ] || fail "$build has no CMakeCache.txt: configure and build nova first"
cmake=$(cache CMAKE_COMMAND)
config=${args[2]:-$(cache CMAKE_BUILD_TYPE)}
config=${config:-Release}
# what a user's configure would be given on this machine
configure_args=(-G "$(cache CMAKE_GENERATOR)" -DCMAKE_BUILD_TYPE="$config"
                -DCMAKE_CXX_COMPILER="$(cache CMAKE_CXX_COMPILER)")
for v in CMAKE_MAKE_PROGRAM CMAKE_CXX_COMPILER_LAUNCHER; do
  [ -z "$(cache $v)" ] || configure_args+=(-D"$v=$(cache $v)")
done
deps_prefix=$(cache CMAKE_PREFIX_PATH)

# ---- 1. the README shows the files this check builds ----
# block HEADING: the first fenced code block after the README's "## HEADING"
block() { awk -v h="## $1" '$0 == h {s = 1; next} s && /^```/ {if (f) exit; f = 1; next} f' "$src/README.md"; }
# body FILE: FILE without its opening comment block and the blank line after it
body() { awk 'h == 0 && /^(\/\/|#)/ {next} h == 0 && /^$/ {h = 1; next} {h = 1; print}' "$1"; }
diff <(block "A first program") <(body "$src/tests/consumer/first_program.cpp") >&2 ||
  fail "README.md's first program and tests/consumer/first_program.cpp differ (above); keep them one program"
diff <(block "nova in your own CMake project") <(body "$src/tests/consumer/CMakeLists.txt") >&2 ||
  fail "README.md's consumer CMakeLists and tests/consumer/CMakeLists.txt differ (above)"
echo "check-install: README.md shows tests/consumer/'s files"

# ---- 2. install ----
prefix="$work/prefix"
"$cmake" --install "$build" --prefix "$prefix" --config "$config" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install $build failed"; }
config_file=$(find "$prefix" -name novaConfig.cmake | head -n 1)
[ -n "$config_file" ] || fail "no novaConfig.cmake under $prefix"
[ -f "$prefix/include/nova/core/ops.h" ] || fail "no include/nova/core/ops.h under $prefix"
echo "check-install: installed into $prefix ($(grep -c '^-- Installing' "$work/install.log") files)"

# ---- 3. find_package(nova): configure, build, run ----
consumer="$work/consumer"
"$cmake" -S "$src/tests/consumer" -B "$consumer" "${configure_args[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix${deps_prefix:+;$deps_prefix}" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/consumer-configure.log" 2>&1 ||
  { cat "$work/consumer-configure.log"; fail "configuring tests/consumer with find_package(nova) failed"; }
found=$(sed -n 's/^nova_DIR:[A-Z]*=//p' "$consumer/CMakeCache.txt")
[ "$found" = "$(dirname "$config_file")" ] || fail "find_package(nova) found $found, not the fresh install $(dirname "$config_file")"
"$cmake" --build "$consumer" --config "$config" >"$work/consumer-build.log" 2>&1 ||
  { cat "$work/consumer-build.log"; fail "building tests/consumer against the installed nova failed"; }
program=$(find "$consumer" -type f -name first_program -perm -u+x | head -n 1)
rc=0
"$program" >"$work/first_program.out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat "$work/first_program.out"; fail "first_program exited with $rc"; }
cat "$work/first_program.out"
# w.grad(): a header line, then three rows of two numbers
if ! grep -q '^Tensor(shape=\[3, 2\], dtype=float32, device=cpu)$' "$work/first_program.out" ||
   [ "$(grep -cE '^ ?\[+-?[0-9]' "$work/first_program.out")" -ne 3 ]; then
  fail "first_program did not print w.grad(), a 3x2 float32 tensor"
fi
echo "check-install: find_package(nova) from $prefix: first_program built, ran and printed the gradient"

# ---- 4. add_subdirectory(nova) ----
subdir="$work/subdir"
mkdir -p "$subdir/project"
cat >"$subdir/project/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(first_program LANGUAGES CXX)
add_subdirectory("$src" nova)
add_executable(first_program "$src/tests/consumer/first_program.cpp")
target_link_libraries(first_program PRIVATE nova::nova)
CMAKE
# the same choices as BUILD, so that it checks the configuration BUILD is
nova_args=()
for v in NOVA_CUDA NOVA_BLAS NOVA_NATIVE CMAKE_CUDA_ARCHITECTURES CMAKE_CUDA_COMPILER CMAKE_CUDA_COMPILER_LAUNCHER; do
  [ -z "$(cache $v)" ] || nova_args+=(-D"$v=$(cache $v)")
done
"$cmake" -S "$subdir/project" -B "$subdir/build" "${configure_args[@]}" "${nova_args[@]}" \
  ${deps_prefix:+-DCMAKE_PREFIX_PATH="$deps_prefix"} >"$work/subdir-configure.log" 2>&1 ||
  { cat "$work/subdir-configure.log"; fail "configuring a project with add_subdirectory(nova) failed"; }
grep -q '^NOVA_BUILD_TESTS:BOOL=OFF$' "$subdir/build/CMakeCache.txt" ||
  fail "under add_subdirectory, nova's tests should be off by default"
if [ $build_subdir = 1 ]; then
  "$cmake" --build "$subdir/build" --config "$config" --target first_program >"$work/subdir-build.log" 2>&1 ||
    { tail -n 40 "$work/subdir-build.log"; fail "building with add_subdirectory(nova) failed"; }
  program=$(find "$subdir/build" -type f -name first_program -perm -u+x | head -n 1)
  "$program" | grep -q '^Tensor(shape=\[3, 2\]' || fail "first_program (add_subdirectory) did not print the gradient"
  echo "check-install: add_subdirectory(nova): first_program built, ran and printed the gradient"
else
  echo "check-install: add_subdirectory(nova): configured, nova::nova resolves (--build-subdir builds it)"
fi
echo "check-install: OK"
