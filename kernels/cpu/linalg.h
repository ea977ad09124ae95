// kernels/cpu/linalg.h: batched inverse and linear solve on the CPU through
// Eigen's partial-pivoting LU (getrf/getrs in LAPACK terms).
// Inputs may have any strides (expanded batch dims included); outputs are
// contiguous and overwritten. A singular matrix throws nova::Error naming the
// op and the matrix's flat index in the batch.
#pragma once

#include "core/tensor.h"

namespace nova::cpu {

/// out[b] = a[b]^-1 for a [..., n, n]; out contiguous with a's shape.
void inverse(const Tensor& a, const Tensor& out);
/// out[b] = a[b]^-1 b_[b] for a [..., n, n] and b_ [..., n, k], both already
/// expanded to out's batch dims; out contiguous [..., n, k].
void solve(const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace nova::cpu
