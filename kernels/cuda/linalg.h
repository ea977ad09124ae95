// kernels/cuda/linalg.h: batched inverse and linear solve on CUDA through
// cuSOLVER's partial-pivoting LU (getrf/getrs), the same functions as
// kernels/cpu/linalg.h. Plain C++: implemented in linalg.cu, or in stub.cpp
// (throwing) in a build without CUDA.
// Inputs may have any strides (expanded batch dims included); outputs are
// contiguous and overwritten. A singular matrix throws nova::Error naming the
// op and the matrix's flat index in the batch, as on the CPU (see linalg.cu
// for how singular is decided on the GPU).
#pragma once

#include "core/tensor.h"

namespace nova::cuda {

/// out[b] = a[b]^-1 for a [..., n, n]; out contiguous with a's shape.
void inverse(const Tensor& a, const Tensor& out);
/// out[b] = a[b]^-1 b_[b] for a [..., n, n] and b_ [..., n, k], both already
/// expanded to out's batch dims; out contiguous [..., n, k].
void solve(const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace nova::cuda
