// core/segment.h: reductions over the rows (dim 0) of a tensor cut into K
// contiguous segments ("groups"), the building block of per-loss gradient
// splitting (core/grad_split.h): a batch made of K groups (real rows, then
// fake rows, ...) whose parameter-gradient sums are taken per group.
//
//   segment_sum     x [N, ...] -> [K, ...]      sums the rows of each segment
//   segment_repeat  x [K, ...] -> [N, ...]      repeats row k over segment k's rows
//   segment_outer   a [N, m], b [N, n] -> [K, m, n]   a_k^T b_k per segment
//                   (a Linear layer's weight gradient dW_k = dY_k^T X_k per group)
//
// segment_sum and segment_repeat are each other's adjoint, which is how each
// one's gradient is formed; all three differentiate to any order.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::ops {

/// Sums the rows (dim 0) of each segment: segment k is the group_sizes[k]
/// rows after the first k segments, so x [N, ...] with N = sum(group_sizes)
/// gives [K, ...] (K = group_sizes.size() >= 1; a size-0 segment gives a row
/// of zeros). Floating dtypes; CPU and CUDA; differentiable (the gradient of
/// x is segment_repeat of the incoming gradient).
Tensor segment_sum(const Tensor& x, const std::vector<int64_t>& group_sizes);

/// Repeats row k of x [K, ...] over the group_sizes[k] rows of segment k:
/// [N, ...] with N = sum(group_sizes). Differentiable (its gradient is
/// segment_sum). Built on index_select.
Tensor segment_repeat(const Tensor& x, const std::vector<int64_t>& group_sizes);

/// Per segment k, the sum over its rows r of the outer products a[r]^T b[r],
/// i.e. a_k^T @ b_k for the row blocks a_k, b_k: a [N, m], b [N, n] -> [K, m, n]
/// (zeros for an empty segment). One GEMM per segment written straight into
/// the result: Eigen, all segments in one parallel region, on the CPU; cuBLAS
/// on CUDA. Differentiable:
/// da_k = b_k @ g_k^T, db_k = a_k @ g_k.
Tensor segment_outer(const Tensor& a, const Tensor& b, const std::vector<int64_t>& group_sizes);

/// Row i -> the segment holding it: int64 [N] on `device`.
Tensor segment_ids(const std::vector<int64_t>& group_sizes, Device device = kCPU);

/// Checks group sizes (at least one, none negative) and returns the K + 1
/// row offsets 0, g_0, g_0 + g_1, ..., N. `op` names the caller in errors.
std::vector<int64_t> segment_offsets(const char* op, const std::vector<int64_t>& group_sizes);

}  // namespace nova::ops
