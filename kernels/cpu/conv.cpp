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
// im2col and col2im go through a zero-padded copy of the image's group whose
// columns are split by phase (w mod stride_w): every (tap, output row) is
// then a run of Q consecutive elements, copied (im2col) or added (col2im)
// without bounds checks or strided access. The direct loops this replaced
// did per-element index math on rows of 4-16 elements at a DCGAN's stride-2
// layers; with the tap rows of common lengths as fixed-size copies
// (with_row_length), a DCGAN D's convolutions take 20-30% less time once the
// GEMMs use AVX-512 (bench/RESULTS.md, 2026-12-07). Pointwise layers copy
// channels straight into the columns. col2im adds
// into the copy tap by tap in (c, r, s) order onto zero, as the direct
// scatter did into grad_x, and then copies the image out: the same bits.
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
#include <cstring>
#include <type_traits>

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

/// The zero-padded, column-phase-split copy of one image's group [Cg, H, W]
/// (top comment): padded row hp = h + pad_h, padded column wp = w + pad_w
/// stored at ((c * Hp + hp) * phases + wp % phases) * Wph + wp / phases, with
/// phases = stride_w. Tap (r, s) of output (p, q) reads padded row
/// p * sh + r * dh, column q * sw + s * dw: phase (s * dw) % sw, index
/// q + (s * dw) / sw, so output row p of a tap is Q consecutive elements.
struct PaddedImage {
  int64_t Hp = 0, phases = 1, Wph = 0;

  explicit PaddedImage(const Conv2dGeometry& g) : phases(g.stride_w) {
    // tall and wide enough for the input and for every tap of every output
    Hp = std::max(g.H + g.pad_h, (g.P - 1) * g.stride_h + (g.R - 1) * g.dil_h + 1);
    const int64_t Wp = std::max(g.W + g.pad_w, (g.Q - 1) * g.stride_w + (g.S - 1) * g.dil_w + 1);
    Wph = (Wp + phases - 1) / phases;
  }
  int64_t elements(int64_t channels) const { return channels * Hp * phases * Wph; }
  /// Start of padded row hp of channel c (its phase 0).
  int64_t row(int64_t c, int64_t hp) const { return (c * Hp + hp) * phases * Wph; }
};

/// Elements of one thread's padded copy (none for pointwise layers, whose
/// columns are the channels themselves).
int64_t padded_elements(const Conv2dGeometry& g) {
  return g.P * g.Q > 0 && !g.is_pointwise() ? PaddedImage(g).elements(g.group_channels()) : 0;
}

/// The first input column w >= 0 whose padded column w + pad is in phase ph.
inline int64_t phase_start(int64_t pad, int64_t ph, int64_t phases) {
  return ((ph - pad) % phases + phases) % phases;
}

/// buf = the padded copy of x (one image's group [Cg, H, W]).
template <typename T>
void pad_image(const Conv2dGeometry& g, const PaddedImage& pi, const T* x, T* buf) {
  const int64_t Cg = g.group_channels(), H = g.H, W = g.W;
  std::fill(buf, buf + pi.elements(Cg), T(0));
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t h = 0; h < H; ++h) {
      const T* xr = x + (c * H + h) * W;
      T* pr = buf + pi.row(c, h + g.pad_h);
      if (pi.phases == 1) {
        std::copy(xr, xr + W, pr + g.pad_w);
      } else if (pi.phases == 2) {
        // both phases in one loop: GCC vectorises the pair of interleaved
        // loads (the stride-2 layers)
        const int64_t e0 = phase_start(g.pad_w, 0, 2), o0 = 1 - e0;
        T* even = pr + (e0 + g.pad_w) / 2;
        T* odd = pr + pi.Wph + (o0 + g.pad_w) / 2;
        const int64_t pairs = W / 2;
        for (int64_t k = 0; k < pairs; ++k) {
          even[k] = xr[e0 + 2 * k];
          odd[k] = xr[o0 + 2 * k];
        }
        if (W % 2) (e0 == 0 ? even : odd)[pairs] = xr[W - 1];
      } else {
        // phase by phase: no division per element
        for (int64_t ph = 0; ph < pi.phases; ++ph) {
          const int64_t w0 = phase_start(g.pad_w, ph, pi.phases);
          T* to = pr + ph * pi.Wph + (w0 + g.pad_w) / pi.phases;
          for (int64_t w = w0, k = 0; w < W; w += pi.phases, ++k) to[k] = xr[w];
        }
      }
    }
}

/// x (one image's group [Cg, H, W]) = the unpadded part of buf.
template <typename T>
void unpad_image(const Conv2dGeometry& g, const PaddedImage& pi, const T* buf, T* x) {
  const int64_t Cg = g.group_channels(), H = g.H, W = g.W;
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t h = 0; h < H; ++h) {
      T* xr = x + (c * H + h) * W;
      const T* pr = buf + pi.row(c, h + g.pad_h);
      if (pi.phases == 1) {
        std::copy(pr + g.pad_w, pr + g.pad_w + W, xr);
      } else if (pi.phases == 2) {
        const int64_t e0 = phase_start(g.pad_w, 0, 2), o0 = 1 - e0;
        const T* even = pr + (e0 + g.pad_w) / 2;
        const T* odd = pr + pi.Wph + (o0 + g.pad_w) / 2;
        const int64_t pairs = W / 2;
        for (int64_t k = 0; k < pairs; ++k) {
          xr[e0 + 2 * k] = even[k];
          xr[o0 + 2 * k] = odd[k];
        }
        if (W % 2) xr[W - 1] = (e0 == 0 ? even : odd)[pairs];
      } else {
        for (int64_t ph = 0; ph < pi.phases; ++ph) {
          const int64_t w0 = phase_start(g.pad_w, ph, pi.phases);
          const T* from = pr + ph * pi.Wph + (w0 + g.pad_w) / pi.phases;
          for (int64_t w = w0, k = 0; w < W; w += pi.phases, ++k) xr[w] = from[k];
        }
      }
    }
}

/// Calls body(row of the column block, first padded element it reads) for
/// every tap (c, r, s) and output row p: Q consecutive elements of each.
template <typename T, typename Body>
void for_each_tap_row(const Conv2dGeometry& g, const PaddedImage& pi, T* columns, int64_t ld, Body&& body) {
  const int64_t Cg = g.group_channels(), P = g.P, Q = g.Q;
  const int64_t row_step = g.stride_h * pi.phases * pi.Wph;
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t r = 0; r < g.R; ++r)
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t ws = s * g.dil_w;
        const int64_t at = (ws % pi.phases) * pi.Wph + ws / pi.phases;
        T* row = columns + ((c * g.R + r) * g.S + s) * ld;
        // output row p reads padded row p * sh + r * dh: step by sh rows
        int64_t from = pi.row(c, r * g.dil_h) + at;
        for (int64_t p = 0; p < P; ++p, row += Q, from += row_step) body(row, from);
      }
}

/// f(std::integral_constant<int64_t, Q>) for the output row lengths of a
/// DCGAN's or SN-GAN's layers (4-32) and of CosRec's small maps (1-7), and
/// f(integral_constant 0) for any other: a tap row of a known length
/// compiles to a few whole-vector moves, where a run-time length paid a
/// loop set-up and remainder per row of 1-32 elements (im2col was a sixth
/// of a DCGAN step once the GEMMs used AVX-512).
template <typename F>
void with_row_length(int64_t Q, F&& f) {
  switch (Q) {
    case 1: return f(std::integral_constant<int64_t, 1>());
    case 2: return f(std::integral_constant<int64_t, 2>());
    case 3: return f(std::integral_constant<int64_t, 3>());
    case 4: return f(std::integral_constant<int64_t, 4>());
    case 5: return f(std::integral_constant<int64_t, 5>());
    case 6: return f(std::integral_constant<int64_t, 6>());
    case 7: return f(std::integral_constant<int64_t, 7>());
    case 8: return f(std::integral_constant<int64_t, 8>());
    case 16: return f(std::integral_constant<int64_t, 16>());
    case 32: return f(std::integral_constant<int64_t, 32>());
    default: return f(std::integral_constant<int64_t, 0>());
  }
}

/// out[q] += in[q], q < n (out and in never overlap: the padded copy and a
/// column block).
template <typename T>
inline void add_row(T* __restrict out, const T* __restrict in, int64_t n) {
  for (int64_t q = 0; q < n; ++q) out[q] += in[q];
}

/// columns[(c*R + r)*S + s, p*Q + q] = x[c, p*sh - ph + r*dh, q*sw - pw + s*dw]
/// (0 outside), for x one image's group [Cg, H, W]; column rows ld apart.
/// padded: padded_elements(g) of scratch.
template <typename T>
void im2col(const Conv2dGeometry& g, const T* x, T* columns, int64_t ld, T* padded) {
  if (g.P * g.Q == 0) return;  // no columns (and no padded buffer)
  if (g.is_pointwise()) {  // each column row is one channel of x
    for (int64_t c = 0; c < g.group_channels(); ++c)
      std::memcpy(columns + c * ld, x + c * g.H * g.W, size_t(g.H * g.W) * sizeof(T));
    return;
  }
  const PaddedImage pi(g);
  pad_image(g, pi, x, padded);
  with_row_length(g.Q, [&](auto fixed) {
    const int64_t Q = fixed ? fixed : g.Q;
    for_each_tap_row(g, pi, columns, ld, [&](T* out, int64_t from) {
      std::memcpy(out, padded + from, size_t(Q) * sizeof(T));
    });
  });
}

/// The adjoint of im2col: x (one image's group [Cg, H, W], overwritten) =
/// the sum over every tap that read (ih, iw) of its column entry, added tap
/// by tap in (c, r, s) order onto zero. padded: as im2col's.
template <typename T>
void col2im(const Conv2dGeometry& g, const T* columns, int64_t ld, T* x, T* padded) {
  if (g.P * g.Q == 0) {  // no tap reads x: its gradient is zero
    std::fill(x, x + g.group_channels() * g.H * g.W, T(0));
    return;
  }
  if (g.is_pointwise()) {  // one tap per element: x is the column rows, added onto 0
    const int64_t HW = g.H * g.W;
    for (int64_t c = 0; c < g.group_channels(); ++c) {
      T* xc = x + c * HW;
      const T* from = columns + c * ld;
      // 0 + v, not a copy: a -0 gradient comes out +0, as the sum did
      for (int64_t i = 0; i < HW; ++i) xc[i] = T(0) + from[i];
    }
    return;
  }
  const PaddedImage pi(g);
  std::fill(padded, padded + pi.elements(g.group_channels()), T(0));
  with_row_length(g.Q, [&](auto fixed) {
    const int64_t Q = fixed ? fixed : g.Q;
    for_each_tap_row(g, pi, columns, ld, [&](const T* in, int64_t to) { add_row(padded + to, in, Q); });
  });
  unpad_image(g, pi, padded, x);
}

/// v[j] = conv_activate(kind, slope, v[j]), the kind chosen once outside the
/// loop: with the switch per element (conv_activate's) the loop stayed
/// scalar and branched on every sign, and the fused leaky ReLU cost twice
/// the separate op's pass. The formula is the same, so are the bits.
template <typename T>
void activate_row(ConvEpilogue::Activation kind, T slope, T* v, int64_t n) {
  switch (kind) {
    case ConvEpilogue::Activation::none: return;
    case ConvEpilogue::Activation::relu: {
      const UnaryFormula<T, UnaryKind::Relu> f{T(0), T(0)};
      for (int64_t j = 0; j < n; ++j) v[j] = f(v[j]);
      return;
    }
    case ConvEpilogue::Activation::leaky_relu: {
      const UnaryFormula<T, UnaryKind::LeakyRelu> f{slope, T(0)};
      for (int64_t j = 0; j < n; ++j) v[j] = f(v[j]);
      return;
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
  const int64_t col_elems = column_elements(g), chunk_elems = chunk_elements(g);
  const int64_t per_thread = col_elems + chunk_elems + padded_elements(g);
  for_each_chunk(g.N, conv_threads(g), chunk_images(g), [&](int64_t t, int64_t n, int64_t nb) {
    T* columns = ws + t * per_thread;
    T* product = columns + col_elems;
    T* padded = product + chunk_elems;
    const int64_t L = nb * PQ;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = px + (n * g.C + grp * Cg) * HW;
      T* yg = py + (n * g.K + grp * Kg) * PQ;
      const T* b = xg;  // the column block [CRS, L]
      if (!(g.is_pointwise() && nb == 1)) {
        for (int64_t i = 0; i < nb; ++i) im2col(g, xg + i * g.C * HW, columns + i * PQ, L, padded);
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
          activate_row(act, slope, to, PQ);
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
  const int64_t col_elems = column_elements(g), chunk_elems = chunk_elements(g);
  const int64_t per_thread = col_elems + chunk_elems + padded_elements(g);
  for_each_chunk(g.N, conv_threads(g), chunk_images(g), [&](int64_t t, int64_t n, int64_t nb) {
    T* columns = ws + t * per_thread;
    T* gathered = columns + col_elems;
    T* padded = gathered + chunk_elems;
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
        for (int64_t i = 0; i < nb; ++i) col2im(g, columns + i * PQ, L, gx + i * g.C * HW, padded);
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
  // per thread: columns, gathered grad_y, the padded image, one group's
  // product [Kg, CRS], the partial grad_w [K, CRS]
  const int64_t pad_elems = padded_elements(g);
  const int64_t per_thread = col_elems + chunk_elems + pad_elems + Kg * CRS + w_elems;
  const int64_t partial_at = col_elems + chunk_elems + pad_elems + Kg * CRS;
  for (int64_t t = 0; t < threads; ++t) {
    T* partial = ws + t * per_thread + partial_at;
    std::fill(partial, partial + w_elems, T(0));
  }
  for_each_chunk(g.N, threads, chunk_images(g), [&](int64_t t, int64_t n, int64_t nb) {
    T* columns = ws + t * per_thread;
    T* gathered = columns + col_elems;
    T* padded = gathered + chunk_elems;
    T* product = padded + pad_elems;
    T* partial = product + Kg * CRS;
    const int64_t L = nb * PQ;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = px + (n * g.C + grp * Cg) * HW;
      const T* gy = pg + (n * g.K + grp * Kg) * PQ;
      const T* b = xg;
      if (!(g.is_pointwise() && nb == 1)) {
        for (int64_t i = 0; i < nb; ++i) im2col(g, xg + i * g.C * HW, columns + i * PQ, L, padded);
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
  const int64_t per_thread = column_elements(g) + chunk_elements(g) + padded_elements(g);
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
