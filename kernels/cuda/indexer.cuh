// kernels/cuda/indexer.cuh: the strided-offset helper every CUDA kernel
// family that walks arbitrary strides shares (elementwise, index): the
// shape is collapsed on the host exactly as kernels/cpu/loops.h does
// (size-1 dims dropped, dims merged where contiguous in every operand), then
// each thread turns its flat element index into one offset per operand.
#pragma once

#include <array>
#include <cstdint>

#include "core/base/shape.h"

namespace nova::cuda {

/// Shape and per-operand strides after collapsing: size-1 dims dropped and
/// dims merged where contiguous in every operand (a dense tensor of any shape
/// becomes one dim). Passed to kernels by value.
template <int K>
struct Indexer {
  int ndim = 0;
  int64_t size[kMaxDims];
  int64_t stride[K][kMaxDims];

  /// Offsets of flat (row-major) output element i in each operand.
  __device__ void offsets(int64_t i, int64_t (&off)[K]) const {
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int d = ndim - 1; d > 0; --d) {
      const int64_t idx = i % size[d];
      i /= size[d];
#pragma unroll
      for (int k = 0; k < K; ++k) off[k] += idx * stride[k][d];
    }
    if (ndim > 0) {
#pragma unroll
      for (int k = 0; k < K; ++k) off[k] += i * stride[k][0];
    }
  }

  /// True when every operand is dense in output order (offset of i is i).
  bool dense() const {
    if (ndim == 0) return true;
    if (ndim > 1) return false;
    for (int k = 0; k < K; ++k)
      if (stride[k][0] != 1) return false;
    return true;
  }
};

/// Collapses `shape` with K operands' strides (the merge rule of
/// kernels/cpu/loops.h; negative strides merge too). The shape must be
/// non-empty (numel > 0).
template <int K>
Indexer<K> make_indexer(const Shape& shape, const std::array<Shape, K>& strides) {
  Indexer<K> ix;
  int nd = 0;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (nd > 0) {
      bool mergeable = true;
      for (int k = 0; k < K; ++k)
        mergeable = mergeable && ix.stride[k][nd - 1] == strides[k][d] * shape[d];
      if (mergeable) {
        ix.size[nd - 1] *= shape[d];
        for (int k = 0; k < K; ++k) ix.stride[k][nd - 1] = strides[k][d];
        continue;
      }
    }
    ix.size[nd] = shape[d];
    for (int k = 0; k < K; ++k) ix.stride[k][nd] = strides[k][d];
    ++nd;
  }
  ix.ndim = nd;
  return ix;
}

}  // namespace nova::cuda
