// kernels/cpu/optim.cpp: fused optimizer-step loops (see kernels/optim.h; the update
// rules and where they come from are in core/optim.h), and the one-pass inner
// products and weighted sums of the adaptive-weighting optimizers.
//
// Arithmetic is done in the parameter's type T, as PyTorch does: a float32
// model gets float32 updates. Scalars that depend only on the step (bias
// corrections, the decayed Adagrad rate) are computed once, in double.
#include "kernels/optim.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/loops.h"

namespace nova::cpu {

template <typename T>
void sgd_step(const View& param, const View& grad, const View& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool first_step) {
  T* p = param.data<T>();
  const T* g = grad.data<T>();
  T* buf = momentum_buffer.data_or_null<T>();
  const int64_t n = param.numel();
  const T lr_t = T(lr), mu = T(momentum), keep = T(1.0 - dampening), wd = T(weight_decay);
  parallel_for(n, n >= kParallelGrain, [&](int64_t i) {
    T d = g[i];
    if (weight_decay != 0) d += wd * p[i];
    if (buf) {
      T b = first_step ? d : mu * buf[i] + keep * d;
      buf[i] = b;
      d = nesterov ? d + mu * b : b;
    }
    p[i] -= lr_t * d;
  });
}

template <typename T>
void adam_step(const View& param, const View& grad, const View& exp_avg,
               const View& exp_avg_sq, const View& max_exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool amsgrad) {
  T* p = param.data<T>();
  const T* g = grad.data<T>();
  T* m = exp_avg.data<T>();
  T* v = exp_avg_sq.data<T>();
  T* v_max = amsgrad ? max_exp_avg_sq.data<T>() : nullptr;
  const int64_t n = param.numel();
  const double bias_correction1 = 1.0 - std::pow(beta1, double(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, double(step));
  // lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / bc1, v_hat = v / bc2,
  // rearranged as PyTorch does so that the corrections are two scalars
  const T step_size = T(lr / bias_correction1);
  const T inv_sqrt_bc2 = T(1.0 / std::sqrt(bias_correction2));
  const T b1 = T(beta1), b2 = T(beta2), one_b1 = T(1.0 - beta1), one_b2 = T(1.0 - beta2);
  const T eps_t = T(eps), wd = T(weight_decay), shrink = T(1.0 - lr * weight_decay);
  const bool l2 = weight_decay != 0 && !decoupled;
  const bool decay = weight_decay != 0 && decoupled;
  parallel_for(n, n >= kParallelGrain, [&](int64_t i) {
    T d = g[i];
    if (decay) p[i] *= shrink;
    if (l2) d += wd * p[i];
    const T mi = b1 * m[i] + one_b1 * d;
    const T vi = b2 * v[i] + one_b2 * d * d;
    m[i] = mi;
    v[i] = vi;
    T v_used = vi;
    if (v_max) {
      v_used = std::max(v_max[i], vi);
      v_max[i] = v_used;
    }
    p[i] -= step_size * mi / (std::sqrt(v_used) * inv_sqrt_bc2 + eps_t);
  });
}

template <typename T>
void rmsprop_step(const View& param, const View& grad, const View& square_avg,
                  const View& momentum_buffer, const View& grad_avg, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool centered) {
  T* p = param.data<T>();
  const T* g = grad.data<T>();
  T* v = square_avg.data<T>();
  T* buf = momentum > 0 ? momentum_buffer.data<T>() : nullptr;
  T* g_avg = centered ? grad_avg.data<T>() : nullptr;
  const int64_t n = param.numel();
  const T lr_t = T(lr), a = T(alpha), one_a = T(1.0 - alpha), eps_t = T(eps);
  const T wd = T(weight_decay), mu = T(momentum);
  parallel_for(n, n >= kParallelGrain, [&](int64_t i) {
    T d = g[i];
    if (weight_decay != 0) d += wd * p[i];
    const T vi = a * v[i] + one_a * d * d;
    v[i] = vi;
    T var = vi;
    if (g_avg) {
      const T gi = a * g_avg[i] + one_a * d;
      g_avg[i] = gi;
      var -= gi * gi;
    }
    const T denom = std::sqrt(var) + eps_t;  // eps outside the sqrt, as PyTorch
    if (buf) {
      const T b = mu * buf[i] + d / denom;
      buf[i] = b;
      p[i] -= lr_t * b;
    } else {
      p[i] -= lr_t * d / denom;
    }
  });
}

template <typename T>
void adagrad_step(const View& param, const View& grad, const View& state_sum, int64_t step,
                  double lr, double lr_decay, double weight_decay, double eps) {
  T* p = param.data<T>();
  const T* g = grad.data<T>();
  T* s = state_sum.data<T>();
  const int64_t n = param.numel();
  const T clr = T(lr / (1.0 + double(step - 1) * lr_decay));
  const T wd = T(weight_decay), eps_t = T(eps);
  parallel_for(n, n >= kParallelGrain, [&](int64_t i) {
    T d = g[i];
    if (weight_decay != 0) d += wd * p[i];
    const T si = s[i] + d * d;
    s[i] = si;
    p[i] -= clr * d / (std::sqrt(si) + eps_t);
  });
}

namespace {

/// Inner products of K contiguous vectors of length n in one pass; D =
/// K(K+1)/2 sums (squares first, then pairs in (0,1), (0,2), (1,2) order).
template <typename T, int K>
void pair_dots_typed(const std::vector<View>& xs, double* out) {
  constexpr int D = K * (K + 1) / 2;
  const T* x[K];
  for (int k = 0; k < K; ++k) x[k] = xs[size_t(k)].data<T>();
  const int64_t n = xs[0].numel();
  const int64_t chunks = (n + kParallelGrain - 1) / kParallelGrain;
  std::vector<std::array<double, D>> partial(static_cast<size_t>(chunks));
  for_each_grain(n, [&](int64_t ch, int64_t i0, int64_t len) {
    std::array<double, D> acc{};
    for (int64_t i = i0; i < i0 + len; ++i) {
      double v[K];
      for (int k = 0; k < K; ++k) v[k] = double(x[k][i]);
      int d = 0;
      for (int k = 0; k < K; ++k) acc[d++] += v[k] * v[k];
      for (int k = 0; k < K; ++k)
        for (int l = k + 1; l < K; ++l) acc[d++] += v[k] * v[l];
    }
    partial[size_t(ch)] = acc;
  });
  for (int d = 0; d < D; ++d) out[d] = 0;
  for (const auto& acc : partial)
    for (int d = 0; d < D; ++d) out[d] += acc[d];
}

}  // namespace

template <typename T>
void weighted_sum(const View& out, const View& a, double wa, const View& b, double wb,
                  const View& c, double wc) {
  T* o = out.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const T* pc = c.defined() ? c.data<T>() : nullptr;
  const int64_t n = out.numel();
  if (pc) {
    parallel_for(n, n >= kParallelGrain,
                 [&](int64_t i) { o[i] = T(wa * double(pa[i]) + wb * double(pb[i]) + wc * double(pc[i])); });
  } else {
    parallel_for(n, n >= kParallelGrain,
                 [&](int64_t i) { o[i] = T(wa * double(pa[i]) + wb * double(pb[i])); });
  }
}

template <typename T>
void pair_dots(const std::vector<View>& xs, double* out) {
  if (xs.size() == 2) {
    pair_dots_typed<T, 2>(xs, out);
  } else {
    NOVA_CHECK(xs.size() == 3, "pair_dots: 2 or 3 vectors, got {}", xs.size());
    pair_dots_typed<T, 3>(xs, out);
  }
}

/// max |x| over n contiguous values, NaN when one is NaN, through their
/// bits: with the sign bit cleared, the bits of an IEEE float read as a
/// signed integer order like |x| does, and every NaN's are above inf's. An
/// integer max vectorizes where the floating max with its NaN test does not:
/// the 8-Gaussian GAN's 67k float32 gradients (the trainer's non-finite check,
/// every step) in 2.9 us instead of 75 (bench_gan_step --threads 1, AMD EPYC).
template <typename T>
double max_abs_dense(const T* x, int64_t n) {
  using Bits = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  static_assert(sizeof(Bits) == sizeof(T));
  constexpr Bits kNoSign = std::numeric_limits<Bits>::max();
  Bits m = 0;
  for (int64_t i = 0; i < n; ++i) {
    Bits b;
    std::memcpy(&b, x + i, sizeof b);
    m = std::max(m, Bits(b & kNoSign));
  }
  T v;
  std::memcpy(&v, &m, sizeof v);
  return double(v);
}

template <typename T>
double norm_piece(const View& x, double p) {
  const T* base = x.data<T>();
  double acc = 0;
  // one accumulator: rows run in order (may_parallelize = false)
  for_each_row<1>(x.shape(), {x.strides()}, [&](int64_t n, std::array<int64_t, 1> off,
                                                std::array<int64_t, 1> step) {
    const T* row = base + off[0];
    if (std::isinf(p) && step[0] == 1) {
      const double a = max_abs_dense(row, n);
      if (a > acc || std::isnan(a)) acc = a;  // once NaN, stays NaN
      return;
    }
    for (int64_t j = 0; j < n; ++j) {
      const double a = std::abs(double(row[j * step[0]]));
      if (std::isinf(p)) {
        if (a > acc || std::isnan(a)) acc = a;  // once NaN, stays NaN
      } else if (p == 2) {
        acc += a * a;
      } else if (p == 1) {
        acc += a;
      } else {
        acc += std::pow(a, p);
      }
    }
  }, false);
  return acc;
}

// float and double versions of every kernel of kernels/optim.def (core picks
// one per call: the dtype switch is there, once for both back ends)
#define NOVA_KERNEL_FOR_FLOATS(ret, name, params) \
  template ret name<float> params;               \
  template ret name<double> params;
#include "kernels/optim.def"
#undef NOVA_KERNEL_FOR_FLOATS

}  // namespace nova::cpu
