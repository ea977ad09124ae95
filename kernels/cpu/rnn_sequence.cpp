// kernels/cpu/rnn_sequence.cpp: the whole-sequence GRU / LSTM kernels (see
// kernels/cpu/rnn_sequence.h).
//
// Forward, per step t, for the rows of one batch slice:
//   gh = h_{t-1} W_hh^T       small_gemm into the saved rows (ldc 4H / 5H)
//   gates from gi_t + gh + b_hh, h_t (c_t)   Eigen arrays, in place
// Backward, per step t from the last:
//   the fused gate backward of kernels/rnn_gates_math.h (as Eigen arrays)
//   gives step t's gate gradients dgh_t; dh_{t-1} = dgh_t W_hh (+ g z, GRU);
//   d W_hh += dgh_t^T h_{t-1} and d b_hh += dgh_t, per slice, while both
//   are in cache; the slices' sums are added in slice order at the end.
// One GEMM over all T B rows after the loop (cpu::gemm, OpenBLAS) was 7%
// slower on a whole GRU training step at B 128, H 100 (a third of that
// GEMM's time was packing the [T B, 3H] gradient from memory), and needed a
// [T, B, G] workspace.
//
// small_gemm is a register-blocked loop over a packed copy of W_hh^T
// (forward) or W_hh (backward), made once per call: 8 rows x 32 columns of
// accumulators (16 AVX-512 registers). Against cpu::gemm (OpenBLAS 0.3.21)
// on the per-step products, one thread, dev VM (loaded): forward 1.1-1.6x
// faster from H 42 to 384, backward 0.85-1.3x; at H 512 the two are even
// (bench/RESULTS.md, 2026-12-06).
//
// Gate math: Eigen arrays a row of H at a time (SIMD exp and tanh), as
// kernels/cpu/rnn_gates.cpp does; scalar libm exp / tanh per element made a
// first version of this loop slower than the per-step path.
#include "kernels/cpu/rnn_sequence.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

// GCC 12 reports Eigen's AVX-512 float tanh as maybe-uninitialized wherever
// it is inlined; a false positive (see kernels/cpu/rnn_gates.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

namespace nova::cpu {

namespace {

// ---- the small in-cache GEMM ----

#ifdef __AVX512F__
constexpr int kVecBytes = 64;
#else
constexpr int kVecBytes = 32;
#endif

/// A SIMD register of T (GCC vector extension: +, * and scalar broadcast),
/// and the same type for unaligned loads and stores (as immintrin.h's
/// __m512_u: alignment of T, may alias T).
template <typename T>
struct Simd;
template <>
struct Simd<float> {
  typedef float V __attribute__((vector_size(kVecBytes)));
  typedef float U __attribute__((vector_size(kVecBytes), aligned(4), may_alias));
};
template <>
struct Simd<double> {
  typedef double V __attribute__((vector_size(kVecBytes)));
  typedef double U __attribute__((vector_size(kVecBytes), aligned(8), may_alias));
};

constexpr int kBlockVecs = 2;  // column vectors per block
constexpr int kBlockRows = 8;  // rows per block: 8 x 2 accumulators

template <typename T>
constexpr int64_t block_cols() {
  return kBlockVecs * kVecBytes / int64_t(sizeof(T));
}

/// dst[k, j] = src[k rs + j cs] for k < inner, j < cols; columns up to ldp
/// (a multiple of block_cols) are zero, so a block never reads past a row.
template <typename T>
std::vector<T> pack(const T* src, int64_t rs, int64_t cs, int64_t inner, int64_t cols, int64_t* ldp) {
  *ldp = (cols + block_cols<T>() - 1) / block_cols<T>() * block_cols<T>();
  std::vector<T> dst(inner * *ldp, T(0));
  for (int64_t k = 0; k < inner; ++k)
    for (int64_t j = 0; j < cols; ++j) dst[k * *ldp + j] = src[k * rs + j * cs];
  return dst;
}

/// One block: C[R, n] (+)= A[R, inner] * P[inner, n] for R <= kBlockRows
/// rows and n <= block_cols columns (P holds block_cols, zero-padded);
/// A[r, k] at a[r ars + k acs]; Add accumulates into C.
template <typename T, int R, bool Add>
void gemm_block(int64_t inner, int64_t n, const T* a, int64_t ars, int64_t acs, const T* p, int64_t ldp, T* c,
                int64_t ldc) {
  using V = typename Simd<T>::V;
  using U = typename Simd<T>::U;
  constexpr int L = kVecBytes / sizeof(T);
  V acc[R][kBlockVecs];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < kBlockVecs; ++v) acc[r][v] = V{};
  const T* pk = p;
  for (int64_t k = 0; k < inner; ++k, pk += ldp) {
    V pv[kBlockVecs];
    for (int v = 0; v < kBlockVecs; ++v) pv[v] = *reinterpret_cast<const U*>(pk + v * L);
    for (int r = 0; r < R; ++r) {
      const T s = a[r * ars + k * acs];
      for (int v = 0; v < kBlockVecs; ++v) acc[r][v] += s * pv[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    T* cr = c + r * ldc;
    if (n == kBlockVecs * L) {
      for (int v = 0; v < kBlockVecs; ++v) {
        U* cv = reinterpret_cast<U*>(cr + v * L);
        *cv = Add ? *cv + acc[r][v] : acc[r][v];
      }
    } else {  // the last block of a row: through a buffer, n columns
      T tail[kBlockVecs * L];
      for (int v = 0; v < kBlockVecs; ++v) *reinterpret_cast<U*>(tail + v * L) = acc[r][v];
      for (int64_t j = 0; j < n; ++j) cr[j] = Add ? cr[j] + tail[j] : tail[j];
    }
  }
}

/// C[rows, cols] (+)= A[rows, inner] * P[inner, cols] (packed, row stride
/// ldp), A[r, k] at a[r ars + k acs], C with row stride ldc; Add accumulates.
/// Column blocks outer, row blocks inner: a block's panel of P (inner x
/// block_cols) stays in L1 / L2 while every row passes, where rows outer
/// re-read all of P per 8 rows (from L3 at H 512: 2.4x slower there).
template <bool Add = false, typename T>
void small_gemm(int64_t rows, int64_t cols, int64_t inner, const T* a, int64_t ars, int64_t acs, const T* p,
                int64_t ldp, T* c, int64_t ldc) {
  for (int64_t j0 = 0; j0 < cols; j0 += block_cols<T>()) {
    const int64_t n = std::min<int64_t>(block_cols<T>(), cols - j0);
    const T* pj = p + j0;
    int64_t r = 0;
    for (; r + kBlockRows <= rows; r += kBlockRows)
      gemm_block<T, kBlockRows, Add>(inner, n, a + r * ars, ars, acs, pj, ldp, c + r * ldc + j0, ldc);
    const T* ar = a + r * ars;
    T* cr = c + r * ldc + j0;
    switch (rows - r) {
      case 7: gemm_block<T, 7, Add>(inner, n, ar, ars, acs, pj, ldp, cr, ldc); break;
      case 6: gemm_block<T, 6, Add>(inner, n, ar, ars, acs, pj, ldp, cr, ldc); break;
      case 5: gemm_block<T, 5, Add>(inner, n, ar, ars, acs, pj, ldp, cr, ldc); break;
      case 4: gemm_block<T, 4, Add>(inner, n, ar, ars, acs, pj, ldp, cr, ldc); break;
      case 3: gemm_block<T, 3, Add>(inner, n, ar, ars, acs, pj, ldp, cr, ldc); break;
      case 2: gemm_block<T, 2, Add>(inner, n, ar, ars, acs, pj, ldp, cr, ldc); break;
      case 1: gemm_block<T, 1, Add>(inner, n, ar, ars, acs, pj, ldp, cr, ldc); break;
      default: break;
    }
  }
}


/// W_hh [G, H] packed for one direction: W^T [H, G] for the forward's
/// h W^T, or W [G, H] for the backward's dgh W.
template <typename T>
struct PackedWeights {
  int64_t G, H, ldp = 0;
  std::vector<T> p;

  PackedWeights(const T* w, int64_t G_, int64_t H_, bool transposed) : G(G_), H(H_) {
    p = transposed ? pack(w, 1, H, H, G, &ldp) : pack(w, H, 1, G, H, &ldp);
  }
  /// c[rows, G] = h[rows, H] W^T
  void forward(int64_t rows, const T* h, int64_t ldh, T* c, int64_t ldc) const {
    small_gemm(rows, G, H, h, ldh, 1, p.data(), ldp, c, ldc);
  }
  /// c[rows, H] = d[rows, G] W
  void backward(int64_t rows, const T* d, int64_t ldd, T* c, int64_t ldc) const {
    small_gemm(rows, H, G, d, ldd, 1, p.data(), ldp, c, ldc);
  }
};

/// One slice's d W_hh = sum_t dgh_t^T h_{t-1} and d b_hh = sum_t dgh_t,
/// accumulated step by step while dgh_t and h_{t-1} are in cache: as one
/// GEMM over all T B rows after the loop (OpenBLAS), a third of that GEMM's
/// time went to packing the [T B, G] gradient from memory.
template <typename T>
struct WeightGrads {
  int64_t G = 0, H = 0, ldp = 0;
  std::vector<T> dw, db, hp;  // hp: h_{t-1} of the slice, padded (a packed operand)

  WeightGrads() = default;
  WeightGrads(int64_t G_, int64_t H_, int64_t rows) : G(G_), H(H_) {
    ldp = (H + block_cols<T>() - 1) / block_cols<T>() * block_cols<T>();
    dw.assign(G * H, T(0));
    db.assign(G, T(0));
    hp.assign(rows * ldp, T(0));
  }
  /// dgh [rows, G] (row stride G), h_prev [rows, H] (row stride H).
  void add(int64_t rows, const T* dgh, const T* h_prev) {
    for (int64_t b = 0; b < rows; ++b) {
      std::memcpy(hp.data() + b * ldp, h_prev + b * H, H * sizeof(T));
      for (int64_t j = 0; j < G; ++j) db[j] += dgh[b * G + j];
    }
    // dw[G, H] += dgh^T [G, rows] h_prev [rows, H]
    small_gemm<true>(G, H, rows, dgh, 1, G, hp.data(), ldp, dw.data(), H);
  }
};

/// Sums the slices' weight gradients into dw and db (null: skipped), in
/// slice order, so that a given thread count always gives the same bits.
template <typename T>
void sum_weight_grads(const std::vector<WeightGrads<T>>& parts, T* dw, T* db) {
  for (size_t s = 0; s < parts.size(); ++s) {
    const WeightGrads<T>& p = parts[s];
    if (dw)
      for (int64_t k = 0; k < p.G * p.H; ++k) dw[k] = s == 0 ? p.dw[k] : dw[k] + p.dw[k];
    if (db)
      for (int64_t k = 0; k < p.G; ++k) db[k] = s == 0 ? p.db[k] : db[k] + p.db[k];
  }
}

// ---- threads: one batch slice each, for all T steps ----

/// How many batch slices: one per thread, each of at least one 8-row GEMM
/// block. The slices are independent for all T steps (no barrier per step),
/// so the team starts once per call.
int slices(int64_t B) {
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  return int(std::max<int64_t>(1, std::min<int64_t>(nt, B / kBlockRows)));
}

/// Runs body(s, b0, b1) for the n slices [b0, b1) of the batch, one thread
/// each.
template <typename Body>
void for_slices(int n, int64_t B, Body&& body) {
  if (n == 1) {
    body(0, int64_t(0), B);
    return;
  }
#pragma omp parallel for num_threads(n) schedule(static, 1)
  for (int s = 0; s < n; ++s) body(s, B * s / n, B * (s + 1) / n);
}

// ---- gate math, a row of H ----

template <typename T>
using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using CRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <typename E>
auto sigmoid_of(const E& v) {
  using S = typename E::Scalar;
  return (S(1) + (-v).exp()).inverse();
}

/// b_hh as a dense row (zeros when undefined): one code path for both.
template <typename T>
std::vector<T> bias_row(const View& b_hh, int64_t G) {
  std::vector<T> b(G, T(0));
  if (b_hh.defined()) std::memcpy(b.data(), b_hh.data<T>(), G * sizeof(T));
  return b;
}

// ---- GRU ----

template <typename T>
void gru_forward_typed(const View& gi_v, const View& h0_v, const View& w_v, const View& b_v, const View& out_v,
                       const View& saved_v) {
  const int64_t T_ = gi_v.size(0), B = h0_v.size(0), H = h0_v.size(1), G = 3 * H;
  const T* gi = gi_v.data<T>();
  const T* h0 = h0_v.data<T>();
  T* out = out_v.data<T>();
  T* saved = saved_v.data<T>();
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/true);
  const std::vector<T> bias = bias_row<T>(b_v, G);
  const CRow<T> b_r(bias.data(), H), b_z(bias.data() + H, H), b_n(bias.data() + 2 * H, H);
  for_slices(slices(B), B, [&](int, int64_t b0, int64_t b1) {
    for (int64_t t = 0; t < T_; ++t) {
      const T* h_prev = t > 0 ? out + (t - 1) * B * H : h0;
      T* s_t = saved + t * B * 4 * H;
      w.forward(b1 - b0, h_prev + b0 * H, H, s_t + b0 * 4 * H, 4 * H);  // gh into (r, z, n) of saved
      for (int64_t b = b0; b < b1; ++b) {
        const T* g = gi + (t * B + b) * G;
        T* s = s_t + b * 4 * H;
        Row<T> r(s, H), z(s + H, H), n(s + 2 * H, H), gh_n(s + 3 * H, H);
        gh_n = n + b_n;
        r = sigmoid_of(CRow<T>(g, H) + r + b_r);
        z = sigmoid_of(CRow<T>(g + H, H) + z + b_z);
        n = (CRow<T>(g + 2 * H, H) + r * gh_n).tanh();
        Row<T>(out + (t * B + b) * H, H) = n + z * (CRow<T>(h_prev + b * H, H) - n);
      }
    }
  });
}

template <typename T>
void gru_backward_typed(const View& go_v, const View& saved_v, const View& out_v, const View& h0_v,
                        const View& w_v, const View& dgi_v, const View& dh0_v, const View& dw_v,
                        const View& db_v) {
  const int64_t T_ = out_v.size(0), B = out_v.size(1), H = out_v.size(2), G = 3 * H;
  const T* go = go_v.data<T>();
  const T* saved = saved_v.data<T>();
  const T* out = out_v.data<T>();
  const T* h0 = h0_v.data<T>();
  T* dgi = dgi_v.data<T>();
  T* dh0 = dh0_v.data<T>();
  T* dw = dw_v.data_or_null<T>();
  T* db = db_v.data_or_null<T>();
  const bool weights = dw || db;
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/false);
  const int n = slices(B);
  std::vector<WeightGrads<T>> parts(weights ? n : 0);
  for_slices(n, B, [&](int s, int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    // dh: dL/dh_t from the steps after t, ending as dL/dh0; dd: g z, h's
    // direct path; dgh: step t's gradient of h W_hh^T + b_hh
    std::vector<T> dh(rows * H, T(0)), dd(rows * H), dgh(rows * G);
    if (weights) parts[s] = WeightGrads<T>(G, H, rows);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      const T* h_prev = t > 0 ? out + (t - 1) * B * H : h0;
      for (int64_t b = b0; b < b1; ++b) {
        const T* s = saved + (t * B + b) * 4 * H;
        const CRow<T> r(s, H), z(s + H, H), n(s + 2 * H, H), gh_n(s + 3 * H, H);
        Row<T> g(dh.data() + (b - b0) * H, H);
        g += CRow<T>(go + (t * B + b) * H, H);
        T* di = dgi + (t * B + b) * G;
        T* dg = dgh.data() + (b - b0) * G;
        Row<T> dr(di, H), dz(di + H, H), dn(di + 2 * H, H);
        dn = g * (T(1) - z) * (T(1) - n * n);
        dz = g * (CRow<T>(h_prev + b * H, H) - n) * z * (T(1) - z);
        dr = dn * gh_n * r * (T(1) - r);
        std::memcpy(dg, di, 2 * H * sizeof(T));
        Row<T>(dg + 2 * H, H) = dn * r;
        Row<T>(dd.data() + (b - b0) * H, H) = g * z;
      }
      if (weights) parts[s].add(rows, dgh.data(), h_prev + b0 * H);
      w.backward(rows, dgh.data(), G, dh.data(), H);  // dh = dgh_t W_hh
      for (int64_t k = 0; k < rows * H; ++k) dh[k] += dd[k];
    }
    std::memcpy(dh0 + b0 * H, dh.data(), rows * H * sizeof(T));
  });
  sum_weight_grads(parts, dw, db);
}

// ---- LSTM ----

template <typename T>
void lstm_forward_typed(const View& gi_v, const View& h0_v, const View& c0_v, const View& w_v, const View& b_v,
                        const View& hc_v, const View& saved_v) {
  const int64_t T_ = gi_v.size(0), B = h0_v.size(0), H = h0_v.size(1), G = 4 * H;
  const T* gi = gi_v.data<T>();
  const T* h0 = h0_v.data<T>();
  const T* c0 = c0_v.data<T>();
  T* hc = hc_v.data<T>();
  T* saved = saved_v.data<T>();
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/true);
  const std::vector<T> bias = bias_row<T>(b_v, G);
  const T* bi = bias.data();
  for_slices(slices(B), B, [&](int, int64_t b0, int64_t b1) {
    for (int64_t t = 0; t < T_; ++t) {
      const T* h_prev = t > 0 ? hc + (t - 1) * 2 * B * H : h0;
      const T* c_prev = t > 0 ? hc + (t - 1) * 2 * B * H + B * H : c0;
      T* h_new = hc + t * 2 * B * H;
      T* c_new = h_new + B * H;
      T* s_t = saved + t * B * 5 * H;
      w.forward(b1 - b0, h_prev + b0 * H, H, s_t + b0 * 5 * H, 5 * H);  // gh into (i, f, g, o) of saved
      for (int64_t b = b0; b < b1; ++b) {
        const T* g_in = gi + (t * B + b) * G;
        T* s = s_t + b * 5 * H;
        Row<T> i(s, H), f(s + H, H), g(s + 2 * H, H), o(s + 3 * H, H), tc(s + 4 * H, H);
        i = sigmoid_of(CRow<T>(g_in, H) + i + CRow<T>(bi, H));
        f = sigmoid_of(CRow<T>(g_in + H, H) + f + CRow<T>(bi + H, H));
        g = (CRow<T>(g_in + 2 * H, H) + g + CRow<T>(bi + 2 * H, H)).tanh();
        o = sigmoid_of(CRow<T>(g_in + 3 * H, H) + o + CRow<T>(bi + 3 * H, H));
        Row<T> cn(c_new + b * H, H);
        cn = f * CRow<T>(c_prev + b * H, H) + i * g;
        tc = cn.tanh();
        Row<T>(h_new + b * H, H) = o * tc;
      }
    }
  });
}

template <typename T>
void lstm_backward_typed(const View& go_v, const View& saved_v, const View& hc_v, const View& h0_v,
                         const View& c0_v, const View& w_v, const View& dgates_v, const View& dh0_v,
                         const View& dc0_v, const View& dw_v, const View& db_v) {
  const int64_t T_ = hc_v.size(0), B = hc_v.size(2), H = hc_v.size(3), G = 4 * H;
  const T* go = go_v.data<T>();
  const T* saved = saved_v.data<T>();
  const T* hc = hc_v.data<T>();
  const T* h0 = h0_v.data<T>();
  const T* c0 = c0_v.data<T>();
  T* dgates = dgates_v.data<T>();
  T* dh0 = dh0_v.data<T>();
  T* dc0 = dc0_v.data<T>();
  T* dw = dw_v.data_or_null<T>();
  T* db = db_v.data_or_null<T>();
  const bool weights = dw || db;
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/false);
  const int n = slices(B);
  std::vector<WeightGrads<T>> parts(weights ? n : 0);
  for_slices(n, B, [&](int s, int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    // dL/dh_t and dL/dc_t from the steps after t, ending as dL/dh0, dL/dc0
    std::vector<T> dh(rows * H, T(0)), dc(rows * H, T(0));
    if (weights) parts[s] = WeightGrads<T>(G, H, rows);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      const T* h_prev = t > 0 ? hc + (t - 1) * 2 * B * H : h0;
      const T* c_prev = t > 0 ? hc + (t - 1) * 2 * B * H + B * H : c0;
      const T* go_h = go + t * 2 * B * H;
      const T* go_c = go_h + B * H;
      for (int64_t b = b0; b < b1; ++b) {
        const T* s = saved + (t * B + b) * 5 * H;
        const CRow<T> i(s, H), f(s + H, H), g(s + 2 * H, H), o(s + 3 * H, H), tc(s + 4 * H, H);
        Row<T> gh(dh.data() + (b - b0) * H, H), gc(dc.data() + (b - b0) * H, H);
        gh += CRow<T>(go_h + b * H, H);
        // c_t reaches L directly and through h_t
        gc += CRow<T>(go_c + b * H, H) + gh * o * (T(1) - tc * tc);
        T* d = dgates + (t * B + b) * G;
        Row<T>(d, H) = gc * g * i * (T(1) - i);
        Row<T>(d + H, H) = gc * CRow<T>(c_prev + b * H, H) * f * (T(1) - f);
        Row<T>(d + 2 * H, H) = gc * i * (T(1) - g * g);
        Row<T>(d + 3 * H, H) = gh * tc * o * (T(1) - o);
        gc *= f;  // dL/dc_{t-1}
      }
      const T* d_t = dgates + (t * B + b0) * G;
      if (weights) parts[s].add(rows, d_t, h_prev + b0 * H);
      w.backward(rows, d_t, G, dh.data(), H);  // dh = dgates_t W_hh
    }
    std::memcpy(dh0 + b0 * H, dh.data(), rows * H * sizeof(T));
    std::memcpy(dc0 + b0 * H, dc.data(), rows * H * sizeof(T));
  });
  sum_weight_grads(parts, dw, db);
}

}  // namespace

void gru_sequence_forward(const View& gi, const View& h0, const View& w_hh, const View& b_hh, const View& out,
                          const View& saved) {
  dispatch_floating("gru_recurrence", h0.dtype(), [&](auto tag) {
    gru_forward_typed<decltype(tag)>(gi, h0, w_hh, b_hh, out, saved);
  });
}

void gru_sequence_backward(const View& grad_out, const View& saved, const View& out, const View& h0,
                           const View& w_hh, const View& grad_gi, const View& grad_h0, const View& grad_w_hh,
                           const View& grad_b_hh) {
  dispatch_floating("gru_recurrence", h0.dtype(), [&](auto tag) {
    gru_backward_typed<decltype(tag)>(grad_out, saved, out, h0, w_hh, grad_gi, grad_h0, grad_w_hh, grad_b_hh);
  });
}

void lstm_sequence_forward(const View& gi, const View& h0, const View& c0, const View& w_hh, const View& b_hh,
                           const View& hc, const View& saved) {
  dispatch_floating("lstm_recurrence", h0.dtype(), [&](auto tag) {
    lstm_forward_typed<decltype(tag)>(gi, h0, c0, w_hh, b_hh, hc, saved);
  });
}

void lstm_sequence_backward(const View& grad_hc, const View& saved, const View& hc, const View& h0,
                            const View& c0, const View& w_hh, const View& grad_gates, const View& grad_h0,
                            const View& grad_c0, const View& grad_w_hh, const View& grad_b_hh) {
  dispatch_floating("lstm_recurrence", h0.dtype(), [&](auto tag) {
    lstm_backward_typed<decltype(tag)>(grad_hc, saved, hc, h0, c0, w_hh, grad_gates, grad_h0, grad_c0, grad_w_hh,
                                       grad_b_hh);
  });
}

}  // namespace nova::cpu
#pragma GCC diagnostic pop
