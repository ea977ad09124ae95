// kernels/cpu/activation_grad.cpp: the one-pass tanh / sigmoid / relu /
// leaky_relu backward on the CPU (see kernels/activation_grad.h).
//
// This file is compiled with -ffp-contract=off (kernels/CMakeLists.txt): GCC
// would otherwise turn 1 - y * y into one fused multiply-add, which skips the
// rounding of y * y that the composed ops do, and the last bits of every
// gradient (and so of every trained network) would move. The
// `clang fp contract` pragma says the same to clang (the fuzz build).
#include "kernels/activation_grad.h"

#include <algorithm>

#include "kernels/cpu/loops.h"

namespace nova::cpu {

namespace {

template <typename T>
void tanh_grad(const T* g, const T* y, T* o, int64_t n) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  for (int64_t i = 0; i < n; ++i) {
    const T yy = y[i] * y[i];
    const T d = T(1) - yy;
    o[i] = g[i] * d;
  }
}

template <typename T>
void sigmoid_grad(const T* g, const T* y, T* o, int64_t n) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  for (int64_t i = 0; i < n; ++i) {
    const T gy = g[i] * y[i];
    const T d = T(1) - y[i];
    o[i] = gy * d;
  }
}

template <typename T>
void relu_grad_rows(const T* g, const T* ref, T s, T* o, int64_t n) {
  // a select of the factor, then one product: vectorised, and grad * 1 is
  // grad exactly
  for (int64_t i = 0; i < n; ++i) o[i] = g[i] * (ref[i] > T(0) ? T(1) : s);
}

}  // namespace

void relu_grad(const View& grad, const View& ref, double slope, const View& out) {
  dispatch_floating("relu_grad", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = grad.data<T>();
    const T* r = ref.data<T>();
    T* o = out.data<T>();
    const T s = T(slope);
    for_each_grain(out.numel(), [&](int64_t, int64_t i0, int64_t len) { relu_grad_rows(g + i0, r + i0, s, o + i0, len); });
  });
}

void activation_grad(ActivationGradKind kind, const View& grad, const View& y, const View& out) {
  dispatch_floating("activation_grad", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = grad.data<T>();
    const T* py = y.data<T>();
    T* o = out.data<T>();
    for_each_grain(out.numel(), [&](int64_t, int64_t i0, int64_t len) {
      switch (kind) {
        case ActivationGradKind::Tanh: return tanh_grad(g + i0, py + i0, o + i0, len);
        case ActivationGradKind::Sigmoid: return sigmoid_grad(g + i0, py + i0, o + i0, len);
      }
    });
  });
}

}  // namespace nova::cpu
