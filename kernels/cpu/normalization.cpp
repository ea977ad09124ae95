// kernels/cpu/normalization.cpp: layer_norm and batch_norm forward loops
// (see kernels/normalization.h). One row (layer_norm) or one channel (batch_norm) per
// OpenMP task, only when the whole tensor is above kParallelGrain elements.
#include "kernels/normalization.h"

#include <cmath>

#include "kernels/cpu/loops.h"

namespace nova::cpu {

namespace {

template <typename T>
void layer_norm_typed(const View& x, const View& weight, const View& bias, double eps,
                      const View& y, const View& mean, const View& rstd) {
  const int64_t rows = x.size(0), cols = x.size(1);
  const T* px = x.data<T>();
  const T* pw = weight.defined() ? weight.data<T>() : nullptr;
  const T* pb = bias.defined() ? bias.data<T>() : nullptr;
  T* py = y.data<T>();
  T* pm = mean.data<T>();
  T* pr = rstd.data<T>();
  const bool parallel = rows > 1 && x.numel() >= kParallelGrain;
  parallel_for(rows, parallel, [&](int64_t r) {
    const T* xr = px + r * cols;
    T* yr = py + r * cols;
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += xr[j];
    const double mu = s / double(cols);
    double ss = 0;
    for (int64_t j = 0; j < cols; ++j) {
      double d = double(xr[j]) - mu;
      ss += d * d;
    }
    const double inv = 1.0 / std::sqrt(ss / double(cols) + eps);
    pm[r] = T(mu);
    pr[r] = T(inv);
    for (int64_t j = 0; j < cols; ++j) {
      double v = (double(xr[j]) - mu) * inv;
      if (pw) v *= double(pw[j]);
      if (pb) v += double(pb[j]);
      yr[j] = T(v);
    }
  });
}

/// Mean and biased variance of channels c0 .. c0 + Lanes - 1 of x [N, C, L],
/// the channels walked side by side: Lanes independent chains of adds, where
/// one channel at a time waits on each add's latency. Each channel's sums
/// take its elements in the same order (n, then l) as one channel alone.
template <int64_t Lanes, typename T>
void batch_norm_stats_lanes(const T* px, int64_t N, int64_t C, int64_t L, int64_t c0, T* pm, T* pv) {
  const double count = double(N * L);
  double s[Lanes] = {}, mu[Lanes], ss[Lanes] = {};
  for (int64_t n = 0; n < N; ++n) {
    const T* rows = px + (n * C + c0) * L;
    for (int64_t l = 0; l < L; ++l)
      for (int64_t k = 0; k < Lanes; ++k) s[k] += rows[k * L + l];
  }
  for (int64_t k = 0; k < Lanes; ++k) mu[k] = s[k] / count;
  for (int64_t n = 0; n < N; ++n) {
    const T* rows = px + (n * C + c0) * L;
    for (int64_t l = 0; l < L; ++l)
      for (int64_t k = 0; k < Lanes; ++k) {
        double d = double(rows[k * L + l]) - mu[k];
        ss[k] += d * d;
      }
  }
  for (int64_t k = 0; k < Lanes; ++k) {
    pm[c0 + k] = T(mu[k]);
    pv[c0 + k] = T(ss[k] / count);
  }
}

template <typename T>
void batch_norm_stats_typed(const View& x, const View& mean, const View& var) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2);
  const T* px = x.data<T>();
  T* pm = mean.data<T>();
  T* pv = var.data<T>();
  constexpr int64_t kLanes = 8;
  const int64_t groups = (C + kLanes - 1) / kLanes;
  const bool parallel = groups > 1 && x.numel() >= kParallelGrain;
  parallel_for(groups, parallel, [&](int64_t grp) {
    const int64_t c0 = grp * kLanes;
    if (C - c0 >= kLanes) {
      batch_norm_stats_lanes<kLanes>(px, N, C, L, c0, pm, pv);
    } else {
      for (int64_t c = c0; c < C; ++c) batch_norm_stats_lanes<1>(px, N, C, L, c, pm, pv);
    }
  });
}

template <typename T>
void batch_norm_apply_typed(const View& x, const View& mean, const View& rstd,
                            const View& weight, const View& bias, const View& y) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2);
  const T* px = x.data<T>();
  const T* pm = mean.data<T>();
  const T* pr = rstd.data<T>();
  const T* pw = weight.defined() ? weight.data<T>() : nullptr;
  const T* pb = bias.defined() ? bias.data<T>() : nullptr;
  T* py = y.data<T>();
  const bool parallel = N * C > 1 && x.numel() >= kParallelGrain;
  // y = x * scale + shift per channel: one multiply-add per element
  parallel_for(N * C, parallel, [&](int64_t nc) {
    const int64_t c = nc % C;
    const double scale = double(pr[c]) * (pw ? double(pw[c]) : 1.0);
    const double shift = (pb ? double(pb[c]) : 0.0) - double(pm[c]) * scale;
    const T* xr = px + nc * L;
    T* yr = py + nc * L;
    for (int64_t l = 0; l < L; ++l) yr[l] = T(double(xr[l]) * scale + shift);
  });
}

}  // namespace

void layer_norm_forward(const View& x, const View& weight, const View& bias, double eps,
                        const View& y, const View& mean, const View& rstd) {
  dispatch_floating("layer_norm", x.dtype(), [&](auto tag) {
    layer_norm_typed<decltype(tag)>(x, weight, bias, eps, y, mean, rstd);
  });
}

void batch_norm_stats(const View& x, const View& mean, const View& var) {
  dispatch_floating("batch_norm", x.dtype(), [&](auto tag) {
    batch_norm_stats_typed<decltype(tag)>(x, mean, var);
  });
}

void batch_norm_apply(const View& x, const View& mean, const View& rstd, const View& weight,
                      const View& bias, const View& y) {
  dispatch_floating("batch_norm", x.dtype(), [&](auto tag) {
    batch_norm_apply_typed<decltype(tag)>(x, mean, rstd, weight, bias, y);
  });
}

}  // namespace nova::cpu
