// kernels/cpu/reduce.cpp: CPU reductions (see kernels/reduce.h). Each kernel is one
// reduce_each_output call whose body folds the block of one output element.
#include "kernels/reduce.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cpu/reduce_loop.h"

namespace nova::cpu {

namespace {

/// acc[l] += every element of the block at px + bases[l], for l < L, in the
/// block's row-major order, the L blocks walked side by side (L independent
/// chains of adds, see reduce_output_lanes).
template <int64_t L, typename T>
void sum_lanes(const T* px, const int64_t* bases, const Shape& inner, const Shape& st, acc_t<T>* acc) {
  for_each_row<1>(inner, {st}, [&](int64_t n, std::array<int64_t, 1> off, std::array<int64_t, 1> step) {
    const T* p = px + off[0];
    const int64_t sp = step[0];
    for (int64_t j = 0; j < n; ++j)
      for (int64_t l = 0; l < L; ++l) acc[l] += p[bases[l] + j * sp];
  }, false);
}

template <typename T>
void sum_typed(const View& x, const View& out, bool take_mean) {
  const T* px = x.data<T>();
  T* po = out.data<T>();  // contiguous: allocated by the caller
  const int64_t count = out.numel() == 0 ? 0 : x.numel() / std::max<int64_t>(out.numel(), 1);
  // eight outputs at a time: a bias gradient's sum over [N, C, H, W]'s dims
  // 0, 2, 3 ran one add chain at a time and took 4.5% of a DCGAN step
  constexpr int64_t kLanes = 8;
  reduce_output_lanes<kLanes>(x, out.shape(),
                              [&](int64_t o0, int64_t lanes, const int64_t* bases, const Shape& inner,
                                  const Shape& st) {
                                acc_t<T> acc[kLanes] = {};
                                if (lanes == kLanes) {
                                  sum_lanes<kLanes>(px, bases, inner, st, acc);
                                } else {
                                  for (int64_t l = 0; l < lanes; ++l) sum_lanes<1>(px, bases + l, inner, st, acc + l);
                                }
                                for (int64_t l = 0; l < lanes; ++l) {
                                  if (take_mean) {
                                    po[o0 + l] = count ? T(double(acc[l]) / double(count)) : T(NAN);
                                  } else {
                                    po[o0 + l] = T(acc[l]);
                                  }
                                }
                              });
}

template <typename T>
void var_typed(const View& x, const View& out, int64_t correction) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  reduce_each_output(x, out.shape(), [&](int64_t o, int64_t base, const Shape& inner, const Shape& st) {
    const int64_t n = inner.numel();
    double s = 0;
    for_each_reduced(px + base, inner, st, [&](T v) { s += v; });
    const double m = n ? s / double(n) : 0.0;
    double ss = 0;
    for_each_reduced(px + base, inner, st, [&](T v) {
      const double d = double(v) - m;
      ss += d * d;
    });
    // N <= correction gives 0/0 = NaN (or inf), as PyTorch does
    po[o] = T(ss / double(std::max<int64_t>(n - correction, 0)));
  });
}

/// Whether v replaces the current best: strictly better (so ties keep the
/// first index), or the first NaN seen.
template <bool kTakeMax, typename T>
inline bool beats(T v, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(best)) return false;
    if (std::isnan(v)) return true;
  }
  if constexpr (kTakeMax) {
    return v > best;
  } else {
    return v < best;
  }
}

template <typename T, bool kTakeMax>
void max_min_typed(const View& x, const View& values, const View& indices) {
  const T* px = x.data<T>();
  T* pv = values.defined() ? values.data<T>() : nullptr;
  int64_t* pi = indices.defined() ? indices.data<int64_t>() : nullptr;
  const Shape& out_shape = values.defined() ? values.shape() : indices.shape();
  reduce_each_output(x, out_shape, [&](int64_t o, int64_t base, const Shape& inner, const Shape& st) {
    T best{};
    int64_t best_at = -1, k = 0;
    for_each_reduced(px + base, inner, st, [&](T v) {
      if (best_at < 0 || beats<kTakeMax>(v, best)) {
        best = v;
        best_at = k;
      }
      ++k;
    });
    if (pv) pv[o] = best;
    if (pi) pi[o] = best_at;
  });
}

template <typename T>
void norm_typed(const View& x, const View& out, double p) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  reduce_each_output(x, out.shape(), [&](int64_t o, int64_t base, const Shape& inner, const Shape& st) {
    const T* b = px + base;
    double acc = 0;
    if (p == 1) {
      for_each_reduced(b, inner, st, [&](T v) { acc += std::abs(double(v)); });
    } else if (p == 2) {
      for_each_reduced(b, inner, st, [&](T v) { acc += double(v) * double(v); });
      acc = std::sqrt(acc);
    } else if (std::isinf(p)) {
      for_each_reduced(b, inner, st, [&](T v) {
        const double a = std::abs(double(v));
        if (std::isnan(a) || a > acc) acc = a;  // once NaN, nothing is > acc: it stays
      });
    } else {
      for_each_reduced(b, inner, st, [&](T v) { acc += std::pow(std::abs(double(v)), p); });
      acc = std::pow(acc, 1.0 / p);
    }
    po[o] = T(acc);
  });
}

template <typename T>
void logsumexp_typed(const View& x, const View& out) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  reduce_each_output(x, out.shape(), [&](int64_t o, int64_t base, const Shape& inner, const Shape& st) {
    const T* b = px + base;
    double m = -std::numeric_limits<double>::infinity();
    for_each_reduced(b, inner, st, [&](T v) {
      if (double(v) > m) m = v;
    });
    // m = -inf (empty block or all -inf) or +inf: the sum below would be
    // 0 * log 0 or inf - inf; the answer is m itself
    if (std::isinf(m)) {
      po[o] = T(m);
      return;
    }
    double s = 0;
    for_each_reduced(b, inner, st, [&](T v) { s += std::exp(double(v) - m); });
    po[o] = T(m + std::log(s));
  });
}

}  // namespace

void sum(const View& x, const View& out) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail("sum: not defined for bool; convert with to(kInt64) first");
    } else {
      sum_typed<T>(x, out, false);
    }
  });
}

void mean(const View& x, const View& out) {
  dispatch_floating("mean", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    sum_typed<T>(x, out, true);
  });
}

void var(const View& x, const View& out, int64_t correction) {
  dispatch_floating("var", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    var_typed<T>(x, out, correction);
  });
}

void max_min(const View& x, const View& values, const View& indices, bool take_max) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (take_max) {
      max_min_typed<T, true>(x, values, indices);
    } else {
      max_min_typed<T, false>(x, values, indices);
    }
  });
}

void norm(const View& x, const View& out, double p) {
  dispatch_floating("norm", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    norm_typed<T>(x, out, p);
  });
}

void logsumexp(const View& x, const View& out) {
  dispatch_floating("logsumexp", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    logsumexp_typed<T>(x, out);
  });
}

}  // namespace nova::cpu
