// kernels/cuda/activation_grad.cu: the one-pass tanh / sigmoid / relu /
// leaky_relu backward on the GPU (see kernels/activation_grad.h). nvcc
// fuses a * b + c into one FMA by default (--fmad=true); the __*_rn
// intrinsics are never fused, so each
// product and difference is rounded as the composed ops' separate kernels
// round it, and this kernel gives their bits.
#include "kernels/activation_grad.h"

#include <cuda_runtime.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"

namespace nova::cuda {

namespace {

__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }

template <typename T, ActivationGradKind K>
__global__ void activation_grad_kernel(const T* g, const T* y, T* out, int64_t n) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const T v = y[i];
    if constexpr (K == ActivationGradKind::Tanh) {
      out[i] = mul_rn(g[i], sub_rn(T(1), mul_rn(v, v)));
    } else {
      out[i] = mul_rn(mul_rn(g[i], v), sub_rn(T(1), v));
    }
  }
}

template <typename T, ActivationGradKind K>
void launch(const View& grad, const View& y, const View& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  activation_grad_kernel<T, K><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(
      grad.data<T>(), y.data<T>(), out.data<T>(), n);
  NOVA_CUDA_LAUNCH_CHECK("activation_grad");
}

template <typename T>
__global__ void relu_grad_kernel(const T* g, const T* ref, T s, T* out, int64_t n) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[i] = mul_rn(g[i], ref[i] > T(0) ? T(1) : s);
}

}  // namespace

void relu_grad(const View& grad, const View& ref, double slope, const View& out) {
  DeviceGuard guard(out.device().index);
  dispatch_floating("relu_grad", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = out.numel();
    if (n == 0) return;
    relu_grad_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(grad.data<T>(), ref.data<T>(), T(slope),
                                                                         out.data<T>(), n);
    NOVA_CUDA_LAUNCH_CHECK("relu_grad");
  });
}

void activation_grad(ActivationGradKind kind, const View& grad, const View& y, const View& out) {
  DeviceGuard guard(out.device().index);
  dispatch_floating("activation_grad", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    switch (kind) {
      case ActivationGradKind::Tanh: return launch<T, ActivationGradKind::Tanh>(grad, y, out);
      case ActivationGradKind::Sigmoid: return launch<T, ActivationGradKind::Sigmoid>(grad, y, out);
    }
  });
}

}  // namespace nova::cuda
