// kernels/cpu/segment.h: per-segment row sums on the CPU.
// x [N, M] (contiguous, viewed so by core) is cut into K contiguous segments
// of rows; segment k is rows [offsets[k], offsets[k+1]):
//   out[k, j] = sum_{r in segment k} x[r, j]            out [K, M], overwritten
// Sums are accumulated in double for float32 (acc_t), as every CPU reduction.
// The backward (repeat each segment's gradient over its rows) is written with
// ops in core/segment.cpp, so there is no backward kernel here.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::cpu {

/// out[k, :] = sum of rows offsets[k] .. offsets[k+1]-1 of x. x [N, M] and out
/// [K, M] contiguous; offsets has K + 1 entries, offsets[K] = N. An empty
/// segment gives a row of zeros.
void segment_sum(const Tensor& x, const std::vector<int64_t>& offsets, const Tensor& out);

}  // namespace nova::cpu
