// kernels/cuda/symconv.cu: SCNN's symmetric convolutions on the GPU (see
// kernels/symconv.h for the formulas and the packed layout), float32 and
// float64. v1: direct ports of the formulas, one thread per output element,
// each a gather (no atomics, so results are deterministic):
//   forward          (n, f, t')  sum over pairs l, channels k of R * col
//   backward_data    (n, k, t)   sum over the outputs whose taps read
//                                packed entry t (its one or two positions)
//   backward_filter  (l, k, f)   sum over images and outputs of grad_y * col
// The generating kernels likewise, with the row and column terms of
// kernels/symconv.h. At SCosRec's sizes (L 5, C 1 or 3) each thread's loops
// are short; a tiled version would follow the CPU's folded-column GEMM.
// No workspace.
#include "kernels/symconv.h"

#include <cuda_runtime.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"

namespace nova::cuda {

namespace {

/// (i, j), i >= j, of packed entry t.
__device__ void untri(int64_t t, int64_t* i, int64_t* j) {
  int64_t r = int64_t((sqrt(8.0 * double(t) + 1.0) - 1.0) / 2.0);
  while (r * (r + 1) / 2 > t) --r;
  while ((r + 1) * (r + 2) / 2 <= t) ++r;
  *i = r;
  *j = t - r * (r + 1) / 2;
}

/// For x [N, L, n]: the row of position i, or null in the padding.
template <typename T>
__device__ const T* seq_row(const SymConvGeometry& g, const T* x, int64_t n, int64_t i) {
  return i < 0 || i >= g.L ? nullptr : x + (n * g.L + i) * g.Cin;
}

// ---- symmetry-preserving ----

template <typename T>
__global__ void preserving_forward_kernel(SymConvGeometry g, const T* x, const T* r, const T* bias, T* y) {
  const int64_t T_in = g.in_entries(), T_out = g.out_entries(), total = g.N * g.F * T_out;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t t = e % T_out, f = (e / T_out) % g.F, n = e / (T_out * g.F);
    int64_t p, q;
    untri(t, &p, &q);
    T acc = bias ? bias[f] : T(0);
    for (int64_t l = 0; l < g.pairs(); ++l) {
      int64_t a, b;
      sym_pair_taps(l, &a, &b);
      const int64_t e1 = g.entry_or_pad(p + a - g.pad, q + b - g.pad);
      const int64_t e2 = a == b ? -1 : g.entry_or_pad(p + b - g.pad, q + a - g.pad);
      for (int64_t k = 0; k < g.Cin; ++k) {
        const T* xk = x + (n * g.Cin + k) * T_in;
        const T col = (e1 >= 0 ? xk[e1] : T(0)) + (e2 >= 0 ? xk[e2] : T(0));
        acc += r[(l * g.Cin + k) * g.F + f] * col;
      }
    }
    y[e] = acc;
  }
}

template <typename T>
__global__ void preserving_backward_data_kernel(SymConvGeometry g, const T* gy, const T* r, T* gx) {
  const int64_t T_in = g.in_entries(), T_out = g.out_entries(), total = g.N * g.Cin * T_in;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t t = e % T_in, k = (e / T_in) % g.Cin, n = e / (T_in * g.Cin);
    int64_t i, j;
    untri(t, &i, &j);
    T acc = T(0);
    // the entry is the map at (i, j) and at (j, i): every tap reading either
    for (int side = 0; side < (i == j ? 1 : 2); ++side) {
      const int64_t u0 = side == 0 ? i : j, u1 = side == 0 ? j : i;
      for (int64_t a = 0; a < g.C; ++a)
        for (int64_t b = 0; b < g.C; ++b) {
          const int64_t p = u0 - a + g.pad, q = u1 - b + g.pad;
          if (p < 0 || q < 0 || p >= g.Lout || q > p) continue;  // lower-triangle outputs only
          const T* rk = r + (sym_tri(a, b) * g.Cin + k) * g.F;
          const T* gp = gy + n * g.F * T_out + sym_tri(p, q);
          for (int64_t f = 0; f < g.F; ++f) acc += rk[f] * gp[f * T_out];
        }
    }
    gx[e] = acc;
  }
}

template <typename T>
__global__ void preserving_backward_filter_kernel(SymConvGeometry g, const T* x, const T* gy, T* gr) {
  const int64_t T_in = g.in_entries(), T_out = g.out_entries(), total = g.pairs() * g.Cin * g.F;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t f = e % g.F, k = (e / g.F) % g.Cin, l = e / (g.F * g.Cin);
    int64_t a, b;
    sym_pair_taps(l, &a, &b);
    T acc = T(0);
    for (int64_t n = 0; n < g.N; ++n) {
      const T* xk = x + (n * g.Cin + k) * T_in;
      const T* gf = gy + (n * g.F + f) * T_out;
      for (int64_t p = 0; p < g.Lout; ++p)
        for (int64_t q = 0; q <= p; ++q) {
          const int64_t e1 = g.entry_or_pad(p + a - g.pad, q + b - g.pad);
          const int64_t e2 = a == b ? -1 : g.entry_or_pad(p + b - g.pad, q + a - g.pad);
          const T col = (e1 >= 0 ? xk[e1] : T(0)) + (e2 >= 0 ? xk[e2] : T(0));
          acc += gf[sym_tri(p, q)] * col;
        }
    }
    gr[e] = acc;
  }
}

// ---- symmetry-generating ----

template <typename T>
__global__ void generating_forward_kernel(SymConvGeometry g, const T* x, const T* s, const T* bias, T* y) {
  const int64_t T_out = g.out_entries(), total = g.N * g.F * T_out;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t t = e % T_out, f = (e / T_out) % g.F, n = e / (T_out * g.F);
    int64_t p, q;
    untri(t, &p, &q);
    T acc = bias ? bias[f] : T(0);
    for (int64_t a = 0; a < g.C; ++a)
      for (int64_t b = 0; b < g.C; ++b) {
        const T* xi = seq_row(g, x, n, p + a - g.pad);
        const T* xj = seq_row(g, x, n, q + b - g.pad);
        if (!xi || !xj) continue;  // the tap lies in the product's padding
        const T* sl = s + sym_tri(a, b) * g.Cin * g.F + f;
        for (int64_t k = 0; k < g.Cin; ++k) acc += sl[k * g.F] * (xi[k] + xj[k]);
      }
    y[e] = acc;
  }
}

template <typename T>
__global__ void generating_backward_data_kernel(SymConvGeometry g, const T* gy, const T* s, T* gx) {
  const int64_t T_out = g.out_entries(), total = g.N * g.L * g.Cin;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t k = e % g.Cin, i = (e / g.Cin) % g.L, n = e / (g.Cin * g.L);
    const T* gn = gy + n * g.F * T_out;
    T acc = T(0);
    for (int64_t a = 0; a < g.C; ++a)
      for (int64_t b = 0; b < g.C; ++b) {
        const T* sk = s + (sym_tri(a, b) * g.Cin + k) * g.F;
        // row term: outputs (p, q) with p + a - pad == i, column q + b - pad inside
        const int64_t p = i - a + g.pad;
        if (p >= 0 && p < g.Lout)
          for (int64_t q = 0; q <= p; ++q) {
            const int64_t j = q + b - g.pad;
            if (j < 0 || j >= g.L) continue;
            for (int64_t f = 0; f < g.F; ++f) acc += sk[f] * gn[f * T_out + sym_tri(p, q)];
          }
        // column term: outputs (p, q) with q + b - pad == i, row p + a - pad inside
        const int64_t q = i - b + g.pad;
        if (q >= 0 && q < g.Lout)
          for (int64_t p2 = q; p2 < g.Lout; ++p2) {
            const int64_t i2 = p2 + a - g.pad;
            if (i2 < 0 || i2 >= g.L) continue;
            for (int64_t f = 0; f < g.F; ++f) acc += sk[f] * gn[f * T_out + sym_tri(p2, q)];
          }
      }
    gx[e] = acc;
  }
}

template <typename T>
__global__ void generating_backward_filter_kernel(SymConvGeometry g, const T* x, const T* gy, T* gs) {
  const int64_t T_out = g.out_entries(), total = g.pairs() * g.Cin * g.F;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t f = e % g.F, k = (e / g.F) % g.Cin, l = e / (g.F * g.Cin);
    int64_t a0, b0;
    sym_pair_taps(l, &a0, &b0);
    T acc = T(0);
    for (int64_t n = 0; n < g.N; ++n) {
      const T* gf = gy + (n * g.F + f) * T_out;
      for (int64_t p = 0; p < g.Lout; ++p)
        for (int64_t q = 0; q <= p; ++q)
          for (int side = 0; side < (a0 == b0 ? 1 : 2); ++side) {  // taps (a0, b0) and (b0, a0)
            const int64_t a = side == 0 ? a0 : b0, b = side == 0 ? b0 : a0;
            const T* xi = seq_row(g, x, n, p + a - g.pad);
            const T* xj = seq_row(g, x, n, q + b - g.pad);
            if (!xi || !xj) continue;
            acc += gf[sym_tri(p, q)] * (xi[k] + xj[k]);
          }
    }
    gs[e] = acc;
  }
}

/// Launches kernel over `work` elements on v's device and stream.
template <typename Launch>
void launch(const char* op, const View& v, int64_t work, Launch&& body) {
  if (work == 0) return;
  DeviceGuard guard(v.device().index);
  dispatch_floating(op, v.dtype(), [&](auto tag) { body(tag, blocks_for(work), stream_of(v)); });
  NOVA_CUDA_LAUNCH_CHECK(op);
}

}  // namespace

int64_t sym_preserving_conv2d_workspace(const SymConvGeometry&, SymConvPass) { return 0; }
int64_t sym_generating_conv2d_workspace(const SymConvGeometry&, SymConvPass) { return 0; }

void sym_preserving_conv2d_forward(const SymConvGeometry& g, const View& x, const View& r, const View& bias,
                                   const View& y, const View&) {
  launch("sym_preserving_conv2d", x, y.numel(), [&](auto tag, int blocks, cudaStream_t st) {
    using T = decltype(tag);
    preserving_forward_kernel<T><<<blocks, kThreads, 0, st>>>(g, x.data<T>(), r.data<T>(),
                                                               bias.data_or_null<T>(), y.data<T>());
  });
}

void sym_preserving_conv2d_backward_data(const SymConvGeometry& g, const View& grad_y, const View& r,
                                         const View& grad_x, const View&) {
  launch("sym_preserving_conv2d_backward_data", grad_y, grad_x.numel(), [&](auto tag, int blocks, cudaStream_t st) {
    using T = decltype(tag);
    preserving_backward_data_kernel<T><<<blocks, kThreads, 0, st>>>(g, grad_y.data<T>(), r.data<T>(),
                                                                     grad_x.data<T>());
  });
}

void sym_preserving_conv2d_backward_filter(const SymConvGeometry& g, const View& x, const View& grad_y,
                                           const View& grad_r, const View&) {
  launch("sym_preserving_conv2d_backward_filter", x, grad_r.numel(), [&](auto tag, int blocks, cudaStream_t st) {
    using T = decltype(tag);
    preserving_backward_filter_kernel<T><<<blocks, kThreads, 0, st>>>(g, x.data<T>(), grad_y.data<T>(),
                                                                       grad_r.data<T>());
  });
}

void sym_generating_conv2d_forward(const SymConvGeometry& g, const View& x, const View& s, const View& bias,
                                   const View& y, const View&) {
  launch("sym_generating_conv2d", x, y.numel(), [&](auto tag, int blocks, cudaStream_t st) {
    using T = decltype(tag);
    generating_forward_kernel<T><<<blocks, kThreads, 0, st>>>(g, x.data<T>(), s.data<T>(),
                                                               bias.data_or_null<T>(), y.data<T>());
  });
}

void sym_generating_conv2d_backward_data(const SymConvGeometry& g, const View& grad_y, const View& s,
                                         const View& grad_x, const View&) {
  launch("sym_generating_conv2d_backward_data", grad_y, grad_x.numel(), [&](auto tag, int blocks, cudaStream_t st) {
    using T = decltype(tag);
    generating_backward_data_kernel<T><<<blocks, kThreads, 0, st>>>(g, grad_y.data<T>(), s.data<T>(),
                                                                     grad_x.data<T>());
  });
}

void sym_generating_conv2d_backward_filter(const SymConvGeometry& g, const View& x, const View& grad_y,
                                           const View& grad_s, const View&) {
  launch("sym_generating_conv2d_backward_filter", x, grad_s.numel(), [&](auto tag, int blocks, cudaStream_t st) {
    using T = decltype(tag);
    generating_backward_filter_kernel<T><<<blocks, kThreads, 0, st>>>(g, x.data<T>(), grad_y.data<T>(),
                                                                       grad_s.data<T>());
  });
}

}  // namespace nova::cuda
