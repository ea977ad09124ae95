// kernels/cpu/batch_norm_backward.cpp: batch_norm's backward as one kernel
// (see batch_norm_backward.h). Compiled with -ffp-contract=off
// (kernels/CMakeLists.txt): a fused multiply-add in
// (dxhat - m1) - xhat * m2 would skip the rounding of the product that the
// composed ops make, and the gradients' last bits would move.
#include "kernels/cpu/batch_norm_backward.h"

#include "kernels/cpu/loops.h"

namespace nova::cpu {

namespace {

template <typename T>
void batch_norm_backward_typed(const View& x, const View& grad, const View& mean, const View& rstd,
                               const View& weight, const View& grad_x, const View& grad_weight,
                               const View& grad_bias) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2);
  const T* px = x.data<T>();
  const T* pg = grad.data<T>();
  const T* pm = mean.data<T>();
  const T* pr = rstd.data<T>();
  const T* pw = weight.data_or_null<T>();
  T* pgx = grad_x.data_or_null<T>();
  T* pgw = grad_weight.data_or_null<T>();
  T* pgb = grad_bias.data_or_null<T>();
  const double count = double(N * L);
  const bool parallel = C > 1 && x.numel() >= kParallelGrain;
  parallel_for(C, parallel, [&](int64_t c) {
    const T m = pm[c], r = pr[c];
    const T w = pw ? pw[c] : T(1);
    // pass 1: the four sums over (n, l), in the composed ops' order
    double s_dxhat = 0, s_dxhat_xhat = 0, s_g_xhat = 0, s_g = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = px + (n * C + c) * L;
      const T* gr = pg + (n * C + c) * L;
      for (int64_t l = 0; l < L; ++l) {
        const T centred = xr[l] - m;
        const T xhat = centred * r;
        const T dxhat = pw ? T(gr[l] * w) : gr[l];
        const T dxhat_xhat = dxhat * xhat;
        const T g_xhat = gr[l] * xhat;
        s_dxhat += dxhat;
        s_dxhat_xhat += dxhat_xhat;
        s_g_xhat += g_xhat;
        s_g += gr[l];
      }
    }
    if (pgw) pgw[c] = T(s_g_xhat);
    if (pgb) pgb[c] = T(s_g);
    if (!pgx) return;
    // the means as the mean kernel rounds them: sum / count, then to T
    const T m1 = T(s_dxhat / count), m2 = T(s_dxhat_xhat / count);
    // pass 2: grad_x
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = px + (n * C + c) * L;
      const T* gr = pg + (n * C + c) * L;
      T* out = pgx + (n * C + c) * L;
      for (int64_t l = 0; l < L; ++l) {
        const T centred = xr[l] - m;
        const T xhat = centred * r;
        const T dxhat = pw ? T(gr[l] * w) : gr[l];
        const T a = dxhat - m1;
        const T b = xhat * m2;
        const T d = a - b;
        out[l] = r * d;
      }
    }
  });
}

}  // namespace

void batch_norm_backward(const View& x, const View& grad, const View& mean, const View& rstd, const View& weight,
                         const View& grad_x, const View& grad_weight, const View& grad_bias) {
  dispatch_floating("batch_norm_backward", x.dtype(), [&](auto tag) {
    batch_norm_backward_typed<decltype(tag)>(x, grad, mean, rstd, weight, grad_x, grad_weight, grad_bias);
  });
}

}  // namespace nova::cpu
