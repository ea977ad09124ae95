// kernels/cuda/pool.cu: max_pool2d, avg_pool2d and nearest / bilinear
// upsampling on the GPU (see kernels/pool.h), v1: a direct port of
// kernels/cpu/pool.cpp with the same index formulas (kernels/pool_math.h).
//   forward   one thread per output element (p, oh, ow), grid-stride: it
//             reads its window or its source pixels;
//   backward  one thread per grad_x element (p, h, w), grid-stride, a
//             gather: it sums the outputs that read it, in increasing
//             (oh, ow) order, in double, exactly as the CPU loop does. No
//             atomics: deterministic, and the CPU's bits up to FMA contraction.
// Flat index i of a [P, R, S] tensor: p = i / (R S), r = i / S % R, s = i % S.
#include "kernels/pool.h"

#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/runtime.h"
#include "kernels/pool_math.h"

namespace nova::cuda {

namespace {

using pool::Range;

/// Sizes of the planes a kernel maps between: x [P, H, W] and y [P, OH, OW].
struct Planes {
  int64_t P, H, W, OH, OW;
};

Planes planes_of(const View& x, const View& y) {
  return {x.size(0), x.size(1), x.size(2), y.size(1), y.size(2)};
}

template <typename T>
__global__ void max_pool2d_forward_kernel(const T* x, T* y, int64_t* indices, Planes s,
                                          PoolWindow k) {
  const int64_t n = s.P * s.OH * s.OW;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t ow = i % s.OW, oh = i / s.OW % s.OH, p = i / (s.OW * s.OH);
    const T* plane = x + p * s.H * s.W;
    const Range rh = pool::max_window(oh, s.H, k.kernel_h, k.stride_h, k.pad_h, k.dilation_h);
    const Range rw = pool::max_window(ow, s.W, k.kernel_w, k.stride_w, k.pad_w, k.dilation_w);
    // strict >: the first maximum wins ties; a NaN is taken (and kept)
    int64_t best = rh.begin * s.W + rw.begin;
    T best_value = T(-INFINITY);
    for (int64_t h = rh.begin; h < rh.end; h += k.dilation_h)
      for (int64_t w = rw.begin; w < rw.end; w += k.dilation_w) {
        const T v = plane[h * s.W + w];
        if (v > best_value || isnan(v)) {
          best_value = v;
          best = h * s.W + w;
        }
      }
    y[i] = best_value;
    indices[i] = best;
  }
}

template <typename T>
__global__ void max_pool2d_backward_kernel(const T* grad_y, const int64_t* indices, T* grad_x,
                                           Planes s, PoolWindow k) {
  const int64_t n = s.P * s.H * s.W;
  const int64_t span_h = (k.kernel_h - 1) * k.dilation_h + 1;
  const int64_t span_w = (k.kernel_w - 1) * k.dilation_w + 1;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t w = i % s.W, h = i / s.W % s.H, p = i / (s.W * s.H);
    const Range oh_range = pool::windows_holding(h, s.OH, span_h, k.stride_h, k.pad_h);
    const Range ow_range = pool::windows_holding(w, s.OW, span_w, k.stride_w, k.pad_w);
    const int64_t me = h * s.W + w;
    double sum = 0;
    for (int64_t oh = oh_range.begin; oh < oh_range.end; ++oh)
      for (int64_t ow = ow_range.begin; ow < ow_range.end; ++ow) {
        const int64_t o = (p * s.OH + oh) * s.OW + ow;
        if (indices[o] == me) sum += double(grad_y[o]);
      }
    grad_x[i] = T(sum);
  }
}

/// count_include_pad ? the padded window's area : the clipped window's area.
__device__ __forceinline__ int64_t avg_divisor(const pool::AvgWindow& wh, const pool::AvgWindow& ww,
                                               bool count_include_pad) {
  if (count_include_pad) return wh.padded_length * ww.padded_length;
  return (wh.rows.end - wh.rows.begin) * (ww.rows.end - ww.rows.begin);
}

template <typename T>
__global__ void avg_pool2d_forward_kernel(const T* x, T* y, Planes s, PoolWindow k,
                                          bool count_include_pad) {
  const int64_t n = s.P * s.OH * s.OW;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t ow = i % s.OW, oh = i / s.OW % s.OH, p = i / (s.OW * s.OH);
    const T* plane = x + p * s.H * s.W;
    const pool::AvgWindow wh = pool::avg_window(oh, s.H, k.kernel_h, k.stride_h, k.pad_h);
    const pool::AvgWindow ww = pool::avg_window(ow, s.W, k.kernel_w, k.stride_w, k.pad_w);
    double sum = 0;
    for (int64_t h = wh.rows.begin; h < wh.rows.end; ++h)
      for (int64_t w = ww.rows.begin; w < ww.rows.end; ++w) sum += double(plane[h * s.W + w]);
    const int64_t divisor = avg_divisor(wh, ww, count_include_pad);
    y[i] = divisor > 0 ? T(sum / double(divisor)) : T(0);  // a window in the padding only: 0
  }
}

template <typename T>
__global__ void avg_pool2d_backward_kernel(const T* grad_y, T* grad_x, Planes s, PoolWindow k,
                                           bool count_include_pad) {
  const int64_t n = s.P * s.H * s.W;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t w = i % s.W, h = i / s.W % s.H, p = i / (s.W * s.H);
    const Range oh_range = pool::windows_holding(h, s.OH, k.kernel_h, k.stride_h, k.pad_h);
    const Range ow_range = pool::windows_holding(w, s.OW, k.kernel_w, k.stride_w, k.pad_w);
    double sum = 0;
    for (int64_t oh = oh_range.begin; oh < oh_range.end; ++oh) {
      const pool::AvgWindow wh = pool::avg_window(oh, s.H, k.kernel_h, k.stride_h, k.pad_h);
      for (int64_t ow = ow_range.begin; ow < ow_range.end; ++ow) {
        const pool::AvgWindow ww = pool::avg_window(ow, s.W, k.kernel_w, k.stride_w, k.pad_w);
        const int64_t divisor = avg_divisor(wh, ww, count_include_pad);
        sum += double(grad_y[(p * s.OH + oh) * s.OW + ow]) / double(divisor);
      }
    }
    grad_x[i] = T(sum);
  }
}

template <typename T>
__global__ void upsample_nearest2d_forward_kernel(const T* x, T* y, Planes s, double scale_h,
                                                  double scale_w) {
  const int64_t n = s.P * s.OH * s.OW;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t ow = i % s.OW, oh = i / s.OW % s.OH, p = i / (s.OW * s.OH);
    const int64_t h = pool::nearest_source(oh, s.H, s.OH, scale_h);
    const int64_t w = pool::nearest_source(ow, s.W, s.OW, scale_w);
    y[i] = x[(p * s.H + h) * s.W + w];
  }
}

template <typename T>
__global__ void upsample_nearest2d_backward_kernel(const T* grad_y, T* grad_x, Planes s,
                                                   double scale_h, double scale_w) {
  const int64_t n = s.P * s.H * s.W;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t w = i % s.W, h = i / s.W % s.H, p = i / (s.W * s.H);
    const Range oh_range = pool::nearest_readers(h, s.H, s.OH, scale_h);
    const Range ow_range = pool::nearest_readers(w, s.W, s.OW, scale_w);
    double sum = 0;
    for (int64_t oh = oh_range.begin; oh < oh_range.end; ++oh)
      for (int64_t ow = ow_range.begin; ow < ow_range.end; ++ow)
        sum += double(grad_y[(p * s.OH + oh) * s.OW + ow]);
    grad_x[i] = T(sum);
  }
}

template <typename T>
__global__ void upsample_bilinear2d_forward_kernel(const T* x, T* y, Planes s, bool align_corners,
                                                   T ratio_h, T ratio_w) {
  const int64_t n = s.P * s.OH * s.OW;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t ow = i % s.OW, oh = i / s.OW % s.OH, p = i / (s.OW * s.OH);
    const pool::Blend<T> bh = pool::bilinear_source<T>(oh, s.H, s.OH, ratio_h, align_corners);
    const pool::Blend<T> bw = pool::bilinear_source<T>(ow, s.W, s.OW, ratio_w, align_corners);
    const T* r0 = x + (p * s.H + bh.i0) * s.W;
    const T* r1 = x + (p * s.H + bh.i1) * s.W;
    y[i] = bh.w0 * (bw.w0 * r0[bw.i0] + bw.w1 * r0[bw.i1]) +
           bh.w1 * (bw.w0 * r1[bw.i0] + bw.w1 * r1[bw.i1]);
  }
}

template <typename T>
__global__ void upsample_bilinear2d_backward_kernel(const T* grad_y, T* grad_x, Planes s,
                                                    bool align_corners, T ratio_h, T ratio_w) {
  const int64_t n = s.P * s.H * s.W;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t w = i % s.W, h = i / s.W % s.H, p = i / (s.W * s.H);
    const Range oh_range = pool::bilinear_readers<T>(h, s.H, s.OH, ratio_h, align_corners);
    const Range ow_range = pool::bilinear_readers<T>(w, s.W, s.OW, ratio_w, align_corners);
    double sum = 0;
    for (int64_t oh = oh_range.begin; oh < oh_range.end; ++oh) {
      const double wh = pool::bilinear_weight(
          h, pool::bilinear_source<T>(oh, s.H, s.OH, ratio_h, align_corners));
      double along_w = 0;
      for (int64_t ow = ow_range.begin; ow < ow_range.end; ++ow) {
        const double ww = pool::bilinear_weight(
            w, pool::bilinear_source<T>(ow, s.W, s.OW, ratio_w, align_corners));
        along_w += ww * double(grad_y[(p * s.OH + oh) * s.OW + ow]);
      }
      sum += wh * along_w;
    }
    grad_x[i] = T(sum);
  }
}

}  // namespace

void max_pool2d_forward(const View& x, const PoolWindow& window, const View& y,
                        const View& indices) {
  if (y.numel() == 0) return;
  DeviceGuard guard(x.device().index);
  dispatch_floating("max_pool2d", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_pool2d_forward_kernel<T><<<blocks_for(y.numel()), kThreads, 0, stream_of(x)>>>(
        x.data<T>(), y.data<T>(), indices.data<int64_t>(), planes_of(x, y), window);
    NOVA_CUDA_LAUNCH_CHECK("max_pool2d");
  });
}

void max_pool2d_backward(const View& grad_y, const View& indices, const PoolWindow& window,
                         const View& grad_x) {
  if (grad_x.numel() == 0) return;
  DeviceGuard guard(grad_x.device().index);
  dispatch_floating("max_pool2d_backward", grad_y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_pool2d_backward_kernel<T><<<blocks_for(grad_x.numel()), kThreads, 0, stream_of(grad_x)>>>(
        grad_y.data<T>(), indices.data<int64_t>(), grad_x.data<T>(), planes_of(grad_x, grad_y),
        window);
    NOVA_CUDA_LAUNCH_CHECK("max_pool2d_backward");
  });
}

void avg_pool2d_forward(const View& x, const PoolWindow& window, bool count_include_pad,
                        const View& y) {
  if (y.numel() == 0) return;
  DeviceGuard guard(x.device().index);
  dispatch_floating("avg_pool2d", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_pool2d_forward_kernel<T><<<blocks_for(y.numel()), kThreads, 0, stream_of(x)>>>(
        x.data<T>(), y.data<T>(), planes_of(x, y), window, count_include_pad);
    NOVA_CUDA_LAUNCH_CHECK("avg_pool2d");
  });
}

void avg_pool2d_backward(const View& grad_y, const PoolWindow& window, bool count_include_pad,
                         const View& grad_x) {
  if (grad_x.numel() == 0) return;
  DeviceGuard guard(grad_x.device().index);
  dispatch_floating("avg_pool2d_backward", grad_y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_pool2d_backward_kernel<T><<<blocks_for(grad_x.numel()), kThreads, 0, stream_of(grad_x)>>>(
        grad_y.data<T>(), grad_x.data<T>(), planes_of(grad_x, grad_y), window, count_include_pad);
    NOVA_CUDA_LAUNCH_CHECK("avg_pool2d_backward");
  });
}

void upsample_nearest2d_forward(const View& x, double scale_h, double scale_w, const View& y) {
  if (y.numel() == 0) return;
  DeviceGuard guard(x.device().index);
  dispatch_floating("upsample_nearest2d", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    upsample_nearest2d_forward_kernel<T><<<blocks_for(y.numel()), kThreads, 0, stream_of(x)>>>(
        x.data<T>(), y.data<T>(), planes_of(x, y), scale_h, scale_w);
    NOVA_CUDA_LAUNCH_CHECK("upsample_nearest2d");
  });
}

void upsample_nearest2d_backward(const View& grad_y, double scale_h, double scale_w,
                                 const View& grad_x) {
  if (grad_x.numel() == 0) return;
  DeviceGuard guard(grad_x.device().index);
  dispatch_floating("upsample_nearest2d_backward", grad_y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    upsample_nearest2d_backward_kernel<T>
        <<<blocks_for(grad_x.numel()), kThreads, 0, stream_of(grad_x)>>>(
            grad_y.data<T>(), grad_x.data<T>(), planes_of(grad_x, grad_y), scale_h, scale_w);
    NOVA_CUDA_LAUNCH_CHECK("upsample_nearest2d_backward");
  });
}

void upsample_bilinear2d_forward(const View& x, bool align_corners, double scale_h,
                                 double scale_w, const View& y) {
  if (y.numel() == 0) return;
  DeviceGuard guard(x.device().index);
  dispatch_floating("upsample_bilinear2d", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Planes s = planes_of(x, y);
    const T ratio_h = pool::bilinear_ratio<T>(s.H, s.OH, align_corners, scale_h);
    const T ratio_w = pool::bilinear_ratio<T>(s.W, s.OW, align_corners, scale_w);
    upsample_bilinear2d_forward_kernel<T><<<blocks_for(y.numel()), kThreads, 0, stream_of(x)>>>(
        x.data<T>(), y.data<T>(), s, align_corners, ratio_h, ratio_w);
    NOVA_CUDA_LAUNCH_CHECK("upsample_bilinear2d");
  });
}

void upsample_bilinear2d_backward(const View& grad_y, bool align_corners, double scale_h,
                                  double scale_w, const View& grad_x) {
  if (grad_x.numel() == 0) return;
  DeviceGuard guard(grad_x.device().index);
  dispatch_floating("upsample_bilinear2d_backward", grad_y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Planes s = planes_of(grad_x, grad_y);
    const T ratio_h = pool::bilinear_ratio<T>(s.H, s.OH, align_corners, scale_h);
    const T ratio_w = pool::bilinear_ratio<T>(s.W, s.OW, align_corners, scale_w);
    upsample_bilinear2d_backward_kernel<T>
        <<<blocks_for(grad_x.numel()), kThreads, 0, stream_of(grad_x)>>>(
            grad_y.data<T>(), grad_x.data<T>(), s, align_corners, ratio_h, ratio_w);
    NOVA_CUDA_LAUNCH_CHECK("upsample_bilinear2d_backward");
  });
}

}  // namespace nova::cuda
