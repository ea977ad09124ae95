#!/usr/bin/env bash
# tools/check-floors.sh: fails when an #include climbs the floors of DESIGN.md
# ("Layout"): each library folder may include only the folders below it (and
# system or third-party headers), so the library has no circles and a kernel
# never sees a Tensor. Prints file:line, the include and the rule it breaks for
# every offender, and exits 1 when there is one. ctest runs it (check_floors).
#
#   tools/check-floors.sh            # checks the repository it sits in
#   tools/check-floors.sh SOURCE_DIR
#
# The floors, and what each folder may include:
#   1 core/base/      core/base/
#   2 kernels/*.h     core/base/, kernels/*.h
#     kernels/cpu/    core/base/, kernels/*.h, kernels/cpu/
#     kernels/cuda/   core/base/, kernels/*.h, kernels/cuda/
#   3 core/           core/ (base included), kernels/ (any folder)
#   4 nn/, optim/     core/, nn/, optim/: never kernels/, a fused step is an op
#   5 models/,        core/, nn/, optim/, models/, datasets/
#     datasets/
#   6 examples/, bench/, tests/ may include anything and are not checked.
# An include is read as a path from the repository root unless it names a file
# next to the includer (`#include "loops.h"`), as the compiler reads it; one
# whose first folder is not nova's (<vector>, <Eigen/Core>, "stb/...") is a
# system or third-party header and always allowed.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$root"

project_folders=" core kernels nn optim models datasets examples bench tests "
library_folders=(core kernels nn optim models datasets)

# (The helpers set a variable instead of printing: no subshell per include.)

# area_of PATH: sets $area to the folder whose rules PATH obeys: core/base/,
# kernels/ (files directly in it), kernels/<sub>/, core/, nn/, ...
area_of() {
  case $1 in
    core/base/*) area="core/base/" ;;
    kernels/*/*) local sub=${1#kernels/}; area="kernels/${sub%%/*}/" ;;
    *) area="${1%%/*}/" ;;
  esac
}

# rule_of AREA: sets $may_include to the areas AREA may include (patterns) and
# $rule to the rule as printed
rule_of() {
  case $1 in
    core/base/)    may_include="core/base/"
                   rule="core/base/ (floor 1) includes only core/base/" ;;
    kernels/)      may_include="core/base/ kernels/"
                   rule="files directly in kernels/ (floor 2) include only core/base/ and kernels/*.h" ;;
    kernels/*/)    may_include="core/base/ kernels/ $1"
                   rule="$1 (floor 2) includes only core/base/, kernels/*.h and $1" ;;
    core/)         may_include="core/base/ core/ kernels/ kernels/*/"
                   rule="core/ (floor 3) includes only core/ and kernels/" ;;
    nn/|optim/)    may_include="core/base/ core/ nn/ optim/"
                   rule="$1 (floor 4) includes only core/, nn/ and optim/; a kernel is reached through an op, never included" ;;
    models/|datasets/) may_include="core/base/ core/ nn/ optim/ models/ datasets/"
                   rule="$1 (floor 5) includes only core/, nn/, optim/, models/ and datasets/" ;;
  esac
}

# resolve FILE SPEC QUOTED: sets $target to the repository path an include
# names, or to "" for a system or third-party header
resolve() {
  local file=$1 spec=$2 quoted=$3
  target=$spec
  if [ "$quoted" = 1 ] && [ -f "${file%/*}/$spec" ]; then
    target="${file%/*}/$spec"
  fi
  if [[ $target == *./* ]]; then
    target=$(realpath -m --relative-to=. "$target")  # "../cpu/loops.h"
  fi
  # <vector>, <Eigen/Core>, "omp.h": not in one of nova's folders
  [[ $target == */* && $project_folders == *" ${target%%/*} "* ]] || target=""
}

mapfile -t files < <(find "${library_folders[@]}" -type f \
  \( -name '*.h' -o -name '*.hpp' -o -name '*.cuh' -o -name '*.cpp' -o -name '*.cc' -o -name '*.cu' \) | sort)

violations=0
while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  line=${rest%%:*}
  text=${rest#*:}
  if [[ $text =~ \#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
    spec=${BASH_REMATCH[1]}; quoted=1
  elif [[ $text =~ \#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
    spec=${BASH_REMATCH[1]}; quoted=0
  else
    continue  # a computed include (#include MACRO): nothing to check
  fi
  resolve "$file" "$spec" "$quoted"
  [ -n "$target" ] || continue
  area_of "$target"; to=$area
  area_of "$file"; rule_of "$area"
  ok=0
  read -ra patterns <<< "$may_include"  # read, not a glob: kernels/*/ stays a pattern
  for p in "${patterns[@]}"; do
    # shellcheck disable=SC2053  # $p is a pattern
    if [[ $to == $p ]]; then ok=1; break; fi
  done
  if [ $ok = 0 ]; then
    if [ "$quoted" = 1 ]; then spelled="\"$spec\""; else spelled="<$spec>"; fi
    echo "$file:$line: #include $spelled: $rule"
    violations=$((violations + 1))
  fi
done < <(grep -HnE '^[[:space:]]*#[[:space:]]*include' "${files[@]}")

if [ $violations -gt 0 ]; then
  echo "check-floors: $violations include(s) climb the floors of DESIGN.md (checked ${#files[@]} files)"
  exit 1
fi
echo "check-floors: every include of ${#files[@]} files points down the floors"
