// kernels/cpu/conv.cpp: 2-D convolution on the CPU (see kernels/conv.h) as
// im2col + GEMM, per image n and group g (Cg = C/groups, Kg = K/groups,
// CRS = Cg*R*S, PQ = P*Q):
//   columns [CRS, PQ]   = im2col(x[n, group g])        (x itself when 1x1)
//   forward         y[n, g]  [Kg, PQ]  = w_g [Kg, CRS] @ columns  (+ bias)
//   backward_data   columns  [CRS, PQ] = w_g^T @ grad_y[n, g], col2im-added
//                   into grad_x[n, g]  (written straight into grad_x when 1x1)
//   backward_filter grad_w_g [Kg, CRS] += grad_y[n, g] @ columns^T
// The batch is split into one contiguous range of images per thread, each
// with its own column buffer in the workspace (and, for backward_filter, its
// own partial grad_w, summed in thread order at the end: deterministic for a
// given thread count). Threads only above kParallelWork multiply-adds and
// with more than one image, below that the fork/join costs more than it saves.
// Each GEMM is kernels/cpu/gemm.h's, run single-threaded inside the region.
#include "kernels/conv.h"

#include <omp.h>

#include <algorithm>

#include "kernels/cpu/gemm.h"

namespace nova::cpu {

namespace {

constexpr int64_t kParallelWork = int64_t(1) << 20;

/// Threads the kernels (and so the workspace) use for geometry g.
int64_t conv_threads(const Conv2dGeometry& g) {
  const int64_t work = g.N * g.K * g.column_rows() * g.P * g.Q;
  if (g.N < 2 || work < kParallelWork) return 1;
  return std::min<int64_t>(omp_get_max_threads(), g.N);
}

/// Elements of one thread's column buffer (0 when the input is the columns).
int64_t column_elements(const Conv2dGeometry& g) {
  return g.is_pointwise() ? 0 : g.column_rows() * g.P * g.Q;
}

/// body(thread, n) for every image n, the batch cut into `threads` contiguous
/// ranges; thread t owns range t whatever the team OpenMP actually gives.
template <typename Body>
void for_each_image(int64_t N, int64_t threads, Body&& body) {
  if (threads <= 1) {
    for (int64_t n = 0; n < N; ++n) body(0, n);
    return;
  }
#pragma omp parallel num_threads(int(threads))
  {
    const int64_t team = omp_get_num_threads();
    for (int64_t t = omp_get_thread_num(); t < threads; t += team) {
      const int64_t begin = N * t / threads, end = N * (t + 1) / threads;
      for (int64_t n = begin; n < end; ++n) body(t, n);
    }
  }
}

/// The outputs o in [0, out) whose tap o * stride + offset lands inside
/// [0, in): [*lo, *hi). offset = r * dilation - padding.
void valid_range(int64_t out, int64_t in, int64_t stride, int64_t offset, int64_t* lo, int64_t* hi) {
  // o * stride + offset >= 0  <=>  o >= ceil(-offset / stride)
  int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  // o * stride + offset <= in - 1  <=>  o <= floor((in - 1 - offset) / stride)
  int64_t last = in - 1 - offset < 0 ? -1 : (in - 1 - offset) / stride;
  *lo = std::min(first, out);
  *hi = std::max(*lo, std::min(last + 1, out));
}

/// columns[(c*R + r)*S + s, p*Q + q] = x[c, p*sh - ph + r*dh, q*sw - pw + s*dw]
/// (0 outside), for x one image's group [Cg, H, W].
template <typename T>
void im2col(const Conv2dGeometry& g, const T* x, T* columns) {
  const int64_t Cg = g.group_channels(), P = g.P, Q = g.Q, H = g.H, W = g.W;
  for (int64_t c = 0; c < Cg; ++c) {
    for (int64_t r = 0; r < g.R; ++r) {
      int64_t p0, p1;
      valid_range(P, H, g.stride_h, r * g.dil_h - g.pad_h, &p0, &p1);
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t w_off = s * g.dil_w - g.pad_w;
        int64_t q0, q1;
        valid_range(Q, W, g.stride_w, w_off, &q0, &q1);
        T* row = columns + ((c * g.R + r) * g.S + s) * P * Q;
        std::fill(row, row + p0 * Q, T(0));
        for (int64_t p = p0; p < p1; ++p) {
          const T* xr = x + (c * H + p * g.stride_h - g.pad_h + r * g.dil_h) * W;
          T* out = row + p * Q;
          std::fill(out, out + q0, T(0));
          if (g.stride_w == 1) {
            std::copy(xr + q0 + w_off, xr + q1 + w_off, out + q0);
          } else {
            for (int64_t q = q0; q < q1; ++q) out[q] = xr[q * g.stride_w + w_off];
          }
          std::fill(out + q1, out + Q, T(0));
        }
        std::fill(row + p1 * Q, row + P * Q, T(0));
      }
    }
  }
}

/// The adjoint of im2col: x[c, ih, iw] += columns[...] for every tap that
/// read (ih, iw). x (one image's group [Cg, H, W]) must be zeroed first.
template <typename T>
void col2im_add(const Conv2dGeometry& g, const T* columns, T* x) {
  const int64_t Cg = g.group_channels(), P = g.P, Q = g.Q, H = g.H, W = g.W;
  for (int64_t c = 0; c < Cg; ++c) {
    for (int64_t r = 0; r < g.R; ++r) {
      int64_t p0, p1;
      valid_range(P, H, g.stride_h, r * g.dil_h - g.pad_h, &p0, &p1);
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t w_off = s * g.dil_w - g.pad_w;
        int64_t q0, q1;
        valid_range(Q, W, g.stride_w, w_off, &q0, &q1);
        const T* row = columns + ((c * g.R + r) * g.S + s) * P * Q;
        for (int64_t p = p0; p < p1; ++p) {
          T* xr = x + (c * H + p * g.stride_h - g.pad_h + r * g.dil_h) * W;
          const T* in = row + p * Q;
          for (int64_t q = q0; q < q1; ++q) xr[q * g.stride_w + w_off] += in[q];
        }
      }
    }
  }
}

template <typename T>
void forward_typed(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
                   const View& workspace) {
  const int64_t Cg = g.group_channels(), Kg = g.group_filters(), CRS = g.column_rows(), PQ = g.P * g.Q;
  const int64_t HW = g.H * g.W;
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pb = bias.data_or_null<T>();
  T* py = y.data<T>();
  T* ws = workspace.data_or_null<T>();
  const int64_t col_elems = column_elements(g);
  for_each_image(g.N, conv_threads(g), [&](int64_t t, int64_t n) {
    T* columns = ws + t * col_elems;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = px + (n * g.C + grp * Cg) * HW;
      T* yg = py + (n * g.K + grp * Kg) * PQ;
      const T* b = xg;  // the column block [CRS, PQ]
      if (!g.is_pointwise()) {
        im2col(g, xg, columns);
        b = columns;
      }
      gemm<T>(Kg, PQ, CRS, pw + grp * Kg * CRS, CRS, 1, b, PQ, 1, yg, PQ);
      if (pb)
        for (int64_t k = 0; k < Kg; ++k) {
          const T bk = pb[grp * Kg + k];
          for (T *v = yg + k * PQ, *end = v + PQ; v != end; ++v) *v += bk;
        }
    }
  });
}

template <typename T>
void backward_data_typed(const Conv2dGeometry& g, const View& grad_y, const View& w, const View& grad_x,
                         const View& workspace) {
  const int64_t Cg = g.group_channels(), Kg = g.group_filters(), CRS = g.column_rows(), PQ = g.P * g.Q;
  const int64_t HW = g.H * g.W;
  const T* pg = grad_y.data<T>();
  const T* pw = w.data<T>();
  T* px = grad_x.data<T>();
  T* ws = workspace.data_or_null<T>();
  const int64_t col_elems = column_elements(g);
  for_each_image(g.N, conv_threads(g), [&](int64_t t, int64_t n) {
    T* columns = ws + t * col_elems;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* gy = pg + (n * g.K + grp * Kg) * PQ;
      const T* wg = pw + grp * Kg * CRS;
      T* gx = px + (n * g.C + grp * Cg) * HW;
      // w_g^T [CRS, Kg] read in place through its strides (1, CRS)
      if (g.is_pointwise()) {
        gemm<T>(CRS, PQ, Kg, wg, 1, CRS, gy, PQ, 1, gx, PQ);
      } else {
        gemm<T>(CRS, PQ, Kg, wg, 1, CRS, gy, PQ, 1, columns, PQ);
        std::fill(gx, gx + Cg * HW, T(0));
        col2im_add(g, columns, gx);
      }
    }
  });
}

template <typename T>
void backward_filter_typed(const Conv2dGeometry& g, const View& x, const View& grad_y, const View& grad_w,
                           const View& workspace) {
  const int64_t Cg = g.group_channels(), Kg = g.group_filters(), CRS = g.column_rows(), PQ = g.P * g.Q;
  const int64_t HW = g.H * g.W;
  const T* px = x.data<T>();
  const T* pg = grad_y.data<T>();
  T* pw = grad_w.data<T>();
  const int64_t w_elems = g.K * CRS;
  if (w_elems == 0) return;
  T* ws = workspace.data<T>();
  const int64_t threads = conv_threads(g);
  const int64_t col_elems = column_elements(g);
  // per thread: columns, one group's product [Kg, CRS], the partial grad_w [K, CRS]
  const int64_t per_thread = col_elems + Kg * CRS + w_elems;
  for (int64_t t = 0; t < threads; ++t) {
    T* partial = ws + t * per_thread + col_elems + Kg * CRS;
    std::fill(partial, partial + w_elems, T(0));
  }
  for_each_image(g.N, threads, [&](int64_t t, int64_t n) {
    T* columns = ws + t * per_thread;
    T* product = columns + col_elems;
    T* partial = product + Kg * CRS;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = px + (n * g.C + grp * Cg) * HW;
      const T* gy = pg + (n * g.K + grp * Kg) * PQ;
      const T* b = xg;
      if (!g.is_pointwise()) {
        im2col(g, xg, columns);
        b = columns;
      }
      // grad_y[n, g] [Kg, PQ] @ columns^T [PQ, CRS] (strides (1, PQ): in place)
      gemm<T>(Kg, CRS, PQ, gy, PQ, 1, b, 1, PQ, product, CRS);
      T* acc = partial + grp * Kg * CRS;
      for (int64_t i = 0; i < Kg * CRS; ++i) acc[i] += product[i];
    }
  });
  const T* first = ws + col_elems + Kg * CRS;
  std::copy(first, first + w_elems, pw);
  for (int64_t t = 1; t < threads; ++t) {
    const T* partial = ws + t * per_thread + col_elems + Kg * CRS;
    for (int64_t i = 0; i < w_elems; ++i) pw[i] += partial[i];
  }
}

}  // namespace

int64_t conv2d_workspace(const Conv2dGeometry& g, ConvPass pass) {
  const int64_t threads = conv_threads(g);
  switch (pass) {
    case ConvPass::kForward:
    case ConvPass::kBackwardData: return threads * column_elements(g);
    case ConvPass::kBackwardFilter:
      return threads * (column_elements(g) + (g.group_filters() + g.K) * g.column_rows());
  }
  return 0;
}

void conv2d_forward(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
                    const View& workspace) {
  dispatch_floating("conv2d", x.dtype(), [&](auto tag) {
    forward_typed<decltype(tag)>(g, x, w, bias, y, workspace);
  });
}

void conv2d_backward_data(const Conv2dGeometry& g, const View& grad_y, const View& w, const View& grad_x,
                          const View& workspace) {
  dispatch_floating("conv2d_backward_data", grad_y.dtype(), [&](auto tag) {
    backward_data_typed<decltype(tag)>(g, grad_y, w, grad_x, workspace);
  });
}

void conv2d_backward_filter(const Conv2dGeometry& g, const View& x, const View& grad_y, const View& grad_w,
                            const View& workspace) {
  dispatch_floating("conv2d_backward_filter", x.dtype(), [&](auto tag) {
    backward_filter_typed<decltype(tag)>(g, x, grad_y, grad_w, workspace);
  });
}

}  // namespace nova::cpu
