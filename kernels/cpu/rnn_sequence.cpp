// kernels/cpu/rnn_sequence.cpp: the whole-sequence GRU / LSTM kernels (see
// kernels/cpu/rnn_sequence.h).
//
// Forward, per step t, for the rows of one batch slice:
//   gi_t = x_t W_ih^T + b_ih  into scratch rows (layer kernels only; the
//                             recurrence kernels read gi_t from their gi)
//   gh = h_{t-1} W_hh^T       small::gemm into the saved rows (ldc 4H / 5H)
//   gates from gi_t + gh + b_hh, h_t (c_t)   Eigen arrays, in place
// Backward, per step t from the last:
//   the fused gate backward of kernels/rnn_gates_math.h (as Eigen arrays)
//   gives step t's gate gradients dgh_t; dh_{t-1} = dgh_t W_hh (+ g z, GRU);
//   d W_hh += dgh_t^T h_{t-1} and d b_hh += dgh_t, per slice, while both
//   are in cache; the slices' sums are added in slice order at the end.
//   The layer kernels do the same for W_ih (d W_ih += dgi_t^T x_t, d b_ih)
//   and form dx_t = dgi_t W_ih.
// One GEMM over all T B rows after the loop (cpu::gemm, OpenBLAS) was 7%
// slower on a whole GRU training step at B 128, H 100 (a third of that
// GEMM's time was packing the [T B, 3H] gradient from memory), and needed a
// [T, B, G] workspace. The products are kernels/cpu/small_gemm.h's, against
// W_hh (and W_ih) packed once per call.
//
// Gate math: Eigen arrays a row of H at a time (SIMD exp and tanh), as
// kernels/cpu/rnn_gates.cpp does; scalar libm exp / tanh per element made a
// first version of this loop slower than the per-step path.
#include "kernels/cpu/rnn_sequence.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

// GCC 12 reports Eigen's AVX-512 float tanh as maybe-uninitialized wherever
// it is inlined; a false positive (see kernels/cpu/rnn_gates.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include "kernels/cpu/small_gemm.h"

namespace nova::cpu {

namespace {

using small::PackedWeights;

/// One slice's gradient of a weight W [G, K] applied as a W^T to rows a
/// [rows, K] (W_hh to h_{t-1}, W_ih to x_t): d W = sum_t d_t^T a_t and the
/// bias's d b = sum_t d_t, accumulated step by step while d_t and a_t are
/// in cache: as one GEMM over all T B rows after the loop (OpenBLAS), a
/// third of that GEMM's time went to packing the [T B, G] gradient from
/// memory.
template <typename T>
struct WeightGrads {
  int64_t G = 0, K = 0, ldp = 0;
  bool want_dw = false, want_db = false;
  std::vector<T> dw, db, ap;  // ap: a_t of the slice, padded (a packed operand)

  WeightGrads() = default;
  WeightGrads(int64_t G_, int64_t K_, int64_t rows, bool dw_, bool db_)
      : G(G_), K(K_), ldp(small::padded_cols<T>(K_)), want_dw(dw_), want_db(db_) {
    if (want_dw) {
      dw.assign(G * K, T(0));
      ap.assign(rows * ldp, T(0));
    }
    if (want_db) db.assign(G, T(0));
  }
  /// d [rows, G] (row stride G); a[r, k] at a[r ars + k acs].
  void add(int64_t rows, const T* d, const T* a, int64_t ars, int64_t acs) {
    if (want_db)
      for (int64_t b = 0; b < rows; ++b)
        for (int64_t j = 0; j < G; ++j) db[j] += d[b * G + j];
    if (!want_dw) return;
    for (int64_t b = 0; b < rows; ++b) {
      T* dst = ap.data() + b * ldp;
      if (acs == 1) {
        std::memcpy(dst, a + b * ars, K * sizeof(T));
      } else {
        for (int64_t k = 0; k < K; ++k) dst[k] = a[b * ars + k * acs];
      }
    }
    // dw[G, K] += d^T [G, rows] a [rows, K]
    small::gemm<true>(G, K, rows, d, 1, G, ap.data(), ldp, dw.data(), K);
  }
};

/// Sums the slices' weight gradients into dw and db (null: skipped), in
/// slice order, so that a given thread count always gives the same bits.
template <typename T>
void sum_weight_grads(const std::vector<WeightGrads<T>>& parts, T* dw, T* db) {
  for (size_t s = 0; s < parts.size(); ++s) {
    const WeightGrads<T>& p = parts[s];
    if (dw)
      for (int64_t k = 0; k < p.G * p.K; ++k) dw[k] = s == 0 ? p.dw[k] : dw[k] + p.dw[k];
    if (db)
      for (int64_t k = 0; k < p.G; ++k) db[k] = s == 0 ? p.db[k] : db[k] + p.db[k];
  }
}

// ---- the input side: given projections, or x projected in the loop ----

/// x [T, B, I] of a layer op, any strides: step t's rows at x + t st, row b
/// at + b sb, column i at + i si.
template <typename T>
struct Input {
  const T* x = nullptr;
  int64_t I = 0, st = 0, sb = 0, si = 0;

  explicit Input(const View& v)
      : x(v.data<T>()), I(v.size(2)), st(v.strides()[0]), sb(v.strides()[1]), si(v.strides()[2]) {}
  const T* rows(int64_t t, int64_t b0) const { return x + t * st + b0 * sb; }
};

/// Step t's input projections gi_t [rows, G] (row stride G): rows of the
/// recurrence ops' gi [T, B, G], or (layer ops) x_t W_ih^T + b_ih formed
/// into the slice's scratch rows: the [T, B, G] projection never goes
/// through memory (at B 128, T 100, H 100 a GRU's is 15 MB, written by one
/// GEMM and read back by the loop, and its gradient the same again).
template <typename T>
struct Projections {
  int64_t B = 0, G = 0;
  const T* gi = nullptr;  // given
  std::unique_ptr<Input<T>> x;
  PackedWeights<T> w;  // W_ih^T
  std::vector<T> b;    // b_ih; empty: no bias

  Projections(const View& gi_, int64_t B_, int64_t G_) : B(B_), G(G_), gi(gi_.data<T>()) {}
  Projections(const LayerInput& in, int64_t B_, int64_t G_)
      : B(B_), G(G_), x(std::make_unique<Input<T>>(in.x)),
        w(in.w_ih.data<T>(), G_, in.x.size(2), /*transposed=*/true) {
    if (in.b_ih.defined()) b.assign(in.b_ih.data<T>(), in.b_ih.data<T>() + G);
  }
  /// The rows [b0, b1) of step t; `scratch` [rows, G] holds them if formed.
  const T* rows(int64_t t, int64_t b0, int64_t b1, T* scratch) const {
    if (gi) return gi + (t * B + b0) * G;
    const int64_t n = b1 - b0;
    w.forward(n, x->rows(t, b0), x->sb, x->si, scratch, G);
    if (!b.empty())  // after the product, as linear adds its bias: the same roundings
      for (int64_t r = 0; r < n; ++r)
        for (int64_t j = 0; j < G; ++j) scratch[r * G + j] += b[j];
    return scratch;
  }
  /// Whether a slice needs scratch rows.
  bool formed() const { return gi == nullptr; }
};

/// Where step t's gradients of gi go: into the recurrence ops' grad_gi
/// [T, B, G], or (layer ops) from the slice's scratch rows into d W_ih,
/// d b_ih (per-slice WeightGrads, summed at the end) and dx_t = dgi_t W_ih.
template <typename T>
struct ProjectionGrads {
  int64_t B = 0, G = 0;
  T* dgi = nullptr;  // given
  std::unique_ptr<Input<T>> x;
  PackedWeights<T> w;  // W_ih, for dx
  T* dx = nullptr;     // [T, B, I] contiguous, or null
  T* dw = nullptr;
  T* db = nullptr;
  bool db_from_gates = false;  // LSTM: d b_ih = d b_hh (the same gate gradients), summed once
  std::vector<WeightGrads<T>> parts;

  ProjectionGrads(const View& dgi_, int64_t B_, int64_t G_) : B(B_), G(G_), dgi(dgi_.data<T>()) {}
  ProjectionGrads(const LayerInput& in, const LayerInputGrads& g, int64_t B_, int64_t G_, bool shared_bias)
      : B(B_), G(G_), x(std::make_unique<Input<T>>(in.x)), dx(g.grad_x.data_or_null<T>()),
        dw(g.grad_w_ih.data_or_null<T>()), db(g.grad_b_ih.data_or_null<T>()), db_from_gates(shared_bias) {
    if (dx) w = PackedWeights<T>(in.w_ih.data<T>(), G, in.x.size(2), /*transposed=*/false);
  }
  /// Whether the gate gradients go through scratch rows.
  bool formed() const { return dgi == nullptr; }
  /// The slices' accumulators (call before the slices run).
  void start(int slices, int64_t rows_max) {
    if (formed() && (dw || (db && !db_from_gates)))
      for (int s = 0; s < slices; ++s) parts.emplace_back(G, x->I, rows_max, dw != nullptr, db && !db_from_gates);
  }
  /// The rows [b0, ...) of step t that receive gi's gradient, or `scratch`.
  T* rows(int64_t t, int64_t b0, T* scratch) const { return dgi ? dgi + (t * B + b0) * G : scratch; }
  /// Takes step t's gradient rows [b0, b1) of slice s (formed only).
  void take(int s, int64_t t, int64_t b0, int64_t b1, const T* d) {
    if (!formed()) return;
    const int64_t n = b1 - b0;
    if (!parts.empty()) parts[s].add(n, d, x->rows(t, b0), x->sb, x->si);
    if (dx) w.backward(n, d, G, dx + (t * B + b0) * x->I, x->I);
  }
  /// Sums the slices into d W_ih and d b_ih (not db_from_gates).
  void finish() {
    if (!parts.empty()) sum_weight_grads<T>(parts, dw, db_from_gates ? nullptr : db);
  }
};

// ---- threads: one batch slice each, for all T steps ----

/// How many batch slices: one per thread, each of at least one 8-row GEMM
/// block. The slices are independent for all T steps (no barrier per step),
/// so the team starts once per call.
int slices(int64_t B) {
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  return int(std::max<int64_t>(1, std::min<int64_t>(nt, B / small::kBlockRows)));
}

/// The most rows any of n slices of B gets.
int64_t slice_rows_max(int n, int64_t B) { return (B + n - 1) / n; }

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
void gru_forward_typed(const Projections<T>& proj, const View& h0_v, const View& w_v, const View& b_v,
                       const View& out_v, const View& saved_v) {
  const int64_t T_ = out_v.size(0), B = h0_v.size(0), H = h0_v.size(1), G = 3 * H;
  const T* h0 = h0_v.data<T>();
  T* out = out_v.data<T>();
  T* saved = saved_v.data<T>();
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/true);
  const std::vector<T> bias = bias_row<T>(b_v, G);
  const CRow<T> b_r(bias.data(), H), b_z(bias.data() + H, H), b_n(bias.data() + 2 * H, H);
  const int n_slices = slices(B);
  for_slices(n_slices, B, [&](int, int64_t b0, int64_t b1) {
    std::vector<T> scratch(proj.formed() ? (b1 - b0) * G : 0);
    for (int64_t t = 0; t < T_; ++t) {
      const T* h_prev = t > 0 ? out + (t - 1) * B * H : h0;
      T* s_t = saved + t * B * 4 * H;
      const T* gi_t = proj.rows(t, b0, b1, scratch.data());
      w.forward(b1 - b0, h_prev + b0 * H, H, 1, s_t + b0 * 4 * H, 4 * H);  // gh into (r, z, n) of saved
      for (int64_t b = b0; b < b1; ++b) {
        const T* g = gi_t + (b - b0) * G;
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
void gru_backward_typed(ProjectionGrads<T>& pg, const View& go_v, const View& saved_v, const View& out_v,
                        const View& h0_v, const View& w_v, const View& dh0_v, const View& dw_v, const View& db_v) {
  const int64_t T_ = out_v.size(0), B = out_v.size(1), H = out_v.size(2), G = 3 * H;
  const T* go = go_v.data<T>();
  const T* saved = saved_v.data<T>();
  const T* out = out_v.data<T>();
  const T* h0 = h0_v.data<T>();
  T* dh0 = dh0_v.data<T>();
  T* dw = dw_v.data_or_null<T>();
  T* db = db_v.data_or_null<T>();
  const bool weights = dw || db;
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/false);
  const int n = slices(B);
  std::vector<WeightGrads<T>> parts;
  if (weights)
    for (int s = 0; s < n; ++s) parts.emplace_back(G, H, slice_rows_max(n, B), dw != nullptr, db != nullptr);
  pg.start(n, slice_rows_max(n, B));
  for_slices(n, B, [&](int s, int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    // dh: dL/dh_t from the steps after t, ending as dL/dh0; dd: g z, h's
    // direct path; dgh: step t's gradient of h W_hh^T + b_hh
    std::vector<T> dh(rows * H, T(0)), dd(rows * H), dgh(rows * G), scratch(pg.formed() ? rows * G : 0);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      const T* h_prev = t > 0 ? out + (t - 1) * B * H : h0;
      T* dgi_t = pg.rows(t, b0, scratch.data());
      for (int64_t b = b0; b < b1; ++b) {
        const T* s = saved + (t * B + b) * 4 * H;
        const CRow<T> r(s, H), z(s + H, H), n(s + 2 * H, H), gh_n(s + 3 * H, H);
        Row<T> g(dh.data() + (b - b0) * H, H);
        g += CRow<T>(go + (t * B + b) * H, H);
        T* di = dgi_t + (b - b0) * G;
        T* dg = dgh.data() + (b - b0) * G;
        Row<T> dr(di, H), dz(di + H, H), dn(di + 2 * H, H);
        dn = g * (T(1) - z) * (T(1) - n * n);
        dz = g * (CRow<T>(h_prev + b * H, H) - n) * z * (T(1) - z);
        dr = dn * gh_n * r * (T(1) - r);
        std::memcpy(dg, di, 2 * H * sizeof(T));
        Row<T>(dg + 2 * H, H) = dn * r;
        Row<T>(dd.data() + (b - b0) * H, H) = g * z;
      }
      pg.take(s, t, b0, b1, dgi_t);
      if (weights) parts[s].add(rows, dgh.data(), h_prev + b0 * H, H, 1);
      w.backward(rows, dgh.data(), G, dh.data(), H);  // dh = dgh_t W_hh
      for (int64_t k = 0; k < rows * H; ++k) dh[k] += dd[k];
    }
    std::memcpy(dh0 + b0 * H, dh.data(), rows * H * sizeof(T));
  });
  sum_weight_grads(parts, dw, db);
  pg.finish();
}

// ---- LSTM ----

template <typename T>
void lstm_forward_typed(const Projections<T>& proj, const View& h0_v, const View& c0_v, const View& w_v,
                        const View& b_v, const View& hc_v, const View& saved_v) {
  const int64_t T_ = hc_v.size(0), B = h0_v.size(0), H = h0_v.size(1), G = 4 * H;
  const T* h0 = h0_v.data<T>();
  const T* c0 = c0_v.data<T>();
  T* hc = hc_v.data<T>();
  T* saved = saved_v.data<T>();
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/true);
  const std::vector<T> bias = bias_row<T>(b_v, G);
  const T* bi = bias.data();
  for_slices(slices(B), B, [&](int, int64_t b0, int64_t b1) {
    std::vector<T> scratch(proj.formed() ? (b1 - b0) * G : 0);
    for (int64_t t = 0; t < T_; ++t) {
      const T* h_prev = t > 0 ? hc + (t - 1) * 2 * B * H : h0;
      const T* c_prev = t > 0 ? hc + (t - 1) * 2 * B * H + B * H : c0;
      T* h_new = hc + t * 2 * B * H;
      T* c_new = h_new + B * H;
      T* s_t = saved + t * B * 5 * H;
      const T* gi_t = proj.rows(t, b0, b1, scratch.data());
      w.forward(b1 - b0, h_prev + b0 * H, H, 1, s_t + b0 * 5 * H, 5 * H);  // gh into (i, f, g, o) of saved
      for (int64_t b = b0; b < b1; ++b) {
        const T* g_in = gi_t + (b - b0) * G;
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
void lstm_backward_typed(ProjectionGrads<T>& pg, const View& go_v, const View& saved_v, const View& hc_v,
                         const View& h0_v, const View& c0_v, const View& w_v, const View& dh0_v, const View& dc0_v,
                         const View& dw_v, const View& db_v, T* db_ih) {
  const int64_t T_ = hc_v.size(0), B = hc_v.size(2), H = hc_v.size(3), G = 4 * H;
  const T* go = go_v.data<T>();
  const T* saved = saved_v.data<T>();
  const T* hc = hc_v.data<T>();
  const T* h0 = h0_v.data<T>();
  const T* c0 = c0_v.data<T>();
  T* dh0 = dh0_v.data<T>();
  T* dc0 = dc0_v.data<T>();
  T* dw = dw_v.data_or_null<T>();
  T* db = db_v.data_or_null<T>();
  const bool weights = dw || db || db_ih;
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/false);
  const int n = slices(B);
  std::vector<WeightGrads<T>> parts;
  if (weights)
    for (int s = 0; s < n; ++s)
      parts.emplace_back(G, H, slice_rows_max(n, B), dw != nullptr, db != nullptr || db_ih != nullptr);
  pg.start(n, slice_rows_max(n, B));
  for_slices(n, B, [&](int s, int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    // dL/dh_t and dL/dc_t from the steps after t, ending as dL/dh0, dL/dc0
    std::vector<T> dh(rows * H, T(0)), dc(rows * H, T(0)), scratch(pg.formed() ? rows * G : 0);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      const T* h_prev = t > 0 ? hc + (t - 1) * 2 * B * H : h0;
      const T* c_prev = t > 0 ? hc + (t - 1) * 2 * B * H + B * H : c0;
      const T* go_h = go + t * 2 * B * H;
      const T* go_c = go_h + B * H;
      T* d_t = pg.rows(t, b0, scratch.data());  // the gate gradients: of gi and of gh alike
      for (int64_t b = b0; b < b1; ++b) {
        const T* s = saved + (t * B + b) * 5 * H;
        const CRow<T> i(s, H), f(s + H, H), g(s + 2 * H, H), o(s + 3 * H, H), tc(s + 4 * H, H);
        Row<T> gh(dh.data() + (b - b0) * H, H), gc(dc.data() + (b - b0) * H, H);
        gh += CRow<T>(go_h + b * H, H);
        // c_t reaches L directly and through h_t
        gc += CRow<T>(go_c + b * H, H) + gh * o * (T(1) - tc * tc);
        T* d = d_t + (b - b0) * G;
        Row<T>(d, H) = gc * g * i * (T(1) - i);
        Row<T>(d + H, H) = gc * CRow<T>(c_prev + b * H, H) * f * (T(1) - f);
        Row<T>(d + 2 * H, H) = gc * i * (T(1) - g * g);
        Row<T>(d + 3 * H, H) = gh * tc * o * (T(1) - o);
        gc *= f;  // dL/dc_{t-1}
      }
      pg.take(s, t, b0, b1, d_t);
      if (weights) parts[s].add(rows, d_t, h_prev + b0 * H, H, 1);
      w.backward(rows, d_t, G, dh.data(), H);  // dh = dgates_t W_hh
    }
    std::memcpy(dh0 + b0 * H, dh.data(), rows * H * sizeof(T));
    std::memcpy(dc0 + b0 * H, dc.data(), rows * H * sizeof(T));
  });
  sum_weight_grads(parts, dw, db);
  if (db_ih) sum_weight_grads<T>(parts, nullptr, db_ih);
  pg.finish();
}

/// The rows of a layer op's x, checked here as well as by the op: the
/// kernels index with its strides.
void check_layer_input(const char* op, const LayerInput& in, int64_t T, int64_t B, int64_t G) {
  NOVA_CHECK(in.x.dim() == 3 && in.x.size(0) == T && in.x.size(1) == B, "{}: x must be [T, B, I] = [{}, {}, I]",
             op, T, B);
  NOVA_CHECK(in.w_ih.shape() == Shape({G, in.x.size(2)}) && in.w_ih.is_contiguous(),
             "{}: w_ih must be contiguous [{}, {}]", op, G, in.x.size(2));
  NOVA_CHECK(!in.b_ih.defined() || (in.b_ih.shape() == Shape({G}) && in.b_ih.is_contiguous()),
             "{}: b_ih must be contiguous [{}]", op, G);
}

}  // namespace

void gru_sequence_forward(const View& gi, const View& h0, const View& w_hh, const View& b_hh, const View& out,
                          const View& saved) {
  dispatch_floating("gru_recurrence", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gru_forward_typed<T>(Projections<T>(gi, h0.size(0), 3 * h0.size(1)), h0, w_hh, b_hh, out, saved);
  });
}

void gru_sequence_backward(const View& grad_out, const View& saved, const View& out, const View& h0,
                           const View& w_hh, const View& grad_gi, const View& grad_h0, const View& grad_w_hh,
                           const View& grad_b_hh) {
  dispatch_floating("gru_recurrence", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    ProjectionGrads<T> pg(grad_gi, h0.size(0), 3 * h0.size(1));
    gru_backward_typed<T>(pg, grad_out, saved, out, h0, w_hh, grad_h0, grad_w_hh, grad_b_hh);
  });
}

void gru_layer_forward(const LayerInput& in, const View& h0, const View& w_hh, const View& b_hh, const View& out,
                       const View& saved) {
  check_layer_input("gru_layer", in, out.size(0), h0.size(0), 3 * h0.size(1));
  dispatch_floating("gru_layer", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gru_forward_typed<T>(Projections<T>(in, h0.size(0), 3 * h0.size(1)), h0, w_hh, b_hh, out, saved);
  });
}

void gru_layer_backward(const View& grad_out, const View& saved, const View& out, const View& h0, const View& w_hh,
                        const LayerInput& in, const LayerInputGrads& in_grads, const View& grad_h0,
                        const View& grad_w_hh, const View& grad_b_hh) {
  check_layer_input("gru_layer", in, out.size(0), h0.size(0), 3 * h0.size(1));
  dispatch_floating("gru_layer", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    ProjectionGrads<T> pg(in, in_grads, h0.size(0), 3 * h0.size(1), /*shared_bias=*/false);
    gru_backward_typed<T>(pg, grad_out, saved, out, h0, w_hh, grad_h0, grad_w_hh, grad_b_hh);
  });
}

void lstm_sequence_forward(const View& gi, const View& h0, const View& c0, const View& w_hh, const View& b_hh,
                           const View& hc, const View& saved) {
  dispatch_floating("lstm_recurrence", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    lstm_forward_typed<T>(Projections<T>(gi, h0.size(0), 4 * h0.size(1)), h0, c0, w_hh, b_hh, hc, saved);
  });
}

void lstm_sequence_backward(const View& grad_hc, const View& saved, const View& hc, const View& h0,
                            const View& c0, const View& w_hh, const View& grad_gates, const View& grad_h0,
                            const View& grad_c0, const View& grad_w_hh, const View& grad_b_hh) {
  dispatch_floating("lstm_recurrence", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    ProjectionGrads<T> pg(grad_gates, h0.size(0), 4 * h0.size(1));
    lstm_backward_typed<T>(pg, grad_hc, saved, hc, h0, c0, w_hh, grad_h0, grad_c0, grad_w_hh, grad_b_hh, nullptr);
  });
}

void lstm_layer_forward(const LayerInput& in, const View& h0, const View& c0, const View& w_hh, const View& b_hh,
                        const View& hc, const View& saved) {
  check_layer_input("lstm_layer", in, hc.size(0), h0.size(0), 4 * h0.size(1));
  dispatch_floating("lstm_layer", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    lstm_forward_typed<T>(Projections<T>(in, h0.size(0), 4 * h0.size(1)), h0, c0, w_hh, b_hh, hc, saved);
  });
}

void lstm_layer_backward(const View& grad_hc, const View& saved, const View& hc, const View& h0, const View& c0,
                         const View& w_hh, const LayerInput& in, const LayerInputGrads& in_grads,
                         const View& grad_h0, const View& grad_c0, const View& grad_w_hh, const View& grad_b_hh) {
  check_layer_input("lstm_layer", in, hc.size(0), h0.size(0), 4 * h0.size(1));
  dispatch_floating("lstm_layer", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    ProjectionGrads<T> pg(in, in_grads, h0.size(0), 4 * h0.size(1), /*shared_bias=*/true);
    lstm_backward_typed<T>(pg, grad_hc, saved, hc, h0, c0, w_hh, grad_h0, grad_c0, grad_w_hh, grad_b_hh,
                           in_grads.grad_b_ih.data_or_null<T>());
  });
}

}  // namespace nova::cpu
#pragma GCC diagnostic pop
