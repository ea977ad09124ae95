// kernels/cpu/elementwise.cpp: the elementwise kernels on the CPU; the unary
// formulas are kernels/elementwise_math.h, shared with CUDA.
// The kind switch runs once per call, outside the loop: each case
// instantiates for_each_row with its own lambda, so the inner loop is a plain
// vectorisable expression.
#include "kernels/elementwise.h"

#include <cmath>
#include <cstring>
#include <type_traits>

#include <Eigen/Core>

#include "kernels/cpu/loops.h"
#include "kernels/elementwise_math.h"

namespace nova::cpu {

namespace {

/// out[i] = f(x[i]) over any strides.
template <typename T, typename F>
void map1(const View& x, const View& out, F f_in) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  for_each_row<2>(out.shape(), {out.strides(), x.strides()},
                  [&](int64_t n, std::array<int64_t, 2> off, std::array<int64_t, 2> step) {
                    // a copy local to the row: the captured f_in's address has
                    // escaped, so a store to o[j] might (for the compiler)
                    // change its parameters (leaky_relu's slope): it reloaded
                    // them every element and never vectorised (45x slower)
                    const F f = f_in;
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
void map1_rows(const View& x, const View& out, F f, Row row) {
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
void map2(const View& a, const View& b, const View& out, F f) {
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
void unary_typed(UnaryKind kind, const View& x, const View& out, double alpha, double beta) {
  const T a = T(alpha), b = T(beta);
  if constexpr (std::is_floating_point_v<T>) {
    switch (kind) {
      case UnaryKind::Exp:
        return map1_rows<T>(x, out, UnaryFormula<T, UnaryKind::Exp>{a, b},
                            [](const T* a, T* o, int64_t n) { ArrayMap<T>(o, n) = ConstArrayMap<T>(a, n).exp(); });
      case UnaryKind::Sigmoid:
        if constexpr (std::is_same_v<T, float>) {
          // SIMD 1 / (1 + exp(-v)): exp(-v) = inf below v = -88 gives 0,
          // where the exact value is a float denormal (< 1.2e-38)
          return map1_rows<T>(x, out, UnaryFormula<T, UnaryKind::Sigmoid>{a, b}, [](const T* a, T* o, int64_t n) {
            ArrayMap<T>(o, n) = (T(1) + (-ConstArrayMap<T>(a, n)).exp()).inverse();
          });
        }
        break;
      case UnaryKind::Tanh:
        if constexpr (std::is_same_v<T, float>) {
          // Eigen's float tanh: a clamped rational approximation, within a
          // few ulp of libm's (double keeps libm: Eigen has no SIMD version)
          return map1_rows<T>(x, out, UnaryFormula<T, UnaryKind::Tanh>{a, b},
                              [](const T* a, T* o, int64_t n) { ArrayMap<T>(o, n) = ConstArrayMap<T>(a, n).tanh(); });
        }
        break;
      default: break;
    }
  }
  // every other kind: the shared formula (kernels/elementwise_math.h)
  switch (kind) {
#define NOVA_UNARY_CASE(kind_, name, domain)                                                 \
  case UnaryKind::kind_:                                                                      \
    if constexpr (unary_defined_for<T>(UnaryDomain::domain))                                  \
      return map1<T>(x, out, UnaryFormula<T, UnaryKind::kind_>{a, b});                        \
    break;
    NOVA_UNARY_KINDS(NOVA_UNARY_CASE)
#undef NOVA_UNARY_CASE
  }
  fail("{}: not defined for {}", unary_name(kind), dtype_name(x.dtype()));
}

template <typename T>
void binary_typed(BinaryKind kind, const View& a, const View& b, const View& out) {
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

/// Unsigned integer of the same size as T, for select_row's bit select.
template <size_t Bytes> struct SameSizeBits;
template <> struct SameSizeBits<1> { using type = uint8_t; };
template <> struct SameSizeBits<2> { using type = uint16_t; };
template <> struct SameSizeBits<4> { using type = uint32_t; };
template <> struct SameSizeBits<8> { using type = uint64_t; };

/// o[j] = c[j] ? x[j * sx] : y[j * sy] for a dense row of o and c, with sx
/// and sy 1 or 0 (a broadcast scalar). Written as a select of bits through
/// an all-ones or all-zeros mask so that GCC vectorises it: the plain
/// `c[j] ? x[j] : y[j]` mixes a byte and a float per element, which it
/// does not, and a branch per element mispredicts on a random mask (the
/// leaky_relu backward's pick ran at a twentieth of this speed). The bits
/// picked are the same.
template <typename T>
void select_row(const bool* c, const T* x, int64_t sx, const T* y, int64_t sy, T* o, int64_t n) {
  using U = typename SameSizeBits<sizeof(T)>::type;
  const unsigned char* cb = reinterpret_cast<const unsigned char*>(c);
  auto pick = [&](int64_t j, const T& a_value, const T& b_value) {
    U a, b;
    std::memcpy(&a, &a_value, sizeof(T));
    std::memcpy(&b, &b_value, sizeof(T));
    const U m = U(0) - U(cb[j] != 0);
    const U r = U((a & m) | (b & U(~m)));
    std::memcpy(o + j, &r, sizeof(T));
  };
  if (sx == 1 && sy == 1) {
    for (int64_t j = 0; j < n; ++j) pick(j, x[j], y[j]);
  } else if (sx == 1) {
    const T v = *y;
    for (int64_t j = 0; j < n; ++j) pick(j, x[j], v);
  } else if (sy == 1) {
    const T v = *x;
    for (int64_t j = 0; j < n; ++j) pick(j, v, y[j]);
  } else {
    const T a = *x, b = *y;
    for (int64_t j = 0; j < n; ++j) pick(j, a, b);
  }
}

}  // namespace

void unary(UnaryKind kind, const View& x, const View& out, double alpha, double beta) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail("{}: not defined for bool", unary_name(kind));
    } else {
      unary_typed<T>(kind, x, out, alpha, beta);
    }
  });
}

void binary(BinaryKind kind, const View& a, const View& b, const View& out) {
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

void where(const View& cond, const View& a, const View& b, const View& out) {
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
                      T* o = po + off[0];
                      const bool* c = pc + off[1];
                      const T* x = pa + off[2];
                      const T* y = pb + off[3];
                      if (st[0] == 1 && st[1] == 1 && st[2] <= 1 && st[3] <= 1 && st[2] >= 0 && st[3] >= 0) {
                        select_row(c, x, st[2], y, st[3], o, n);
                      } else {
                        for (int64_t j = 0; j < n; ++j) o[j * st[0]] = c[j * st[1]] ? x[j * st[2]] : y[j * st[3]];
                      }
                    });
  });
}

void copy(const View& src, const View& out) {
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

void fill(const View& out, double value) {
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
