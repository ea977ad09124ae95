// kernels/cuda/conv_igemm.h: the index math of nova's implicit-GEMM
// convolution kernels (kernels/cuda/conv_igemm.cu), as plain C++ that nvcc
// also compiles. Each of the three passes is one GEMM per group
// (grp = 0 .. groups-1), C [M, Ncols] = A [M, Kred] @ B [Kred, Ncols], whose
// operands are never materialised: a "problem" struct below gives the
// element A(m, k), B(k, n) from the tensors and stores C(m, n) where it
// belongs:
//   pass             M    Ncols      Kred       A                B                    C
//   forward          Kg   N*P*Q      Cg*R*S     w_g              im2col(x_g)          y (+ bias, activation)
//   backward_data    Cg   N*H*W      Kg*R*S     w_g^T            taps of grad_y that  grad_x
//                                                                read each x element
//     (stride > 1: one GEMM per stride phase, BackwardDataPhaseProblem)
//   backward_filter  Kg   Cg*R*S     N*P*Q      grad_y_g         im2col(x_g)^T        grad_w (or a split-K
//                                                                                     workspace slice)
// Because the structs are plain C++, tests/test_conv_igemm.cpp runs the same
// element functions in a naive triple loop on the CPU and compares with the
// CPU convolution: the index math (the part most likely to be wrong) is
// tested in every build, with or without a GPU. The CUDA kernels add only
// the tiling around these functions.
//
// Indices are 32-bit (int) for speed: igemm_supported() admits a geometry
// only when every tensor it touches and every GEMM size is below 2^31 - 4096
// elements; larger ones run on the v1 kernels (kernels/cuda/conv.cu). The
// divisions by runtime sizes (R*S, S, P*Q, Q, H*W, W, the strides) go
// through FastDiv (a multiply-high and a shift), also tested on the CPU.
//
// The element functions come in two halves so a thread can do the costly
// decomposition once: a_row(grp, m) (or b_col(grp, n)) decodes the part
// fixed by the row (column) a thread loads for the whole reduction, a(row, k)
// (b(col, k)) the part that moves with k. Callers only pass m < M, n < Ncols,
// k < Kred (the kernels give 0 outside).
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/base/view.h"
#include "kernels/conv.h"

namespace nova::cuda::igemm {

/// n / d and n % d for 0 <= n < 2^31 and a divisor d >= 1 fixed at launch,
/// as a multiply-high and a shift (Granlund and Montgomery; the form CUTLASS
/// uses): with l = ceil(log2 d), mul = ceil(2^(31+l) / d) and
/// n / d = (n * mul) >> (32 + l - 1) for every n < 2^31.
struct FastDiv {
  uint32_t d = 1, mul = 0, shr = 0;

  FastDiv() = default;
  /// divisor < 1 is taken as 1 (an empty dim: nothing is ever divided by it)
  explicit FastDiv(int64_t divisor) : d(divisor < 1 ? 1u : uint32_t(divisor)) {
    if (d == 1) return;
    uint32_t l = 0;
    while ((uint64_t(1) << l) < d) ++l;  // ceil(log2 d), >= 1 here
    mul = uint32_t(((uint64_t(1) << (31 + l)) + d - 1) / d);
    shr = l - 1;
  }
  NOVA_HD int div(int n) const {
    if (d == 1) return n;
#if defined(__CUDA_ARCH__)
    return int(__umulhi(uint32_t(n), mul) >> shr);
#else
    return int(uint32_t((uint64_t(uint32_t(n)) * mul) >> 32) >> shr);
#endif
  }
  /// n = q * d + r
  NOVA_HD int divmod(int n, int* r) const {
    const int q = div(n);
    *r = n - q * int(d);
    return q;
  }
};

/// Which of a tile's `extent` rows (or columns) element i < micro of a
/// thread's micro-tile is, for thread index t < extent / micro along that
/// dim. With micro a multiple of the vector width vec (elements per 16-byte
/// shared-memory load), the micro-tile is micro / vec runs of vec
/// consecutive elements, run c at c * (extent / micro) * vec + t * vec, so
/// one 16-byte load fetches a run and a warp's loads stay on distinct banks;
/// otherwise the elements are strided, t + i * (extent / micro). Either way a
/// bijection from (t, i) onto [0, extent) (tests/test_conv_igemm.cpp checks).
NOVA_HD constexpr int micro_index(int i, int t, int extent, int micro, int vec) {
  return micro % vec == 0 ? (i / vec) * (extent / micro) * vec + t * vec + i % vec : t + i * (extent / micro);
}

/// Sizes every problem needs, as ints (igemm_supported() checked they fit).
struct Dims {
  int N, C, H, W, K, R, S, P, Q;
  int sh, sw, ph, pw, dh, dw;
  int Cg, Kg, RS, HW, PQ, CRS;
  FastDiv div_RS, div_S, div_PQ, div_Q, div_HW, div_W, div_sh, div_sw;

  explicit Dims(const Conv2dGeometry& g)
      : N(int(g.N)), C(int(g.C)), H(int(g.H)), W(int(g.W)), K(int(g.K)), R(int(g.R)), S(int(g.S)),
        P(int(g.P)), Q(int(g.Q)), sh(int(g.stride_h)), sw(int(g.stride_w)), ph(int(g.pad_h)),
        pw(int(g.pad_w)), dh(int(g.dil_h)), dw(int(g.dil_w)), Cg(int(g.group_channels())),
        Kg(int(g.group_filters())), RS(int(g.R * g.S)), HW(int(g.H * g.W)), PQ(int(g.P * g.Q)),
        CRS(int(g.column_rows())), div_RS(g.R * g.S), div_S(g.S), div_PQ(g.P * g.Q), div_Q(g.Q),
        div_HW(g.H * g.W), div_W(g.W), div_sh(g.stride_h), div_sw(g.stride_w) {}
};

/// forward: y[n, grp*Kg + m, p, q] = act(sum_k w[grp*Kg + m, k] * col[k, (n, p, q)] + bias)
/// with k = (c, r, s) and col[k, (n,p,q)] = x[n, grp*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw].
template <typename T>
struct ForwardProblem {
  Dims d;
  const T* x;
  const T* w;
  const T* bias;  // null: none
  T* y;
  ConvEpilogue::Activation act;
  T slope;

  int rows() const { return d.Kg; }
  int cols() const { return d.N * d.PQ; }
  int reduction() const { return d.CRS; }

  struct ARow {
    const T* w;  // the filter's row [CRS]
  };
  NOVA_HD ARow a_row(int grp, int m) const { return {w + (grp * d.Kg + m) * d.CRS}; }
  NOVA_HD T a(const ARow& row, int k) const { return row.w[k]; }

  struct BCol {
    const T* x;  // image n, channel grp*Cg
    int ih0, iw0;  // the input position of tap (0, 0)
  };
  NOVA_HD BCol b_col(int grp, int n) const {
    int pq;
    const int img = d.div_PQ.divmod(n, &pq);
    int q;
    const int p = d.div_Q.divmod(pq, &q);
    return {x + (img * d.C + grp * d.Cg) * d.HW, p * d.sh - d.ph, q * d.sw - d.pw};
  }
  NOVA_HD T b(const BCol& col, int k) const {
    int rs, s;
    const int c = d.div_RS.divmod(k, &rs);
    const int r = d.div_S.divmod(rs, &s);
    const int ih = col.ih0 + r * d.dh, iw = col.iw0 + s * d.dw;
    // unsigned compares: one test each for < 0 and >= size (padding reads 0)
    if (unsigned(ih) >= unsigned(d.H) || unsigned(iw) >= unsigned(d.W)) return T(0);
    return col.x[c * d.HW + ih * d.W + iw];
  }

  NOVA_HD void store(int grp, int /*split*/, int m, int n, T acc) const {
    int pq;
    const int img = d.div_PQ.divmod(n, &pq);
    const int k = grp * d.Kg + m;
    const T v = bias ? T(acc + bias[k]) : acc;
    y[(img * d.K + k) * d.PQ + pq] = conv_activate(act, slope, v);
  }
};

/// backward_data: grad_x[n, grp*Cg + m, h, w] = sum_j w[grp*Kg + kk, m, r, s] * gy[n, grp*Kg + kk, p, q]
/// over j = (kk, r, s) whose output (p, q) reads (h, w): p*sh = h + ph - r*dh
/// exactly and 0 <= p < P (likewise q); other taps contribute 0. This gather
/// is right for every stride, padding, dilation and shortened P, Q.
template <typename T>
struct BackwardDataProblem {
  Dims d;
  const T* gy;
  const T* w;
  T* gx;

  int rows() const { return d.Cg; }
  int cols() const { return d.N * d.HW; }
  int reduction() const { return d.Kg * d.RS; }

  struct ARow {
    const T* w;  // w[grp*Kg, m, 0, 0]; filter kk is kk*CRS further
  };
  NOVA_HD ARow a_row(int grp, int m) const { return {w + grp * d.Kg * d.CRS + m * d.RS}; }
  NOVA_HD T a(const ARow& row, int j) const {
    int rs;
    const int kk = d.div_RS.divmod(j, &rs);
    return row.w[kk * d.CRS + rs];
  }

  struct BCol {
    const T* gy;  // image n, channel grp*Kg
    int hp, wp;   // h + ph, w + pw
  };
  NOVA_HD BCol b_col(int grp, int n) const {
    int hw;
    const int img = d.div_HW.divmod(n, &hw);
    int w_;
    const int h = d.div_W.divmod(hw, &w_);
    return {gy + (img * d.K + grp * d.Kg) * d.PQ, h + d.ph, w_ + d.pw};
  }
  NOVA_HD T b(const BCol& col, int j) const {
    int rs, s;
    const int kk = d.div_RS.divmod(j, &rs);
    const int r = d.div_S.divmod(rs, &s);
    const int ph = col.hp - r * d.dh, pw = col.wp - s * d.dw;  // p*sh, q*sw when the tap exists
    if (ph < 0 || pw < 0) return T(0);
    int rem_h, rem_w;
    const int p = d.div_sh.divmod(ph, &rem_h), q = d.div_sw.divmod(pw, &rem_w);
    if (rem_h != 0 || rem_w != 0 || p >= d.P || q >= d.Q) return T(0);
    return col.gy[kk * d.PQ + p * d.Q + q];
  }

  NOVA_HD void store(int grp, int /*split*/, int m, int n, T acc) const {
    int hw;
    const int img = d.div_HW.divmod(n, &hw);
    gx[(img * d.C + grp * d.Cg + m) * d.HW + hw] = acc;
  }
};

/// One stride phase of backward_data (strides > 1): the grad_x pixels
/// (h, w) with (h + ph) % sh == rho_h and (w + pw) % sw == rho_w. A tap r
/// reaches such a row only when r*dh == rho_h (mod sh): those r form the
/// progression r0_h, r0_h + step_h, ... (count_h of them below R; step_h =
/// sh / gcd(sh, dh)), likewise s. make_phase() finds them on the host.
struct StridePhase {
  int h0 = 0, w0 = 0;          // first pixel of the phase in each dim
  int rows_h = 0, cols_w = 0;  // its pixels per dim: h0, h0 + sh, ... below H
  int r0 = 0, step_r = 1, count_r = 0;
  int s0 = 0, step_s = 1, count_s = 0;
  FastDiv div_rows_cols;  // rows_h * cols_w
  FastDiv div_cols;       // cols_w
  FastDiv div_taps;       // count_r * count_s
  FastDiv div_count_s;    // count_s
};

/// The phase (rho_h, rho_w) of geometry g (see StridePhase).
inline StridePhase make_phase(const Conv2dGeometry& g, int64_t rho_h, int64_t rho_w) {
  StridePhase ph;
  auto dim = [](int64_t rho, int64_t pad, int64_t stride, int64_t dil, int64_t size, int64_t taps, int* first,
                int* pixels, int* r0, int* step, int* count) {
    const int64_t f = ((rho - pad) % stride + stride) % stride;  // (f + pad) % stride == rho
    *first = int(f);
    *pixels = f < size ? int((size - f + stride - 1) / stride) : 0;
    int64_t g = stride, b = dil;  // gcd(stride, dil)
    while (b != 0) {
      const int64_t t = g % b;
      g = b;
      b = t;
    }
    *step = int(stride / g);
    *r0 = 0;
    *count = 0;
    for (int64_t r = 0; r < taps; ++r)
      if ((r * dil) % stride == rho) {
        *r0 = int(r);
        *count = int((taps - 1 - r) / *step + 1);
        break;
      }
  };
  dim(rho_h, g.pad_h, g.stride_h, g.dil_h, g.H, g.R, &ph.h0, &ph.rows_h, &ph.r0, &ph.step_r, &ph.count_r);
  dim(rho_w, g.pad_w, g.stride_w, g.dil_w, g.W, g.S, &ph.w0, &ph.cols_w, &ph.s0, &ph.step_s, &ph.count_s);
  ph.div_rows_cols = FastDiv(int64_t(ph.rows_h) * ph.cols_w);
  ph.div_cols = FastDiv(ph.cols_w);
  ph.div_taps = FastDiv(int64_t(ph.count_r) * ph.count_s);
  ph.div_count_s = FastDiv(ph.count_s);
  return ph;
}

/// backward_data for strides > 1, one stride phase per launch: the GEMM of
/// BackwardDataProblem restricted to the phase's pixels (columns N * rows_h *
/// cols_w) and to the taps that reach them (reduction Kg * count_r * count_s),
/// so no product is a structural zero (only taps past the output's edge, p
/// outside [0, P), read 0, as at stride 1). The phases cover every pixel once.
template <typename T>
struct BackwardDataPhaseProblem {
  Dims d;
  StridePhase ph;
  const T* gy;
  const T* w;
  T* gx;

  int rows() const { return d.Cg; }
  int cols() const { return d.N * ph.rows_h * ph.cols_w; }
  int reduction() const { return d.Kg * ph.count_r * ph.count_s; }

  /// tap j = (kk, ir, is) of the phase: kk, r = r0 + ir*step_r, s = s0 + is*step_s
  NOVA_HD void tap(int j, int* kk, int* r, int* s) const {
    int rs, is;
    *kk = ph.div_taps.divmod(j, &rs);
    const int ir = ph.div_count_s.divmod(rs, &is);
    *r = ph.r0 + ir * ph.step_r;
    *s = ph.s0 + is * ph.step_s;
  }

  struct ARow {
    const T* w;  // w[grp*Kg, m, 0, 0]
  };
  NOVA_HD ARow a_row(int grp, int m) const { return {w + grp * d.Kg * d.CRS + m * d.RS}; }
  NOVA_HD T a(const ARow& row, int j) const {
    int kk, r, s;
    tap(j, &kk, &r, &s);
    return row.w[kk * d.CRS + r * d.S + s];
  }

  struct BCol {
    const T* gy;  // image n, channel grp*Kg
    int hp, wp;   // h + ph, w + pw of the column's pixel
  };
  /// column n = (img, i, k): pixel (h0 + i*sh, w0 + k*sw)
  NOVA_HD void pixel(int n, int* img, int* h, int* w_) const {
    int ik, k;
    *img = ph.div_rows_cols.divmod(n, &ik);
    const int i = ph.div_cols.divmod(ik, &k);
    *h = ph.h0 + i * d.sh;
    *w_ = ph.w0 + k * d.sw;
  }
  NOVA_HD BCol b_col(int grp, int n) const {
    int img, h, w_;
    pixel(n, &img, &h, &w_);
    return {gy + (img * d.K + grp * d.Kg) * d.PQ, h + d.ph, w_ + d.pw};
  }
  NOVA_HD T b(const BCol& col, int j) const {
    int kk, r, s;
    tap(j, &kk, &r, &s);
    // divisible by construction: (h + ph - r*dh) % sh == 0 for the phase's r
    const int ph_ = col.hp - r * d.dh, pw_ = col.wp - s * d.dw;
    if (ph_ < 0 || pw_ < 0) return T(0);
    const int p = d.div_sh.div(ph_), q = d.div_sw.div(pw_);
    if (p >= d.P || q >= d.Q) return T(0);
    return col.gy[kk * d.PQ + p * d.Q + q];
  }

  NOVA_HD void store(int grp, int /*split*/, int m, int n, T acc) const {
    int img, h, w_;
    pixel(n, &img, &h, &w_);
    gx[((img * d.C + grp * d.Cg + m) * d.H + h) * d.W + w_] = acc;
  }
};

/// backward_filter: grad_w[grp*Kg + m, j] = sum_t gy[n, grp*Kg + m, p, q] * col[j, t]
/// over t = (n, p, q), j = (c, r, s), col as in forward. With split-K the
/// reduction is cut into `splits` consecutive ranges and range `split`
/// stores to out + split*K*CRS (a workspace summed afterwards in split
/// order); with one split out is grad_w itself.
template <typename T>
struct BackwardFilterProblem {
  Dims d;
  const T* x;
  const T* gy;
  T* out;

  int rows() const { return d.Kg; }
  int cols() const { return d.CRS; }
  int reduction() const { return d.N * d.PQ; }

  struct ARow {
    const T* gy;  // gy[0, grp*Kg + m, 0, 0]; image n is n*K*PQ further
  };
  NOVA_HD ARow a_row(int grp, int m) const { return {gy + (grp * d.Kg + m) * d.PQ}; }
  NOVA_HD T a(const ARow& row, int t) const {
    int pq;
    const int img = d.div_PQ.divmod(t, &pq);
    return row.gy[img * d.K * d.PQ + pq];
  }

  struct BCol {
    const T* x;      // x[0, grp*Cg + c, 0, 0]; image n is n*C*HW further
    int roff, soff;  // r*dh - ph, s*dw - pw
  };
  NOVA_HD BCol b_col(int grp, int j) const {
    int rs, s;
    const int c = d.div_RS.divmod(j, &rs);
    const int r = d.div_S.divmod(rs, &s);
    return {x + (grp * d.Cg + c) * d.HW, r * d.dh - d.ph, s * d.dw - d.pw};
  }
  NOVA_HD T b(const BCol& col, int t) const {
    int pq, q;
    const int img = d.div_PQ.divmod(t, &pq);
    const int p = d.div_Q.divmod(pq, &q);
    const int ih = p * d.sh + col.roff, iw = q * d.sw + col.soff;
    if (unsigned(ih) >= unsigned(d.H) || unsigned(iw) >= unsigned(d.W)) return T(0);
    return col.x[img * d.C * d.HW + ih * d.W + iw];
  }

  NOVA_HD void store(int grp, int split, int m, int n, T acc) const {
    out[(split * d.K + grp * d.Kg + m) * d.CRS + n] = acc;
  }
};

/// Whether the tiled kernels take geometry g: every tensor, GEMM size and
/// split-K workspace below 2^31 - 4096 elements, at most 65535 groups (the grid's
/// z) and 65535 * 64 rows per group (its y). The others run on the v1 kernels.
inline bool igemm_supported(const Conv2dGeometry& g) {
  // 4096 below 2^31: a tile's or split's end (an index past the last by less
  // than a tile or a split's rounding) must fit an int as well
  constexpr int64_t kMax = (int64_t(1) << 31) - 4096;
  const int64_t sizes[] = {g.N * g.C * g.H * g.W, g.N * g.K * g.P * g.Q, g.K * g.column_rows(),
                           g.N * g.H * g.W,       g.N * g.P * g.Q,       g.group_filters() * g.R * g.S};
  for (int64_t n : sizes)
    if (n > kMax) return false;
  return g.groups <= 65535 && g.K <= 65535 * 64 && g.C <= 65535 * 64;
}

/// The split-K plan of backward_filter: `splits` consecutive ranges of
/// `chunk` reduction elements (the last may be shorter); a workspace of
/// splits * K * Cg*R*S elements when splits > 1, none otherwise. A pure
/// function of g (no device query), so conv2d_workspace and the launch
/// agree. Splits aim at kFilterBlocks blocks (two waves of an H100's 132
/// SMs) with at least kMinChunk reduction elements each.
struct FilterPlan {
  int splits = 1;
  int chunk = 0;
  int64_t workspace = 0;
};
inline FilterPlan filter_plan(const Conv2dGeometry& g) {
  constexpr int64_t kFilterBlocks = 264, kMinChunk = 256, kMaxSplits = 64, kTile = 64;
  const int64_t reduction = g.N * g.P * g.Q, crs = g.column_rows();
  const int64_t tiles = ((g.group_filters() + kTile - 1) / kTile) * ((crs + kTile - 1) / kTile) * g.groups;
  int64_t splits = tiles > 0 ? (kFilterBlocks + tiles - 1) / tiles : 1;
  splits = std::min({splits, (reduction + kMinChunk - 1) / kMinChunk, kMaxSplits, 65535 / std::max<int64_t>(g.groups, 1)});
  const int64_t w_elems = std::max<int64_t>(g.K * crs, 1);
  splits = std::max<int64_t>(1, std::min(splits, ((int64_t(1) << 31) - 4096) / w_elems));
  FilterPlan plan;
  // chunk: a multiple of 16 (every kernel's reduction tile divides it)
  const int64_t chunk = ((reduction + splits - 1) / splits + 15) / 16 * 16;
  plan.chunk = int(std::max<int64_t>(chunk, 16));
  plan.splits = int(std::max<int64_t>(1, (reduction + plan.chunk - 1) / plan.chunk));
  plan.workspace = plan.splits > 1 ? plan.splits * g.K * crs : 0;
  return plan;
}

/// The launches (kernels/cuda/conv_igemm.cu). Operands contiguous, on one
/// device, float32 or float64; float32 takes the TF32 tensor-core kernel
/// when cuda::allow_tf32() is on. Same contracts as kernels/conv.def.
void forward(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
             const ConvEpilogue& epilogue);
void backward_data(const Conv2dGeometry& g, const View& grad_y, const View& w, const View& grad_x);
void backward_filter(const Conv2dGeometry& g, const View& x, const View& grad_y, const View& grad_w,
                     const View& workspace);

}  // namespace nova::cuda::igemm
