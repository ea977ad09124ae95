// kernels/cuda/segment.h: per-segment row sums on CUDA, the same function as
// kernels/cpu/segment.h (x [N, M] and out [K, M] contiguous; segment k is
// rows [offsets[k], offsets[k+1]); sums accumulated in double). Plain C++:
// implemented in segment.cu, or in segment_stub.cpp (throwing) in a build
// without CUDA.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::cuda {

/// out[k, :] = sum of rows offsets[k] .. offsets[k+1]-1 of x; an empty
/// segment gives a row of zeros. One launch per 256 segments.
void segment_sum(const Tensor& x, const std::vector<int64_t>& offsets, const Tensor& out);

}  // namespace nova::cuda
