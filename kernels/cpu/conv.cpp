// kernels/cpu/conv.cpp: 2-D convolution on the CPU (see kernels/conv.h) as
// im2col + GEMM, per chunk of nb consecutive images and group g (Cg = C/groups,
// Kg = K/groups, CRS = Cg*R*S, PQ = P*Q, L = nb*PQ):
//   columns [CRS, L]    = im2col(x[n .. n+nb, group g]), image i at column i*PQ
//   forward         out [Kg, L]  = w_g [Kg, CRS] @ columns  (+ bias), scattered
//                   to y[n+i, g]   (x itself / y itself when nb = 1 and 1x1),
//                   then the fused activation (ConvEpilogue) on each row of
//                   the chunk while it is in cache
//   backward_data   columns  [CRS, L] = w_g^T @ gathered grad_y[n .. n+nb, g],
//                   col2im-added into grad_x[n+i, g]
//   backward_filter grad_w_g [Kg, CRS] += gathered grad_y [Kg, L] @ columns^T
// Chunking the images makes one wide GEMM out of many narrow ones at the
// small-spatial layers (a DCGAN's 8x8 and 4x4 maps: PQ = 64, 16), where a GEMM
// per image spends more on OpenBLAS's packing of the weight than on the
// product; nb is chosen so that L reaches kChunkColumns.
// The batch is split into one contiguous range of images per thread, each
// with its own buffers in the workspace (and, for backward_filter, its own
// partial grad_w, summed in thread order at the end: deterministic for a
// given thread count). Threads only above kParallelWork multiply-adds and
// with more than one image, below that the fork/join costs more than it saves.
// Each GEMM is kernels/cpu/gemm.h's, run single-threaded inside the region.
#include "kernels/conv.h"

#include <omp.h>

#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/image_chunks.h"

namespace nova::cpu {

namespace {

constexpr int64_t kParallelWork = int64_t(1) << 20;
// 256 columns: measured against 64 and 1024 at the DCGAN shapes (1 thread)
constexpr int64_t kChunkColumns = 256;

/// Threads the kernels (and so the workspace) use for geometry g.
int64_t conv_threads(const Conv2dGeometry& g) {
  const int64_t work = g.N * g.K * g.column_rows() * g.P * g.Q;
  if (g.N < 2 || work < kParallelWork) return 1;
  return std::min<int64_t>(omp_get_max_threads(), g.N);
}

/// Images per chunk: enough for kChunkColumns columns, at most one thread's share.
int64_t chunk_images(const Conv2dGeometry& g) {
  const int64_t PQ = std::max<int64_t>(g.P * g.Q, 1);
  const int64_t share = (g.N + conv_threads(g) - 1) / conv_threads(g);
  return std::max<int64_t>(1, std::min((kChunkColumns + PQ - 1) / PQ, share));
}

/// Elements of one thread's column buffer (0 when the input is the columns).
int64_t column_elements(const Conv2dGeometry& g) {
  const int64_t nb = chunk_images(g);
  return g.is_pointwise() && nb == 1 ? 0 : g.column_rows() * nb * g.P * g.Q;
}

/// Elements of one thread's [Kg, L] buffer (gathered grad_y or the product
/// before its scatter; none when a chunk is one image).
int64_t chunk_elements(const Conv2dGeometry& g) {
  const int64_t nb = chunk_images(g);
  return nb == 1 ? 0 : g.group_filters() * nb * g.P * g.Q;
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
/// (0 outside), for x one image's group [Cg, H, W]; column rows ld apart.
template <typename T>
void im2col(const Conv2dGeometry& g, const T* x, T* columns, int64_t ld) {
  const int64_t Cg = g.group_channels(), P = g.P, Q = g.Q, H = g.H, W = g.W;
  // stride 1 and output rows as wide as input rows: a tap's rows read one
  // contiguous run of x (the "same" 3x3 convolutions)
  const bool contiguous_rows = g.stride_h == 1 && g.stride_w == 1 && g.dil_h == 1 && g.dil_w == 1 && Q == W;
  for (int64_t c = 0; c < Cg; ++c) {
    for (int64_t r = 0; r < g.R; ++r) {
      int64_t p0, p1;
      valid_range(P, H, g.stride_h, r * g.dil_h - g.pad_h, &p0, &p1);
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t w_off = s * g.dil_w - g.pad_w;
        int64_t q0, q1;
        valid_range(Q, W, g.stride_w, w_off, &q0, &q1);
        T* row = columns + ((c * g.R + r) * g.S + s) * ld;
        std::fill(row, row + p0 * Q, T(0));
        std::fill(row + p1 * Q, row + P * Q, T(0));
        if (contiguous_rows) {
          // rows p0 .. p1 are one shifted run of channel c (clipped to it);
          // the taps that fall off a row's ends are zeroed after the copy
          const T* xc = x + c * H * W;
          const int64_t lo = (p0 - g.pad_h + r) * W + w_off, hi = lo + (p1 - p0) * Q;
          const int64_t from = std::max<int64_t>(lo, 0), to = std::min(hi, H * W);
          if (to > from) std::copy(xc + from, xc + to, row + p0 * Q + (from - lo));
          for (int64_t p = p0; p < p1; ++p) {
            for (int64_t q = 0; q < q0; ++q) row[p * Q + q] = T(0);
            for (int64_t q = q1; q < Q; ++q) row[p * Q + q] = T(0);
          }
          continue;
        }
        for (int64_t p = p0; p < p1; ++p) {
          const T* xr = x + (c * H + p * g.stride_h - g.pad_h + r * g.dil_h) * W;
          T* out = row + p * Q;
          for (int64_t q = 0; q < q0; ++q) out[q] = T(0);
          if (g.stride_w == 1) {
            for (int64_t q = q0; q < q1; ++q) out[q] = xr[q + w_off];
          } else if (g.stride_w == 2) {
            for (int64_t q = q0; q < q1; ++q) out[q] = xr[2 * q + w_off];
          } else {
            for (int64_t q = q0; q < q1; ++q) out[q] = xr[q * g.stride_w + w_off];
          }
          for (int64_t q = q1; q < Q; ++q) out[q] = T(0);
        }
      }
    }
  }
}

/// The adjoint of im2col: x[c, ih, iw] += columns[...] for every tap that
/// read (ih, iw). x (one image's group [Cg, H, W]) must be zeroed first.
template <typename T>
void col2im_add(const Conv2dGeometry& g, const T* columns, int64_t ld, T* x) {
  const int64_t Cg = g.group_channels(), P = g.P, Q = g.Q, H = g.H, W = g.W;
  for (int64_t c = 0; c < Cg; ++c) {
    for (int64_t r = 0; r < g.R; ++r) {
      int64_t p0, p1;
      valid_range(P, H, g.stride_h, r * g.dil_h - g.pad_h, &p0, &p1);
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t w_off = s * g.dil_w - g.pad_w;
        int64_t q0, q1;
        valid_range(Q, W, g.stride_w, w_off, &q0, &q1);
        const T* row = columns + ((c * g.R + r) * g.S + s) * ld;
        for (int64_t p = p0; p < p1; ++p) {
          T* xr = x + (c * H + p * g.stride_h - g.pad_h + r * g.dil_h) * W;
          const T* in = row + p * Q;
          if (g.stride_w == 1) {
            for (int64_t q = q0; q < q1; ++q) xr[q + w_off] += in[q];
          } else if (g.stride_w == 2) {
            for (int64_t q = q0; q < q1; ++q) xr[2 * q + w_off] += in[q];
          } else {
            for (int64_t q = q0; q < q1; ++q) xr[q * g.stride_w + w_off] += in[q];
          }
        }
      }
    }
  }
}

template <typename T>
void forward_typed(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
                   const View& workspace, const ConvEpilogue& epilogue) {
  const ConvEpilogue::Activation act = epilogue.activation;
  const T slope = T(epilogue.slope);  // rounded as ops::leaky_relu rounds its slope
  const int64_t Cg = g.group_channels(), Kg = g.group_filters(), CRS = g.column_rows(), PQ = g.P * g.Q;
  const int64_t HW = g.H * g.W;
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pb = bias.data_or_null<T>();
  T* py = y.data<T>();
  T* ws = workspace.data_or_null<T>();
  const int64_t col_elems = column_elements(g), per_thread = col_elems + chunk_elements(g);
  for_each_chunk(g.N, conv_threads(g), chunk_images(g), [&](int64_t t, int64_t n, int64_t nb) {
    T* columns = ws + t * per_thread;
    T* product = columns + col_elems;
    const int64_t L = nb * PQ;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = px + (n * g.C + grp * Cg) * HW;
      T* yg = py + (n * g.K + grp * Kg) * PQ;
      const T* b = xg;  // the column block [CRS, L]
      if (!(g.is_pointwise() && nb == 1)) {
        for (int64_t i = 0; i < nb; ++i) im2col(g, xg + i * g.C * HW, columns + i * PQ, L);
        b = columns;
      }
      T* out = nb == 1 ? yg : product;
      gemm<T>(Kg, L, CRS, pw + grp * Kg * CRS, CRS, 1, b, L, 1, out, L);
      for (int64_t i = 0; i < nb; ++i)
        for (int64_t k = 0; k < Kg; ++k) {
          const T bk = pb ? pb[grp * Kg + k] : T(0);
          const T* from = out + k * L + i * PQ;
          T* to = yg + (i * g.K + k) * PQ;
          if (nb == 1) {
            if (pb)
              for (int64_t j = 0; j < PQ; ++j) to[j] += bk;
          } else {
            for (int64_t j = 0; j < PQ; ++j) to[j] = from[j] + bk;
          }
          // the fused activation, on values that are exactly the unfused conv's
          if (act != ConvEpilogue::Activation::none)
            for (int64_t j = 0; j < PQ; ++j) to[j] = conv_activate(act, slope, to[j]);
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
  const int64_t col_elems = column_elements(g), per_thread = col_elems + chunk_elements(g);
  for_each_chunk(g.N, conv_threads(g), chunk_images(g), [&](int64_t t, int64_t n, int64_t nb) {
    T* columns = ws + t * per_thread;
    T* gathered = columns + col_elems;
    const int64_t L = nb * PQ;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* gy = pg + (n * g.K + grp * Kg) * PQ;
      const T* wg = pw + grp * Kg * CRS;
      T* gx = px + (n * g.C + grp * Cg) * HW;
      if (nb > 1) {
        gather_chunk(gy, nb, Kg, PQ, g.K * PQ, gathered);
        gy = gathered;
      }
      // w_g^T [CRS, Kg] read in place through its strides (1, CRS)
      if (g.is_pointwise() && nb == 1) {
        gemm<T>(CRS, PQ, Kg, wg, 1, CRS, gy, PQ, 1, gx, PQ);
      } else {
        gemm<T>(CRS, L, Kg, wg, 1, CRS, gy, L, 1, columns, L);
        for (int64_t i = 0; i < nb; ++i) {
          T* gxi = gx + i * g.C * HW;
          std::fill(gxi, gxi + Cg * HW, T(0));
          col2im_add(g, columns + i * PQ, L, gxi);
        }
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
  const int64_t col_elems = column_elements(g), chunk_elems = chunk_elements(g);
  // per thread: columns, gathered grad_y, one group's product [Kg, CRS], the partial grad_w [K, CRS]
  const int64_t per_thread = col_elems + chunk_elems + Kg * CRS + w_elems;
  const int64_t partial_at = col_elems + chunk_elems + Kg * CRS;
  for (int64_t t = 0; t < threads; ++t) {
    T* partial = ws + t * per_thread + partial_at;
    std::fill(partial, partial + w_elems, T(0));
  }
  for_each_chunk(g.N, threads, chunk_images(g), [&](int64_t t, int64_t n, int64_t nb) {
    T* columns = ws + t * per_thread;
    T* gathered = columns + col_elems;
    T* product = gathered + chunk_elems;
    T* partial = product + Kg * CRS;
    const int64_t L = nb * PQ;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = px + (n * g.C + grp * Cg) * HW;
      const T* gy = pg + (n * g.K + grp * Kg) * PQ;
      const T* b = xg;
      if (!(g.is_pointwise() && nb == 1)) {
        for (int64_t i = 0; i < nb; ++i) im2col(g, xg + i * g.C * HW, columns + i * PQ, L);
        b = columns;
      }
      if (nb > 1) {
        gather_chunk(gy, nb, Kg, PQ, g.K * PQ, gathered);
        gy = gathered;
      }
      // grad_y [Kg, L] @ columns^T [L, CRS] (strides (1, L): in place)
      gemm<T>(Kg, CRS, L, gy, L, 1, b, 1, L, product, CRS);
      T* acc = partial + grp * Kg * CRS;
      for (int64_t i = 0; i < Kg * CRS; ++i) acc[i] += product[i];
    }
  });
  const T* first = ws + partial_at;
  std::copy(first, first + w_elems, pw);
  for (int64_t t = 1; t < threads; ++t) {
    const T* partial = ws + t * per_thread + partial_at;
    for (int64_t i = 0; i < w_elems; ++i) pw[i] += partial[i];
  }
}

}  // namespace

int64_t conv2d_workspace(const Conv2dGeometry& g, ConvPass pass) {
  const int64_t threads = conv_threads(g);
  const int64_t per_thread = column_elements(g) + chunk_elements(g);
  switch (pass) {
    case ConvPass::kForward:
    case ConvPass::kBackwardData: return threads * per_thread;
    case ConvPass::kBackwardFilter: return threads * (per_thread + (g.group_filters() + g.K) * g.column_rows());
  }
  return 0;
}

void conv2d_forward(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
                    const View& workspace, const ConvEpilogue& epilogue) {
  dispatch_floating("conv2d", x.dtype(), [&](auto tag) {
    forward_typed<decltype(tag)>(g, x, w, bias, y, workspace, epilogue);
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
