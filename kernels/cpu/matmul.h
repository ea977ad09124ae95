// kernels/cpu/matmul.h: batched matrix product on the CPU through Eigen.
#pragma once

#include "core/tensor.h"

namespace nova::cpu {

/// out[b] = a[b] @ b_[b] for every batch index b. a is [..., m, k], b_ is
/// [..., k, n], both already expanded to out's batch dims (any strides);
/// out is contiguous [..., m, n] and is overwritten.
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace nova::cpu
