// kernels/cpu/elementwise.cpp: the formulas of core/op_kinds.h on the CPU.
// The kind switch runs once per call, outside the loop: each case
// instantiates for_each_row with its own lambda, so the inner loop is a plain
// vectorisable expression.
#include "kernels/cpu/elementwise.h"

#include <cmath>
#include <type_traits>

#include <Eigen/Core>

#include "kernels/cpu/loops.h"

namespace nova::cpu {

namespace {

template <typename T>
T sign_of(T x) {
  return T((T(0) < x) - (x < T(0)));
}

/// out[i] = f(x[i]) over any strides.
template <typename T, typename F>
void map1(const Tensor& x, const Tensor& out, F f) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  for_each_row<2>(out.shape(), {out.strides(), x.strides()},
                  [&](int64_t n, std::array<int64_t, 2> off, std::array<int64_t, 2> step) {
                    T* o = po + off[0];
                    const T* a = px + off[1];
                    if (all_unit(step)) {
                      for (int64_t j = 0; j < n; ++j) o[j] = f(a[j]);
                    } else {
                      for (int64_t j = 0; j < n; ++j) o[j * step[0]] = f(a[j * step[1]]);
                    }
                  });
}

/// map1 whose unit-stride rows go to row(a, o, n) instead: for exp, tanh and
/// sigmoid, Eigen's SIMD versions are 4-8x faster than one libm call per
/// element, which on the small-model CPU path (an MLP's tanh layers) is the
/// difference between the activation and the GEMM dominating a step.
template <typename T, typename F, typename Row>
void map1_rows(const Tensor& x, const Tensor& out, F f, Row row) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  for_each_row<2>(out.shape(), {out.strides(), x.strides()},
                  [&](int64_t n, std::array<int64_t, 2> off, std::array<int64_t, 2> step) {
                    T* o = po + off[0];
                    const T* a = px + off[1];
                    if (all_unit(step)) {
                      row(a, o, n);
                    } else {
                      for (int64_t j = 0; j < n; ++j) o[j * step[0]] = f(a[j * step[1]]);
                    }
                  });
}

template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

/// out[i] = f(a[i], b[i]) with a, b broadcast to out's shape.
template <typename T, typename R, typename F>
void map2(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  R* po = out.data<R>();
  Shape sa = broadcast_strides(a.shape(), a.strides(), out.shape());
  Shape sb = broadcast_strides(b.shape(), b.strides(), out.shape());
  for_each_row<3>(out.shape(), {out.strides(), sa, sb},
                  [&](int64_t n, std::array<int64_t, 3> off, std::array<int64_t, 3> step) {
                    R* o = po + off[0];
                    const T* x = pa + off[1];
                    const T* y = pb + off[2];
                    if (all_unit(step)) {
                      for (int64_t j = 0; j < n; ++j) o[j] = f(x[j], y[j]);
                    } else if (step[0] == 1 && step[1] == 1 && step[2] == 0) {
                      const T v = *y;  // tensor op scalar-like row: hoist the constant
                      for (int64_t j = 0; j < n; ++j) o[j] = f(x[j], v);
                    } else {
                      for (int64_t j = 0; j < n; ++j) o[j * step[0]] = f(x[j * step[1]], y[j * step[2]]);
                    }
                  });
}

template <typename T>
void unary_typed(UnaryKind kind, const Tensor& x, const Tensor& out, double alpha, double beta) {
  const T a = T(alpha), b = T(beta);
  switch (kind) {
    case UnaryKind::Neg: return map1<T>(x, out, [](T v) { return T(-v); });
    case UnaryKind::Abs: return map1<T>(x, out, [](T v) { return T(v < T(0) ? -v : v); });
    case UnaryKind::Sign: return map1<T>(x, out, [](T v) { return sign_of(v); });
    case UnaryKind::AddScalar: return map1<T>(x, out, [a](T v) { return T(v + a); });
    case UnaryKind::MulScalar: return map1<T>(x, out, [a](T v) { return T(v * a); });
    case UnaryKind::Square: return map1<T>(x, out, [](T v) { return T(v * v); });
    case UnaryKind::Clamp:
      return map1<T>(x, out, [a, b](T v) { return v < a ? a : (v > b ? b : v); });
    case UnaryKind::Relu: return map1<T>(x, out, [](T v) { return v > T(0) ? v : T(0); });
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (kind) {
      case UnaryKind::Exp:
        return map1_rows<T>(x, out, [](T v) { return std::exp(v); },
                            [](const T* a, T* o, int64_t n) { ArrayMap<T>(o, n) = ConstArrayMap<T>(a, n).exp(); });
      case UnaryKind::Log: return map1<T>(x, out, [](T v) { return std::log(v); });
      case UnaryKind::Log1p: return map1<T>(x, out, [](T v) { return std::log1p(v); });
      case UnaryKind::Sqrt: return map1<T>(x, out, [](T v) { return std::sqrt(v); });
      case UnaryKind::Rsqrt: return map1<T>(x, out, [](T v) { return T(1) / std::sqrt(v); });
      case UnaryKind::Pow: return map1<T>(x, out, [a](T v) { return std::pow(v, a); });
      case UnaryKind::Sin: return map1<T>(x, out, [](T v) { return std::sin(v); });
      case UnaryKind::Cos: return map1<T>(x, out, [](T v) { return std::cos(v); });
      case UnaryKind::LeakyRelu: return map1<T>(x, out, [a](T v) { return v > T(0) ? v : a * v; });
      case UnaryKind::Elu:
        return map1<T>(x, out, [a](T v) { return v > T(0) ? v : a * std::expm1(v); });
      case UnaryKind::Sigmoid: {
        // two branches so that exp never overflows
        auto f = [](T v) {
          if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
          T e = std::exp(v);
          return e / (T(1) + e);
        };
        if constexpr (std::is_same_v<T, float>) {
          // SIMD 1 / (1 + exp(-v)): exp(-v) = inf below v = -88 gives 0,
          // where the exact value is a float denormal (< 1.2e-38)
          return map1_rows<T>(x, out, f, [](const T* a, T* o, int64_t n) {
            ArrayMap<T>(o, n) = (T(1) + (-ConstArrayMap<T>(a, n)).exp()).inverse();
          });
        }
        return map1<T>(x, out, f);
      }
      case UnaryKind::Tanh:
        if constexpr (std::is_same_v<T, float>) {
          // Eigen's float tanh: a clamped rational approximation, within a
          // few ulp of libm's (double keeps libm: Eigen has no SIMD version)
          return map1_rows<T>(x, out, [](T v) { return std::tanh(v); },
                              [](const T* a, T* o, int64_t n) { ArrayMap<T>(o, n) = ConstArrayMap<T>(a, n).tanh(); });
        }
        return map1<T>(x, out, [](T v) { return std::tanh(v); });
      case UnaryKind::Softplus:
        // beta = a, threshold = b: above it softplus(x) == x to working precision
        return map1<T>(x, out, [a, b](T v) {
          T z = a * v;
          return z > b ? v : std::log1p(std::exp(z)) / a;
        });
      default: break;
    }
  }
  fail("{}: not defined for {}", unary_name(kind), dtype_name(x.dtype()));
}

template <typename T>
void binary_typed(BinaryKind kind, const Tensor& a, const Tensor& b, const Tensor& out) {
  switch (kind) {
    case BinaryKind::Add: return map2<T, T>(a, b, out, [](T x, T y) { return T(x + y); });
    case BinaryKind::Sub: return map2<T, T>(a, b, out, [](T x, T y) { return T(x - y); });
    case BinaryKind::Mul: return map2<T, T>(a, b, out, [](T x, T y) { return T(x * y); });
    case BinaryKind::Div: return map2<T, T>(a, b, out, [](T x, T y) { return T(x / y); });
    case BinaryKind::Maximum: return map2<T, T>(a, b, out, [](T x, T y) { return x > y ? x : y; });
    case BinaryKind::Minimum: return map2<T, T>(a, b, out, [](T x, T y) { return x < y ? x : y; });
    case BinaryKind::Eq: return map2<T, bool>(a, b, out, [](T x, T y) { return x == y; });
    case BinaryKind::Ne: return map2<T, bool>(a, b, out, [](T x, T y) { return x != y; });
    case BinaryKind::Lt: return map2<T, bool>(a, b, out, [](T x, T y) { return x < y; });
    case BinaryKind::Le: return map2<T, bool>(a, b, out, [](T x, T y) { return x <= y; });
    case BinaryKind::Gt: return map2<T, bool>(a, b, out, [](T x, T y) { return x > y; });
    case BinaryKind::Ge: return map2<T, bool>(a, b, out, [](T x, T y) { return x >= y; });
    case BinaryKind::Pow:
      if constexpr (std::is_floating_point_v<T>)
        return map2<T, T>(a, b, out, [](T x, T y) { return std::pow(x, y); });
      break;
  }
  fail("{}: not defined for {}", binary_name(kind), dtype_name(a.dtype()));
}

}  // namespace

void unary(UnaryKind kind, const Tensor& x, const Tensor& out, double alpha, double beta) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail("{}: not defined for bool", unary_name(kind));
    } else {
      unary_typed<T>(kind, x, out, alpha, beta);
    }
  });
}

void binary(BinaryKind kind, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      NOVA_CHECK(kind == BinaryKind::Eq || kind == BinaryKind::Ne, "{}: not defined for bool",
                 binary_name(kind));
      binary_typed<bool>(kind, a, b, out);
    } else {
      binary_typed<T>(kind, a, b, out);
    }
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const bool* pc = cond.data<bool>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    const Shape& s = out.shape();
    for_each_row<4>(s,
                    {out.strides(), broadcast_strides(cond.shape(), cond.strides(), s),
                     broadcast_strides(a.shape(), a.strides(), s),
                     broadcast_strides(b.shape(), b.strides(), s)},
                    [&](int64_t n, std::array<int64_t, 4> off, std::array<int64_t, 4> st) {
                      for (int64_t j = 0; j < n; ++j)
                        po[off[0] + j * st[0]] = pc[off[1] + j * st[1]] ? pa[off[2] + j * st[2]]
                                                                        : pb[off[3] + j * st[3]];
                    });
  });
}

void copy(const Tensor& src, const Tensor& out) {
  Shape ss = broadcast_strides(src.shape(), src.strides(), out.shape());
  dispatch_dtype(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_dtype(out.dtype(), [&](auto otag) {
      using O = decltype(otag);
      const S* ps = src.data<S>();
      O* po = out.data<O>();
      for_each_row<2>(out.shape(), {out.strides(), ss},
                      [&](int64_t n, std::array<int64_t, 2> off, std::array<int64_t, 2> st) {
                        if (all_unit(st)) {
                          for (int64_t j = 0; j < n; ++j) po[off[0] + j] = static_cast<O>(ps[off[1] + j]);
                        } else {
                          for (int64_t j = 0; j < n; ++j)
                            po[off[0] + j * st[0]] = static_cast<O>(ps[off[1] + j * st[1]]);
                        }
                      });
    });
  });
}

void fill(const Tensor& out, double value) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    T* po = out.data<T>();
    for_each_row<1>(out.shape(), {out.strides()},
                    [&](int64_t n, std::array<int64_t, 1> off, std::array<int64_t, 1> st) {
                      for (int64_t j = 0; j < n; ++j) po[off[0] + j * st[0]] = v;
                    });
  });
}

}  // namespace nova::cpu
