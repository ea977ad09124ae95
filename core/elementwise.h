// core/elementwise.h: elementwise ops with NumPy broadcasting: math and
// activation functions, arithmetic, comparisons, where, clamp, modReLU.
// All are differentiable except sign and comparisons (zero/no gradient).
// Binary ops need both operands on one device with one dtype; a double
// operand adapts to the tensor's dtype.
#pragma once

#include "core/base/op_kinds.h"
#include "core/tensor.h"

namespace nova::ops {

// ---- unary ----
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
/// x^exponent elementwise.
Tensor pow(const Tensor& x, double exponent);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);

// ---- activations ----
Tensor relu(const Tensor& x);
/// x for x > 0, negative_slope * x otherwise.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// The gradient of relu (slope 0) and leaky_relu into their input:
/// grad * (ref > 0 ? 1 : slope), with ref the input, or the output when
/// slope >= 0 (the output then has the input's sign). One pass over memory
/// (kernels/activation_grad.h) when no graph is recorded and grad and ref
/// are dense tensors of one shape and floating dtype; otherwise the
/// differentiable formula, grad * mask (slope 0) or where(ref > 0, grad,
/// grad * slope). Both give the same bits.
Tensor relu_backward(const Tensor& grad, const Tensor& ref, double slope = 0.0);
/// x for x > 0, alpha * (exp(x) - 1) otherwise.
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
/// log(1 + exp(beta x)) / beta; x itself where beta x > threshold (as PyTorch).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// modReLU (thesis eq. 3.55): sign(x) * relu(|x| + b), b broadcast against x
/// (one bias per hidden unit). Composed of ops, so differentiable to any order.
Tensor modrelu(const Tensor& x, const Tensor& b);

// ---- binary, with broadcasting ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);

// ---- comparisons: bool results, no gradient ----
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);

/// cond ? a : b elementwise, all three broadcast together; cond is bool.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);
Tensor where(const Tensor& cond, double a, const Tensor& b);
/// min(max(x, lo), hi); gradient 1 inside [lo, hi], 0 outside.
Tensor clamp(const Tensor& x, double lo, double hi);

/// Runs the kernel only (no checks beyond shape, no autograd); used by ops
/// that are compositions and by the engine.
Tensor unary_kernel(UnaryKind kind, const Tensor& x, double alpha = 0, double beta = 0);

}  // namespace nova::ops

namespace nova {
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
}  // namespace nova
