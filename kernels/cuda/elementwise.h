// kernels/cuda/elementwise.h: CUDA elementwise kernels, the same functions as
// kernels/cpu/elementwise.h (unary, binary with broadcasting, where,
// dtype-converting copy, fill) on tensors in device memory. Plain C++: a
// build without CUDA links kernels/cuda/stub.cpp, whose versions throw.
// Outputs are written (not accumulated); `out` is allocated by the caller
// with the result shape on the same device. Kernels run on nova's stream.
#pragma once

#include "core/base/op_kinds.h"
#include "core/tensor.h"

namespace nova::cuda {

/// out = f(x). x and out share shape; any strides.
void unary(UnaryKind kind, const Tensor& x, const Tensor& out, double alpha, double beta);
/// out = f(a, b), a and b broadcast to out's shape. a, b share a dtype; out
/// has it too, or bool for comparisons.
void binary(BinaryKind kind, const Tensor& a, const Tensor& b, const Tensor& out);
/// out = cond ? a : b, all broadcast to out's shape; cond is bool.
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
/// out = src broadcast to out's shape and converted to out's dtype (both on
/// the same device): what contiguous(), clone() and to(dtype) run on the GPU.
void copy(const Tensor& src, const Tensor& out);
/// Every element of out = value (converted to out's dtype).
void fill(const Tensor& out, double value);

}  // namespace nova::cuda
