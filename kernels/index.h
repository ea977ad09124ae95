// kernels/index.h: the shape/index family: cat, gather and index_select (one
// kernel), scatter_add and index_add (one kernel), one_hot, constant pad, flip,
// and the min/max scan that core uses to check indices.
//
// Every kernel writes a freshly allocated `out` (allocated by core with the
// result shape); scatter_add/index_add first copy `base` into `out`, then
// accumulate into it. Index tensors are int64 or int32 and already checked to
// be in range by core (see index_min_max). Inputs may have any strides. On CUDA
// the accumulating kernels run in parallel with atomic adds, so with duplicated
// indices the last bits of a float sum are not deterministic (integers and bool
// are exact); the CPU loop is serial.
//
// Declared once, for both back ends, by the list kernels/index.def; the CPU
// versions are in kernels/cpu/index.cpp, the CUDA ones in
// kernels/cuda/index.cu.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/base/view.h"

namespace nova {
/// The smallest and largest value of an index tensor (index_min_max).
using IndexRange = std::pair<int64_t, int64_t>;
}  // namespace nova

#define NOVA_KERNEL_FAMILY "kernels/index.def"
#include "kernels/declare_family.h"

namespace nova {

/// Strides that read a 1-D (or 0-d) index as if broadcast over `ndim` dims,
/// varying only along dim: how index_select and index_add walk their index
/// in both back ends.
inline Shape index_along(const View& index, int ndim, int dim) {
  Shape s = Shape::filled(ndim, 0);
  s[dim] = index.dim() == 1 ? index.strides()[0] : 0;
  return s;
}

}  // namespace nova
