// kernels/cuda/matmul.h: batched matrix product on CUDA through cuBLAS, the
// same function as kernels/cpu/matmul.h, and the TF32 switch. Plain C++:
// implemented in matmul.cu, or in stub.cpp (throwing) in a build without CUDA.
#pragma once

#include "core/tensor.h"

namespace nova::cuda {

/// out[b] = a[b] @ b_[b] for every batch index b. a is [..., m, k], b_ is
/// [..., k, n], both already expanded to out's batch dims (any strides);
/// out is contiguous [..., m, n] and is overwritten (zeros when k == 0).
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);

/// Whether float32 GEMMs may use TF32 tensor cores (about 10 bits of
/// mantissa in the products). Off by default: float32 results then agree
/// with the CPU within 1e-5 relative.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace nova::cuda
