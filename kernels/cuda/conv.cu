// kernels/cuda/conv.cu: 2-D convolution on the GPU, NCHW, float32/64 (see
// kernels/conv.h for the formula and the geometry):
//   y[n,k,p,q] = sum_{c,r,s} x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw] * w[k,c,r,s]
// Two paths, chosen per call in conv2d_forward / backward_data /
// backward_filter below:
//   the tiled implicit-GEMM kernels (kernels/cuda/conv_igemm.cu, with a TF32
//   tensor-core kernel for float32 when allow_tf32()) for every geometry
//   igemm::igemm_supported() takes: all whose tensors and GEMM sizes have
//   fewer than 2^31 - 4096 elements (32-bit indices) and at most 65535 groups;
//   the v1 kernels here, the reference path, for the rest, and for every
//   geometry while the environment variable NOVA_CONV_V1 is 1 (use_v1(),
//   read once per call, where the kernel is chosen).
// v1, direct ports of the CPU loops' definitions, one thread (or block) per
// output element, accumulating in the element type as the CPU's GEMM does:
//   conv2d_forward          one thread per y[n, k, p, q]: its Cg*R*S taps
//   conv2d_backward_data    one thread per grad_x[n, c, h, w]: the taps (k, r,
//                           s) whose output (p, q) reads (h, w), i.e.
//                           p = (h + ph - r*dh) / sh when that divides exactly
//   conv2d_backward_filter  one block per grad_w[k, c, r, s]: its threads
//                           stride over the N*P*Q products, then a fixed-order
//                           tree in shared memory (deterministic)
// All overwrite their output and need no workspace (the tiled
// backward_filter's split-K does: conv2d_workspace asks for it whenever the
// tiled kernels take the geometry, and v1 ignores it).
#include "kernels/conv.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/launch.cuh"

namespace nova::cuda {

namespace {

constexpr int kFilterThreads = 256;  // one block per weight element
constexpr int64_t kMaxFilterBlocks = int64_t(1) << 20;

template <typename T>
__global__ void forward_kernel(Conv2dGeometry g, const T* __restrict__ x, const T* __restrict__ w,
                               const T* __restrict__ bias, T* __restrict__ y, ConvEpilogue::Activation act, T slope) {
  const int64_t total = g.N * g.K * g.P * g.Q;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t q = i % g.Q, p = (i / g.Q) % g.P, k = (i / (g.Q * g.P)) % g.K, n = i / (g.Q * g.P * g.K);
    const int64_t c0 = (k / Kg) * Cg;
    T acc = bias ? bias[k] : T(0);
    for (int64_t c = 0; c < Cg; ++c) {
      const T* xc = x + ((n * g.C + c0 + c) * g.H) * g.W;
      const T* wc = w + ((k * Cg + c) * g.R) * g.S;
      for (int64_t r = 0; r < g.R; ++r) {
        const int64_t ih = p * g.stride_h - g.pad_h + r * g.dil_h;
        if (ih < 0 || ih >= g.H) continue;
        for (int64_t s = 0; s < g.S; ++s) {
          const int64_t iw = q * g.stride_w - g.pad_w + s * g.dil_w;
          if (iw < 0 || iw >= g.W) continue;
          acc += xc[ih * g.W + iw] * wc[r * g.S + s];
        }
      }
    }
    y[i] = conv_activate(act, slope, acc);
  }
}

template <typename T>
__global__ void backward_data_kernel(Conv2dGeometry g, const T* __restrict__ gy, const T* __restrict__ w,
                                     T* __restrict__ gx) {
  const int64_t total = g.N * g.C * g.H * g.W;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, c = (i / (g.W * g.H)) % g.C, n = i / (g.W * g.H * g.C);
    const int64_t grp = c / Cg, cl = c - grp * Cg;
    T acc = T(0);
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t ph = ih + g.pad_h - r * g.dil_h;  // = p * stride_h when tap r of row p reads ih
      if (ph < 0 || ph % g.stride_h != 0) continue;
      const int64_t p = ph / g.stride_h;
      if (p >= g.P) continue;
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t qw = iw + g.pad_w - s * g.dil_w;
        if (qw < 0 || qw % g.stride_w != 0) continue;
        const int64_t q = qw / g.stride_w;
        if (q >= g.Q) continue;
        for (int64_t kl = 0; kl < Kg; ++kl) {
          const int64_t k = grp * Kg + kl;
          acc += gy[((n * g.K + k) * g.P + p) * g.Q + q] * w[((k * Cg + cl) * g.R + r) * g.S + s];
        }
      }
    }
    gx[i] = acc;
  }
}

template <typename T>
__global__ void backward_filter_kernel(Conv2dGeometry g, const T* __restrict__ x, const T* __restrict__ gy,
                                       T* __restrict__ gw) {
  __shared__ T partial[kFilterThreads];
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  const int64_t total = g.K * Cg * g.R * g.S;
  const int64_t per_weight = g.N * g.P * g.Q;
  for (int64_t i = blockIdx.x; i < total; i += gridDim.x) {
    const int64_t s = i % g.S, r = (i / g.S) % g.R, cl = (i / (g.S * g.R)) % Cg, k = i / (g.S * g.R * Cg);
    const int64_t c = (k / Kg) * Cg + cl;
    T acc = T(0);
    for (int64_t j = threadIdx.x; j < per_weight; j += blockDim.x) {
      const int64_t q = j % g.Q, p = (j / g.Q) % g.P, n = j / (g.Q * g.P);
      const int64_t ih = p * g.stride_h - g.pad_h + r * g.dil_h;
      const int64_t iw = q * g.stride_w - g.pad_w + s * g.dil_w;
      if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
      acc += gy[((n * g.K + k) * g.P + p) * g.Q + q] * x[((n * g.C + c) * g.H + ih) * g.W + iw];
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kFilterThreads / 2; half > 0; half /= 2) {
      if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) gw[i] = partial[0];
    __syncthreads();  // partial is reused by the block's next weight element
  }
}

template <typename T>
void forward_typed(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
                   const ConvEpilogue& e) {
  const int64_t total = y.numel();
  if (total == 0) return;
  DeviceGuard guard(y.device().index);
  forward_kernel<T><<<blocks_for(total), kThreads, 0, stream_of(y)>>>(g, x.data<T>(), w.data<T>(),
                                                                      bias.data_or_null<T>(), y.data<T>(),
                                                                      e.activation, T(e.slope));
  NOVA_CUDA_LAUNCH_CHECK("conv2d");
}

template <typename T>
void backward_data_typed(const Conv2dGeometry& g, const View& grad_y, const View& w, const View& grad_x) {
  const int64_t total = grad_x.numel();
  if (total == 0) return;
  DeviceGuard guard(grad_x.device().index);
  backward_data_kernel<T><<<blocks_for(total), kThreads, 0, stream_of(grad_x)>>>(g, grad_y.data<T>(),
                                                                                 w.data<T>(), grad_x.data<T>());
  NOVA_CUDA_LAUNCH_CHECK("conv2d_backward_data");
}

template <typename T>
void backward_filter_typed(const Conv2dGeometry& g, const View& x, const View& grad_y, const View& grad_w) {
  const int64_t total = grad_w.numel();
  if (total == 0) return;
  DeviceGuard guard(grad_w.device().index);
  const int64_t blocks = std::min(total, kMaxFilterBlocks);
  backward_filter_kernel<T><<<unsigned(blocks), kFilterThreads, 0, stream_of(grad_w)>>>(
      g, x.data<T>(), grad_y.data<T>(), grad_w.data<T>());
  NOVA_CUDA_LAUNCH_CHECK("conv2d_backward_filter");
}

/// The v1 kernels for every geometry while the environment variable
/// NOVA_CONV_V1 is 1: the reference path, for checking the tiled kernels
/// against it or timing both. Read once per call, by tiled() in the pass's
/// entry point below (a getenv is far cheaper than a launch), so a test or
/// bench can switch it with setenv; conv2d_workspace does not read it, so
/// the workspace core allocates cannot disagree with the kernel chosen.
bool use_v1() {
  const char* v = std::getenv("NOVA_CONV_V1");
  return v != nullptr && v[0] == '1' && v[1] == '\0';
}

bool tiled(const Conv2dGeometry& g) { return !use_v1() && igemm::igemm_supported(g); }

}  // namespace

/// backward_filter's split-K workspace whenever the tiled kernels take g,
/// whether NOVA_CONV_V1 then sends the call to v1 or not (v1 ignores it; a
/// reference run allocating a workspace it does not use is harmless).
int64_t conv2d_workspace(const Conv2dGeometry& g, ConvPass pass) {
  if (pass != ConvPass::kBackwardFilter || !igemm::igemm_supported(g)) return 0;
  return igemm::filter_plan(g).workspace;
}

void conv2d_forward(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
                    const View&, const ConvEpilogue& epilogue) {
  if (tiled(g)) return igemm::forward(g, x, w, bias, y, epilogue);
  dispatch_floating("conv2d", x.dtype(), [&](auto tag) {
    forward_typed<decltype(tag)>(g, x, w, bias, y, epilogue);
  });
}

void conv2d_backward_data(const Conv2dGeometry& g, const View& grad_y, const View& w, const View& grad_x,
                          const View&) {
  if (tiled(g)) return igemm::backward_data(g, grad_y, w, grad_x);
  dispatch_floating("conv2d_backward_data", grad_y.dtype(), [&](auto tag) {
    backward_data_typed<decltype(tag)>(g, grad_y, w, grad_x);
  });
}

void conv2d_backward_filter(const Conv2dGeometry& g, const View& x, const View& grad_y, const View& grad_w,
                            const View& workspace) {
  if (tiled(g)) return igemm::backward_filter(g, x, grad_y, grad_w, workspace);
  dispatch_floating("conv2d_backward_filter", x.dtype(), [&](auto tag) {
    backward_filter_typed<decltype(tag)>(g, x, grad_y, grad_w);
  });
}

}  // namespace nova::cuda
