// kernels/cpu/pool.cpp: max_pool2d, avg_pool2d and nearest / bilinear
// upsampling on the CPU (see kernels/pool.h), plain loops over planes
// [P, H, W] with the index formulas of kernels/pool_math.h.
//   forward   one output row (p, oh) per task: each output reads its window
//             or its source pixels;
//   backward  one grad_x row (p, h) per task, a gather: each element sums
//             the outputs that read it, in increasing (oh, ow) order, as the
//             CUDA kernels do, so both give the same bits.
// Sums accumulate in double (windows and upsampling runs are short, so it
// costs little and keeps float32 as exact as the float64 reference allows).
// Rows are shared across OpenMP threads only when the output (forward) or
// grad_x (backward) has at least kParallelGrain elements.
#include "kernels/pool.h"

#include <cmath>
#include <limits>

#include "kernels/cpu/loops.h"
#include "kernels/pool_math.h"

namespace nova::cpu {

namespace {

using pool::Range;

template <typename T>
void max_pool2d_forward_typed(const View& x, const PoolWindow& k, const View& y,
                              const View& indices) {
  const int64_t P = x.size(0), H = x.size(1), W = x.size(2);
  const int64_t OH = y.size(1), OW = y.size(2);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  int64_t* pi = indices.data<int64_t>();
  parallel_for(P * OH, y.numel() >= kParallelGrain, [&](int64_t row) {
    const int64_t p = row / OH, oh = row % OH;
    const T* plane = px + p * H * W;
    const Range rh = pool::max_window(oh, H, k.kernel_h, k.stride_h, k.pad_h, k.dilation_h);
    for (int64_t ow = 0; ow < OW; ++ow) {
      const Range rw = pool::max_window(ow, W, k.kernel_w, k.stride_w, k.pad_w, k.dilation_w);
      // strict >: the first maximum wins ties; a NaN is taken (and kept)
      int64_t best = rh.begin * W + rw.begin;
      T best_value = -std::numeric_limits<T>::infinity();
      for (int64_t h = rh.begin; h < rh.end; h += k.dilation_h)
        for (int64_t w = rw.begin; w < rw.end; w += k.dilation_w) {
          const T v = plane[h * W + w];
          if (v > best_value || std::isnan(v)) {
            best_value = v;
            best = h * W + w;
          }
        }
      py[row * OW + ow] = best_value;
      pi[row * OW + ow] = best;
    }
  });
}

template <typename T>
void max_pool2d_backward_typed(const View& grad_y, const View& indices, const PoolWindow& k,
                               const View& grad_x) {
  const int64_t P = grad_x.size(0), H = grad_x.size(1), W = grad_x.size(2);
  const int64_t OH = grad_y.size(1), OW = grad_y.size(2);
  const T* pg = grad_y.data<T>();
  const int64_t* pi = indices.data<int64_t>();
  T* pgx = grad_x.data<T>();
  const int64_t span_h = (k.kernel_h - 1) * k.dilation_h + 1;
  const int64_t span_w = (k.kernel_w - 1) * k.dilation_w + 1;
  parallel_for(P * H, grad_x.numel() >= kParallelGrain, [&](int64_t row) {
    const int64_t p = row / H, h = row % H;
    const Range oh_range = pool::windows_holding(h, OH, span_h, k.stride_h, k.pad_h);
    for (int64_t w = 0; w < W; ++w) {
      const Range ow_range = pool::windows_holding(w, OW, span_w, k.stride_w, k.pad_w);
      const int64_t me = h * W + w;
      double sum = 0;
      for (int64_t oh = oh_range.begin; oh < oh_range.end; ++oh)
        for (int64_t ow = ow_range.begin; ow < ow_range.end; ++ow) {
          const int64_t o = (p * OH + oh) * OW + ow;
          if (pi[o] == me) sum += double(pg[o]);
        }
      pgx[row * W + w] = T(sum);
    }
  });
}

/// count_include_pad ? the padded window's area : the clipped window's area.
inline int64_t avg_divisor(const pool::AvgWindow& wh, const pool::AvgWindow& ww,
                           bool count_include_pad) {
  if (count_include_pad) return wh.padded_length * ww.padded_length;
  return (wh.rows.end - wh.rows.begin) * (ww.rows.end - ww.rows.begin);
}

template <typename T>
void avg_pool2d_forward_typed(const View& x, const PoolWindow& k, bool count_include_pad,
                              const View& y) {
  const int64_t P = x.size(0), H = x.size(1), W = x.size(2);
  const int64_t OH = y.size(1), OW = y.size(2);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  parallel_for(P * OH, y.numel() >= kParallelGrain, [&](int64_t row) {
    const int64_t p = row / OH, oh = row % OH;
    const T* plane = px + p * H * W;
    const pool::AvgWindow wh = pool::avg_window(oh, H, k.kernel_h, k.stride_h, k.pad_h);
    for (int64_t ow = 0; ow < OW; ++ow) {
      const pool::AvgWindow ww = pool::avg_window(ow, W, k.kernel_w, k.stride_w, k.pad_w);
      double sum = 0;
      for (int64_t h = wh.rows.begin; h < wh.rows.end; ++h)
        for (int64_t w = ww.rows.begin; w < ww.rows.end; ++w) sum += double(plane[h * W + w]);
      const int64_t divisor = avg_divisor(wh, ww, count_include_pad);
      // a window inside the padding only (ceil_mode) sums nothing: 0, as PyTorch
      py[row * OW + ow] = divisor > 0 ? T(sum / double(divisor)) : T(0);
    }
  });
}

template <typename T>
void avg_pool2d_backward_typed(const View& grad_y, const PoolWindow& k, bool count_include_pad,
                               const View& grad_x) {
  const int64_t P = grad_x.size(0), H = grad_x.size(1), W = grad_x.size(2);
  const int64_t OH = grad_y.size(1), OW = grad_y.size(2);
  const T* pg = grad_y.data<T>();
  T* pgx = grad_x.data<T>();
  parallel_for(P * H, grad_x.numel() >= kParallelGrain, [&](int64_t row) {
    const int64_t p = row / H, h = row % H;
    const Range oh_range = pool::windows_holding(h, OH, k.kernel_h, k.stride_h, k.pad_h);
    for (int64_t w = 0; w < W; ++w) {
      const Range ow_range = pool::windows_holding(w, OW, k.kernel_w, k.stride_w, k.pad_w);
      double sum = 0;
      for (int64_t oh = oh_range.begin; oh < oh_range.end; ++oh) {
        const pool::AvgWindow wh = pool::avg_window(oh, H, k.kernel_h, k.stride_h, k.pad_h);
        for (int64_t ow = ow_range.begin; ow < ow_range.end; ++ow) {
          const pool::AvgWindow ww = pool::avg_window(ow, W, k.kernel_w, k.stride_w, k.pad_w);
          const int64_t divisor = avg_divisor(wh, ww, count_include_pad);
          sum += double(pg[(p * OH + oh) * OW + ow]) / double(divisor);
        }
      }
      pgx[row * W + w] = T(sum);
    }
  });
}

template <typename T>
void upsample_nearest2d_forward_typed(const View& x, double scale_h, double scale_w,
                                      const View& y) {
  const int64_t P = x.size(0), H = x.size(1), W = x.size(2);
  const int64_t OH = y.size(1), OW = y.size(2);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  parallel_for(P * OH, y.numel() >= kParallelGrain, [&](int64_t row) {
    const int64_t p = row / OH, oh = row % OH;
    const T* src = px + (p * H + pool::nearest_source(oh, H, OH, scale_h)) * W;
    for (int64_t ow = 0; ow < OW; ++ow)
      py[row * OW + ow] = src[pool::nearest_source(ow, W, OW, scale_w)];
  });
}

template <typename T>
void upsample_nearest2d_backward_typed(const View& grad_y, double scale_h, double scale_w,
                                       const View& grad_x) {
  const int64_t P = grad_x.size(0), H = grad_x.size(1), W = grad_x.size(2);
  const int64_t OH = grad_y.size(1), OW = grad_y.size(2);
  const T* pg = grad_y.data<T>();
  T* pgx = grad_x.data<T>();
  parallel_for(P * H, grad_x.numel() >= kParallelGrain, [&](int64_t row) {
    const int64_t p = row / H, h = row % H;
    const Range oh_range = pool::nearest_readers(h, H, OH, scale_h);
    for (int64_t w = 0; w < W; ++w) {
      const Range ow_range = pool::nearest_readers(w, W, OW, scale_w);
      double sum = 0;
      for (int64_t oh = oh_range.begin; oh < oh_range.end; ++oh)
        for (int64_t ow = ow_range.begin; ow < ow_range.end; ++ow)
          sum += double(pg[(p * OH + oh) * OW + ow]);
      pgx[row * W + w] = T(sum);
    }
  });
}

template <typename T>
void upsample_bilinear2d_forward_typed(const View& x, bool align_corners, double scale_h,
                                       double scale_w, const View& y) {
  const int64_t P = x.size(0), H = x.size(1), W = x.size(2);
  const int64_t OH = y.size(1), OW = y.size(2);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const T ratio_h = pool::bilinear_ratio<T>(H, OH, align_corners, scale_h);
  const T ratio_w = pool::bilinear_ratio<T>(W, OW, align_corners, scale_w);
  parallel_for(P * OH, y.numel() >= kParallelGrain, [&](int64_t row) {
    const int64_t p = row / OH, oh = row % OH;
    const pool::Blend<T> bh = pool::bilinear_source<T>(oh, H, OH, ratio_h, align_corners);
    const T* r0 = px + (p * H + bh.i0) * W;
    const T* r1 = px + (p * H + bh.i1) * W;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const pool::Blend<T> bw = pool::bilinear_source<T>(ow, W, OW, ratio_w, align_corners);
      py[row * OW + ow] = bh.w0 * (bw.w0 * r0[bw.i0] + bw.w1 * r0[bw.i1]) +
                          bh.w1 * (bw.w0 * r1[bw.i0] + bw.w1 * r1[bw.i1]);
    }
  });
}

template <typename T>
void upsample_bilinear2d_backward_typed(const View& grad_y, bool align_corners, double scale_h,
                                        double scale_w, const View& grad_x) {
  const int64_t P = grad_x.size(0), H = grad_x.size(1), W = grad_x.size(2);
  const int64_t OH = grad_y.size(1), OW = grad_y.size(2);
  const T* pg = grad_y.data<T>();
  T* pgx = grad_x.data<T>();
  const T ratio_h = pool::bilinear_ratio<T>(H, OH, align_corners, scale_h);
  const T ratio_w = pool::bilinear_ratio<T>(W, OW, align_corners, scale_w);
  parallel_for(P * H, grad_x.numel() >= kParallelGrain, [&](int64_t row) {
    const int64_t p = row / H, h = row % H;
    const Range oh_range = pool::bilinear_readers<T>(h, H, OH, ratio_h, align_corners);
    for (int64_t w = 0; w < W; ++w) {
      const Range ow_range = pool::bilinear_readers<T>(w, W, OW, ratio_w, align_corners);
      double sum = 0;
      for (int64_t oh = oh_range.begin; oh < oh_range.end; ++oh) {
        const double wh = pool::bilinear_weight(
            h, pool::bilinear_source<T>(oh, H, OH, ratio_h, align_corners));
        double along_w = 0;
        for (int64_t ow = ow_range.begin; ow < ow_range.end; ++ow) {
          const double ww = pool::bilinear_weight(
              w, pool::bilinear_source<T>(ow, W, OW, ratio_w, align_corners));
          along_w += ww * double(pg[(p * OH + oh) * OW + ow]);
        }
        sum += wh * along_w;
      }
      pgx[row * W + w] = T(sum);
    }
  });
}

}  // namespace

void max_pool2d_forward(const View& x, const PoolWindow& window, const View& y,
                        const View& indices) {
  dispatch_floating("max_pool2d", x.dtype(), [&](auto tag) {
    max_pool2d_forward_typed<decltype(tag)>(x, window, y, indices);
  });
}

void max_pool2d_backward(const View& grad_y, const View& indices, const PoolWindow& window,
                         const View& grad_x) {
  dispatch_floating("max_pool2d_backward", grad_y.dtype(), [&](auto tag) {
    max_pool2d_backward_typed<decltype(tag)>(grad_y, indices, window, grad_x);
  });
}

void avg_pool2d_forward(const View& x, const PoolWindow& window, bool count_include_pad,
                        const View& y) {
  dispatch_floating("avg_pool2d", x.dtype(), [&](auto tag) {
    avg_pool2d_forward_typed<decltype(tag)>(x, window, count_include_pad, y);
  });
}

void avg_pool2d_backward(const View& grad_y, const PoolWindow& window, bool count_include_pad,
                         const View& grad_x) {
  dispatch_floating("avg_pool2d_backward", grad_y.dtype(), [&](auto tag) {
    avg_pool2d_backward_typed<decltype(tag)>(grad_y, window, count_include_pad, grad_x);
  });
}

void upsample_nearest2d_forward(const View& x, double scale_h, double scale_w, const View& y) {
  dispatch_floating("upsample_nearest2d", x.dtype(), [&](auto tag) {
    upsample_nearest2d_forward_typed<decltype(tag)>(x, scale_h, scale_w, y);
  });
}

void upsample_nearest2d_backward(const View& grad_y, double scale_h, double scale_w,
                                 const View& grad_x) {
  dispatch_floating("upsample_nearest2d_backward", grad_y.dtype(), [&](auto tag) {
    upsample_nearest2d_backward_typed<decltype(tag)>(grad_y, scale_h, scale_w, grad_x);
  });
}

void upsample_bilinear2d_forward(const View& x, bool align_corners, double scale_h,
                                 double scale_w, const View& y) {
  dispatch_floating("upsample_bilinear2d", x.dtype(), [&](auto tag) {
    upsample_bilinear2d_forward_typed<decltype(tag)>(x, align_corners, scale_h, scale_w, y);
  });
}

void upsample_bilinear2d_backward(const View& grad_y, bool align_corners, double scale_h,
                                  double scale_w, const View& grad_x) {
  dispatch_floating("upsample_bilinear2d_backward", grad_y.dtype(), [&](auto tag) {
    upsample_bilinear2d_backward_typed<decltype(tag)>(grad_y, align_corners, scale_h, scale_w,
                                                      grad_x);
  });
}

}  // namespace nova::cpu
