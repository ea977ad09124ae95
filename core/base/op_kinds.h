// core/op_kinds.h: the names of the elementwise operations, shared by core
// (which validates and records autograd) and the kernels (which compute).
// One enum value per formula keeps the kernels a switch over a closed list.
#pragma once

#include <cstdint>

namespace nova {

/// y = f(x; alpha, beta). alpha/beta are the scalar parameters named per kind.
enum class UnaryKind : uint8_t {
  Neg, Abs, Sign, Exp, Log, Log1p, Sqrt, Rsqrt,
  Pow,        // x^alpha
  Sin, Cos,
  Relu,
  LeakyRelu,  // x > 0 ? x : alpha * x
  Elu,        // x > 0 ? x : alpha * (exp(x) - 1)
  Sigmoid, Tanh,
  Softplus,   // log(1 + exp(beta x)) / beta, linear above x*beta > alpha (threshold)
  AddScalar,  // x + alpha
  MulScalar,  // x * alpha
  Clamp,      // min(max(x, alpha), beta)
  Square,     // x * x
};

enum class BinaryKind : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  // comparisons: bool result, never differentiable
  Eq, Ne, Lt, Le, Gt, Ge,
};

inline bool is_comparison(BinaryKind k) { return k >= BinaryKind::Eq; }

const char* unary_name(UnaryKind k);
const char* binary_name(BinaryKind k);

}  // namespace nova
