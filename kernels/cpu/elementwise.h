// kernels/cpu/elementwise.h: CPU elementwise kernels: unary, binary with
// broadcasting, where, dtype-converting copy and fill. Outputs are written
// (not accumulated); `out` is allocated by the caller with the result shape.
#pragma once

#include "core/base/op_kinds.h"
#include "core/tensor.h"

namespace nova::cpu {

/// out = f(x). x and out share shape; any strides.
void unary(UnaryKind kind, const Tensor& x, const Tensor& out, double alpha, double beta);
/// out = f(a, b), a and b broadcast to out's shape. a, b share a dtype; out
/// has it too, or bool for comparisons.
void binary(BinaryKind kind, const Tensor& a, const Tensor& b, const Tensor& out);
/// out = cond ? a : b, all broadcast to out's shape; cond is bool.
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
/// out = src broadcast to out's shape and converted to out's dtype.
void copy(const Tensor& src, const Tensor& out);
/// Every element of out = value (converted to out's dtype).
void fill(const Tensor& out, double value);

}  // namespace nova::cpu
