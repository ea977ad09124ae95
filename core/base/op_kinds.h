// core/base/op_kinds.h: the elementwise operations by name, shared by core
// (which validates and records autograd) and the kernels (which compute).
// One enum value per formula keeps the kernels a switch over a closed list.
//
// The unary kinds are one list, NOVA_UNARY_KINDS: it makes the enum, the
// printed names, and the switch of each back end's unary kernel, so adding a
// unary op is one line here, its formula in kernels/elementwise_math.h, and
// the op with its derivative in core/elementwise.{h,cpp}.
#pragma once

#include <cstdint>

namespace nova {

/// Which dtypes a unary kind is defined for.
enum class UnaryDomain : uint8_t { Any, Floating };

// X(Kind, "printed name", domain). y = f(x; alpha, beta); the formulas, with
// what alpha and beta mean for each kind, are in kernels/elementwise_math.h.
#define NOVA_UNARY_KINDS(X)            \
  X(Neg, "neg", Any)                   \
  X(Abs, "abs", Any)                   \
  X(Sign, "sign", Any)                 \
  X(Exp, "exp", Floating)              \
  X(Log, "log", Floating)              \
  X(Log1p, "log1p", Floating)          \
  X(Sqrt, "sqrt", Floating)            \
  X(Rsqrt, "rsqrt", Floating)          \
  X(Pow, "pow", Floating)              \
  X(Sin, "sin", Floating)              \
  X(Cos, "cos", Floating)              \
  X(Relu, "relu", Any)                 \
  X(LeakyRelu, "leaky_relu", Floating) \
  X(Elu, "elu", Floating)              \
  X(Sigmoid, "sigmoid", Floating)      \
  X(Tanh, "tanh", Floating)            \
  X(Softplus, "softplus", Floating)    \
  X(AddScalar, "add", Any)             \
  X(MulScalar, "mul", Any)             \
  X(Clamp, "clamp", Any)               \
  X(Square, "square", Any)

/// y = f(x; alpha, beta).
enum class UnaryKind : uint8_t {
#define NOVA_UNARY_ENUM(kind, name, domain) kind,
  NOVA_UNARY_KINDS(NOVA_UNARY_ENUM)
#undef NOVA_UNARY_ENUM
};

enum class BinaryKind : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  // comparisons: bool result, never differentiable
  Eq, Ne, Lt, Le, Gt, Ge,
};

inline bool is_comparison(BinaryKind k) { return k >= BinaryKind::Eq; }

/// Activations whose derivative is a function of their output y, for the
/// one-pass backward kernel (kernels/activation_grad.h): tanh 1 - y^2,
/// sigmoid y (1 - y).
enum class ActivationGradKind : uint8_t { Tanh, Sigmoid };

/// The op's name as users write it ("tanh"), for errors and traces.
const char* unary_name(UnaryKind k);
const char* binary_name(BinaryKind k);

}  // namespace nova
