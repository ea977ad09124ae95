// kernels/cpu/reduce_loop.h: the loops shared by every CPU reduction.
//
// reduce_each_output(x, out_shape, fn) calls fn(o, base, inner_shape,
// inner_strides) once per output element o (row-major over out_shape, the
// keepdim shape): the input elements reduced into o are those at
// base + sum_d i_d * inner_strides[d] for i < inner_shape. fn runs its own
// loop (usually for_each_reduced) and writes out[o].
// Output elements are shared across OpenMP threads when there is enough work.
#pragma once

#include <algorithm>

#include "core/base/view.h"
#include "kernels/cpu/loops.h"

namespace nova::cpu {

/// Where each output's block lies in x: inner holds the sizes of the reduced
/// dims (1 elsewhere), and output o's block starts at base(o), x's offset
/// of o's position along the kept dims (row-major over out_shape).
struct ReducedBlocks {
  Shape out_shape, inner, outer_strides;

  ReducedBlocks(const View& x, const Shape& out) : out_shape(out), inner(x.shape()), outer_strides(x.strides()) {
    for (int d = 0; d < x.dim(); ++d) {
      if (out_shape[d] == 1) {
        outer_strides[d] = 0;
      } else {
        inner[d] = 1;
      }
    }
  }
  int64_t base(int64_t o) const {
    int64_t b = 0;
    for (int d = out_shape.size() - 1; d >= 0; --d) {
      b += (o % out_shape[d]) * outer_strides[d];
      o /= out_shape[d];
    }
    return b;
  }
};

template <typename Fn>
void reduce_each_output(const View& x, const Shape& out_shape, Fn&& fn) {
  const ReducedBlocks blocks(x, out_shape);
  const int64_t n_out = out_shape.numel();
  const bool parallel = n_out > 1 && x.numel() >= kParallelGrain;
  parallel_for(n_out, parallel, [&](int64_t o) { fn(o, blocks.base(o), blocks.inner, x.strides()); });
}

/// reduce_each_output for kLanes consecutive outputs at a time:
/// fn(o0, lanes, bases, inner_shape, inner_strides) folds outputs o0 ..
/// o0 + lanes - 1 (lanes <= kLanes; fewer only in the last group), bases[l]
/// being output o0 + l's base. Every output's block has the same inner shape
/// and strides, so a fold can walk several blocks side by side: that gives
/// the core independent accumulator chains to overlap, where a single chain
/// waits on each add's latency, while each output still folds its own
/// elements in the same order (the same bits as one output at a time).
template <int64_t kLanes, typename Fn>
void reduce_output_lanes(const View& x, const Shape& out_shape, Fn&& fn) {
  const ReducedBlocks blocks(x, out_shape);
  const int64_t n_out = out_shape.numel();
  const int64_t groups = (n_out + kLanes - 1) / kLanes;
  const bool parallel = groups > 1 && x.numel() >= kParallelGrain;
  parallel_for(groups, parallel, [&](int64_t grp) {
    const int64_t o0 = grp * kLanes, lanes = std::min(kLanes, n_out - o0);
    int64_t bases[kLanes];
    for (int64_t l = 0; l < lanes; ++l) bases[l] = blocks.base(o0 + l);
    fn(o0, lanes, static_cast<const int64_t*>(bases), blocks.inner, x.strides());
  });
}

/// Calls f(value) for every input element that folds into one output: p is
/// the input's data pointer plus reduce_each_output's `base`. Elements come in
/// row-major order of the reduced dims (for_each_row merges and drops dims
/// without reordering them), so a counter kept by f is the element's flat
/// position inside the reduced block: what argmax reports.
template <typename T, typename F>
void for_each_reduced(const T* p, const Shape& inner, const Shape& strides, F&& f) {
  for_each_row<1>(inner, {strides}, [&](int64_t n, std::array<int64_t, 1> off, std::array<int64_t, 1> step) {
    const T* row = p + off[0];
    if (step[0] == 1) {
      for (int64_t j = 0; j < n; ++j) f(row[j]);
    } else {
      for (int64_t j = 0; j < n; ++j) f(row[j * step[0]]);
    }
  }, false);
}

/// Accumulator type for sums: double for floats, int64 for integers.
template <typename T>
using acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

}  // namespace nova::cpu
