// kernels/elementwise_math.h: the formula of every unary kind
// (NOVA_UNARY_KINDS in core/base/op_kinds.h), written once for both back
// ends: kernels/cpu/elementwise.cpp runs it in its strided loops and
// kernels/cuda/elementwise.cu in its kernels, so the CPU and the GPU compute
// the same expression. The CPU swaps in Eigen's SIMD rows for exp, and for
// float sigmoid and tanh, on dense rows (cpu/elementwise.cpp says why).
//
// Plain C++ that nvcc also compiles: NOVA_HD marks the functions host and
// device under nvcc, and math:: gives one name per function for float and
// double (CUDA's expf/exp on the device, std:: on the host).
#pragma once

#include <cmath>
#include <type_traits>

#include "core/base/op_kinds.h"

#if defined(__CUDACC__)
#define NOVA_HD __host__ __device__ __forceinline__
#else
#define NOVA_HD inline
#endif

namespace nova {

namespace math {
#if defined(__CUDA_ARCH__)
NOVA_HD float exp(float v) { return ::expf(v); }
NOVA_HD double exp(double v) { return ::exp(v); }
NOVA_HD float expm1(float v) { return ::expm1f(v); }
NOVA_HD double expm1(double v) { return ::expm1(v); }
NOVA_HD float log(float v) { return ::logf(v); }
NOVA_HD double log(double v) { return ::log(v); }
NOVA_HD float log1p(float v) { return ::log1pf(v); }
NOVA_HD double log1p(double v) { return ::log1p(v); }
NOVA_HD float sqrt(float v) { return ::sqrtf(v); }
NOVA_HD double sqrt(double v) { return ::sqrt(v); }
NOVA_HD float pow(float v, float e) { return ::powf(v, e); }
NOVA_HD double pow(double v, double e) { return ::pow(v, e); }
NOVA_HD float sin(float v) { return ::sinf(v); }
NOVA_HD double sin(double v) { return ::sin(v); }
NOVA_HD float cos(float v) { return ::cosf(v); }
NOVA_HD double cos(double v) { return ::cos(v); }
NOVA_HD float tanh(float v) { return ::tanhf(v); }
NOVA_HD double tanh(double v) { return ::tanh(v); }
#else
template <typename T> NOVA_HD T exp(T v) { return std::exp(v); }
template <typename T> NOVA_HD T expm1(T v) { return std::expm1(v); }
template <typename T> NOVA_HD T log(T v) { return std::log(v); }
template <typename T> NOVA_HD T log1p(T v) { return std::log1p(v); }
template <typename T> NOVA_HD T sqrt(T v) { return std::sqrt(v); }
template <typename T> NOVA_HD T pow(T v, T e) { return std::pow(v, e); }
template <typename T> NOVA_HD T sin(T v) { return std::sin(v); }
template <typename T> NOVA_HD T cos(T v) { return std::cos(v); }
template <typename T> NOVA_HD T tanh(T v) { return std::tanh(v); }
#endif
}  // namespace math

/// Whether kind's domain includes the element type T (the back ends launch
/// only these; any other pair is an error naming the op and the dtype).
template <typename T>
constexpr bool unary_defined_for(UnaryDomain domain) {
  return domain == UnaryDomain::Any || std::is_floating_point_v<T>;
}

/// y = f(x; a, b) for kind K, a = alpha and b = beta of the op.
template <typename T, UnaryKind K>
struct UnaryFormula {
  T a, b;
  NOVA_HD T operator()(T v) const {
    if constexpr (K == UnaryKind::Neg) return T(-v);
    if constexpr (K == UnaryKind::Abs) return T(v < T(0) ? -v : v);
    if constexpr (K == UnaryKind::Sign) return T((T(0) < v) - (v < T(0)));
    if constexpr (K == UnaryKind::AddScalar) return T(v + a);                   // x + alpha
    if constexpr (K == UnaryKind::MulScalar) return T(v * a);                   // x * alpha
    if constexpr (K == UnaryKind::Square) return T(v * v);
    if constexpr (K == UnaryKind::Clamp) return v < a ? a : (v > b ? b : v);    // [alpha, beta]
    if constexpr (K == UnaryKind::Relu) return v > T(0) ? v : T(0);
    if constexpr (std::is_floating_point_v<T>) {
      if constexpr (K == UnaryKind::Exp) return math::exp(v);
      if constexpr (K == UnaryKind::Log) return math::log(v);
      if constexpr (K == UnaryKind::Log1p) return math::log1p(v);
      if constexpr (K == UnaryKind::Sqrt) return math::sqrt(v);
      if constexpr (K == UnaryKind::Rsqrt) return T(1) / math::sqrt(v);
      if constexpr (K == UnaryKind::Pow) return math::pow(v, a);               // x^alpha
      if constexpr (K == UnaryKind::Sin) return math::sin(v);
      if constexpr (K == UnaryKind::Cos) return math::cos(v);
      if constexpr (K == UnaryKind::LeakyRelu) return v > T(0) ? v : a * v;    // slope alpha
      if constexpr (K == UnaryKind::Elu) return v > T(0) ? v : a * math::expm1(v);
      if constexpr (K == UnaryKind::Sigmoid) {
        // two branches so that exp never overflows
        if (v >= T(0)) return T(1) / (T(1) + math::exp(-v));
        const T e = math::exp(v);
        return e / (T(1) + e);
      }
      if constexpr (K == UnaryKind::Tanh) return math::tanh(v);
      if constexpr (K == UnaryKind::Softplus) {
        // beta = a, threshold = b: above it softplus(x) == x to working precision
        const T z = a * v;
        return z > b ? v : math::log1p(math::exp(z)) / a;
      }
    }
    return v;  // not reached: the back ends launch only kinds defined for T
  }
};

}  // namespace nova
