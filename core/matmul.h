// core/matmul.h: matrix products. matmul follows NumPy/PyTorch semantics
// (1-D, 2-D, batched with broadcast batch dims); linear is x W^T + b as in
// torch.nn.functional.linear. CPU products use Eigen's GEMM.
#pragma once

#include "core/tensor.h"

namespace nova::ops {

/// a @ b. 1-D x 1-D: dot product (0-d); 2-D x 2-D: matrix product; 1-D
/// operands are treated as a row (left) or column (right) vector and that dim
/// removed from the result; N-D: batched over the leading dims, which broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x [.., in] @ weight[out, in]^T + bias[out] (bias may be undefined).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace nova::ops

namespace nova {

/// Whether float32 matmuls on CUDA may use TF32 tensor cores (faster, about
/// 1e-3 relative error). Off by default; the CPU ignores it.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace nova
