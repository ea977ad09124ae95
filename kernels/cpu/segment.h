// kernels/cpu/segment.h: per-segment row sums on the CPU.
// Tensors are cut along dim 0 into K contiguous segments of rows; segment k is
// rows [offsets[k], offsets[k+1]). All inputs are contiguous (core sees to it).
//   segment_sum    x [N, M] -> out [K, M]:  out[k, j] = sum_{r in k} x[r, j]
//   segment_outer  a [N, m], b [N, n] -> out [K, m, n]:  out[k] = a_k^T b_k
// Both overwrite out. Sums are accumulated in double for float32 (acc_t), as
// every CPU reduction; segment_outer's GEMMs are Eigen's (float accumulation,
// as cpu::matmul). Backward passes are written with ops in core/segment.cpp,
// so there are no backward kernels here.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::cpu {

/// out[k, :] = sum of rows offsets[k] .. offsets[k+1]-1 of x. x [N, M] and out
/// [K, M] contiguous; offsets has K + 1 entries, offsets[K] = N. An empty
/// segment gives a row of zeros.
void segment_sum(const Tensor& x, const std::vector<int64_t>& offsets, const Tensor& out);

/// out[k] = a_k^T @ b_k for the row blocks a_k, b_k of segment k: a [N, m],
/// b [N, n], out [K, m, n], all contiguous; zeros for an empty segment.
void segment_outer(const Tensor& a, const Tensor& b, const std::vector<int64_t>& offsets,
                   const Tensor& out);

}  // namespace nova::cpu
