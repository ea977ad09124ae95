// kernels/cpu/rnn_sequence.cpp: the whole-sequence GRU / LSTM kernels (see
// kernels/cpu/rnn_sequence.h).
//
// Forward, per step t, for the rows of one batch slice:
//   gi_t = x_t W_ih^T         into scratch rows (layer kernels only; the
//                             recurrence kernels read gi_t from their gi)
//   gh = h_{t-1} W_hh^T       small::gemm into the saved rows (ldc 4H / 5H)
//   gates from gi_t (+ b_ih) + gh + b_hh, h_t (c_t), in one pass per row
// Backward, per step t from the last:
//   the fused gate backward of kernels/rnn_gates_math.h, one pass per row,
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
// Gate math: every gate of a row in one pass of whole SIMD packets, the last
// one masked (kernels/cpu/simd_rows.h: Eigen's packet exp and tanh for every
// element). Eigen arrays a gate at a time, as a first version had it, ran
// scalar libm code at both ends of each unaligned row: a third of the gate
// math's time at H 100. Scalar libm exp / tanh per element made an even
// earlier version slower than the per-step path.
#include "kernels/cpu/rnn_sequence.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

// GCC 12 reports Eigen's AVX-512 float tanh as maybe-uninitialized (and its
// masked loads' pass-through operand as uninitialized) wherever they are
// inlined; false positives (see kernels/cpu/rnn_gates.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <Eigen/Core>

#include "kernels/cpu/simd_rows.h"
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
///
/// Two orientations of the same sums (each element one chain over the
/// step's rows, added to the running total: the same bits). Transposed,
/// d W^T [K, G] += a^T d with d_t itself the packed operand: it needs d_t's
/// rows padded to padded_cols(G) with zeros (the kernels' own scratch rows).
/// Otherwise d W [G, K] += d^T a, a_t copied into a packed buffer. The
/// first puts G (3H, 4H) along the SIMD lanes: at H 100 and I 10 the other
/// ran G rows against K = 100 or 10 columns, a one-vector block for the
/// last 4 or all 10 of them (a GRU step's d W_hh and d W_ih: 14% more work).
template <typename T>
struct WeightGrads {
  int64_t G = 0, K = 0, ldp = 0;
  bool want_dw = false, want_db = false, transposed = false;
  std::vector<T> dw, db, ap;  // dw [G, K], or [K, G] transposed; ap: a_t packed

  WeightGrads() = default;
  WeightGrads(int64_t G_, int64_t K_, int64_t rows, bool dw_, bool db_, bool transposed_)
      : G(G_), K(K_), ldp(small::padded_cols<T>(K_)), want_dw(dw_), want_db(db_), transposed(transposed_) {
    if (want_dw) {
      dw.assign(G * K, T(0));
      if (!transposed) ap.assign(rows * ldp, T(0));
    }
    if (want_db) db.assign(G, T(0));
  }
  /// d [rows, G] (row stride ldd; transposed: ldd >= padded_cols(G), the
  /// columns past G zero); a[r, k] at a[r ars + k acs].
  void add(int64_t rows, const T* d, int64_t ldd, const T* a, int64_t ars, int64_t acs) {
    if (want_db)
      for (int64_t b = 0; b < rows; ++b)
        for (int64_t j = 0; j < G; ++j) db[j] += d[b * ldd + j];
    if (!want_dw) return;
    if (transposed) {  // dw^T [K, G] += a^T [K, rows] d [rows, G]
      small::gemm<true>(K, G, rows, a, acs, ars, d, ldd, dw.data(), G);
      return;
    }
    for (int64_t b = 0; b < rows; ++b) {
      T* dst = ap.data() + b * ldp;
      if (acs == 1) {
        std::memcpy(dst, a + b * ars, K * sizeof(T));
      } else {
        for (int64_t k = 0; k < K; ++k) dst[k] = a[b * ars + k * acs];
      }
    }
    // dw[G, K] += d^T [G, rows] a [rows, K]
    small::gemm<true>(G, K, rows, d, 1, ldd, ap.data(), ldp, dw.data(), K);
  }
  /// Element (j, k) of d W.
  T dw_at(int64_t j, int64_t k) const { return transposed ? dw[k * G + j] : dw[j * K + k]; }
};

/// Sums the slices' weight gradients into dw [G, K] and db (null: skipped),
/// in slice order, so that a given thread count always gives the same bits.
template <typename T>
void sum_weight_grads(const std::vector<WeightGrads<T>>& parts, T* dw, T* db) {
  for (size_t s = 0; s < parts.size(); ++s) {
    const WeightGrads<T>& p = parts[s];
    if (dw)
      for (int64_t j = 0; j < p.G; ++j)
        for (int64_t k = 0; k < p.K; ++k) dw[j * p.K + k] = s == 0 ? p.dw_at(j, k) : dw[j * p.K + k] + p.dw_at(j, k);
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

  Input() = default;  // the recurrence ops: no x
  explicit Input(const View& v)
      : x(v.data<T>()), I(v.size(2)), st(v.strides()[0]), sb(v.strides()[1]), si(v.strides()[2]) {}
  const T* rows(int64_t t, int64_t b0) const { return x + t * st + b0 * sb; }
};

/// Step t's input projections gi_t [rows, G] (row stride G): rows of the
/// recurrence ops' gi [T, B, G], or (layer ops) x_t W_ih^T formed into the
/// slice's scratch rows, b_ih added where the gate math reads them
/// (gi_plus_bias): the [T, B, G] projection never goes through memory (at
/// B 128, T 100, H 100 a GRU's is 15 MB, written by one GEMM and read back
/// by the loop, and its gradient the same again).
template <typename T>
struct Projections {
  int64_t B = 0, G = 0;
  const T* gi = nullptr;  // given
  Input<T> x;  // layer ops only
  PackedWeights<T> w;  // W_ih^T
  std::vector<T> b;    // b_ih; empty: no bias

  Projections(const View& gi_, int64_t B_, int64_t G_) : B(B_), G(G_), gi(gi_.data<T>()) {}
  Projections(const LayerInput& in, int64_t B_, int64_t G_)
      : B(B_), G(G_), x(in.x),
        w(in.w_ih.data<T>(), G_, in.x.size(2), /*transposed=*/true) {
    if (in.b_ih.defined()) b.assign(in.b_ih.data<T>(), in.b_ih.data<T>() + G);
  }
  /// The rows [b0, b1) of step t; `scratch` [rows, G] holds them if formed.
  const T* rows(int64_t t, int64_t b0, int64_t b1, T* scratch) const {
    if (gi) return gi + (t * B + b0) * G;
    w.forward(b1 - b0, x.rows(t, b0), x.sb, x.si, scratch, G);
    return scratch;
  }
  /// Whether a slice needs scratch rows.
  bool formed() const { return gi == nullptr; }
  /// The packet of gi + b_ih at column `col` of a row g of rows(): ld(p)
  /// loads the packet at p. b_ih is added after the product, as linear adds
  /// it, so a given gi and a formed one round alike.
  template <typename Load>
  auto gi_plus_bias(const Load& ld, const T* g, int64_t col) const {
    auto v = ld(g + col);
    if (!b.empty()) v = v + ld(b.data() + col);
    return v;
  }
};

/// Where step t's gradients of gi go: into the recurrence ops' grad_gi
/// [T, B, G], or (layer ops) from the slice's scratch rows into d W_ih,
/// d b_ih (per-slice WeightGrads, summed at the end) and dx_t = dgi_t W_ih.
template <typename T>
struct ProjectionGrads {
  int64_t B = 0, G = 0;
  T* dgi = nullptr;  // given
  Input<T> x;  // layer ops only
  PackedWeights<T> w;  // W_ih, for dx
  T* dx = nullptr;     // [T, B, I] contiguous, or null
  T* dw = nullptr;
  T* db = nullptr;
  bool db_from_gates = false;  // LSTM: d b_ih = d b_hh (the same gate gradients), summed once
  std::vector<WeightGrads<T>> parts;

  ProjectionGrads(const View& dgi_, int64_t B_, int64_t G_) : B(B_), G(G_), dgi(dgi_.data<T>()) {}
  ProjectionGrads(const LayerInput& in, const LayerInputGrads& g, int64_t B_, int64_t G_, bool shared_bias)
      : B(B_), G(G_), x(in.x), dx(g.grad_x.data_or_null<T>()),
        dw(g.grad_w_ih.data_or_null<T>()), db(g.grad_b_ih.data_or_null<T>()), db_from_gates(shared_bias) {
    if (dx) w = PackedWeights<T>(in.w_ih.data<T>(), G, in.x.size(2), /*transposed=*/false);
  }
  /// Whether the gate gradients go through scratch rows.
  bool formed() const { return dgi == nullptr; }
  /// The row stride of rows(): G in the given grad_gi; scratch rows are
  /// padded (zeros past G) to serve as a packed operand (WeightGrads).
  int64_t ld() const { return formed() ? small::padded_cols<T>(G) : G; }
  /// The slices' accumulators (call before the slices run).
  void start(int slices, int64_t rows_max) {
    if (formed() && (dw || (db && !db_from_gates)))
      for (int s = 0; s < slices; ++s)
        parts.emplace_back(G, x.I, rows_max, dw != nullptr, db && !db_from_gates, /*transposed=*/true);
  }
  /// The rows [b0, ...) of step t that receive gi's gradient (row stride
  /// ld()), or `scratch` (rows x ld(), zero-filled once).
  T* rows(int64_t t, int64_t b0, T* scratch) const { return dgi ? dgi + (t * B + b0) * G : scratch; }
  /// Takes step t's gradient rows [b0, b1) of slice s (formed only).
  void take(int s, int64_t t, int64_t b0, int64_t b1, const T* d) {
    if (!formed()) return;
    const int64_t n = b1 - b0;
    if (!parts.empty()) parts[s].add(n, d, ld(), x.rows(t, b0), x.sb, x.si);
    if (dx) w.backward(n, d, ld(), dx + (t * B + b0) * x.I, x.I);
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

// ---- gate math, a row of H (kernels/cpu/simd_rows.h: whole packets) ----

using simd_rows::for_each_packet;
using simd_rows::sigmoid;

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
  using L = simd_rows::Lanes<T>;
  using P = typename L::P;
  const int64_t T_ = out_v.size(0), B = h0_v.size(0), H = h0_v.size(1), G = 3 * H;
  const T* h0 = h0_v.data<T>();
  T* out = out_v.data<T>();
  T* saved = saved_v.data<T>();
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/true);
  const std::vector<T> bias_v = bias_row<T>(b_v, G);
  const T* bias = bias_v.data();
  for_slices(slices(B), B, [&](int, int64_t b0, int64_t b1) {
    std::vector<T> scratch(proj.formed() ? (b1 - b0) * G : 0);
    for (int64_t t = 0; t < T_; ++t) {
      const T* h_prev = t > 0 ? out + (t - 1) * B * H : h0;
      T* s_t = saved + t * B * 4 * H;
      const T* gi_t = proj.rows(t, b0, b1, scratch.data());
      w.forward(b1 - b0, h_prev + b0 * H, H, 1, s_t + b0 * 4 * H, 4 * H);  // gh into (r, z, n) of saved
      for (int64_t b = b0; b < b1; ++b) {
        const T* g = gi_t + (b - b0) * G;
        T* s = s_t + b * 4 * H;  // r, z, n hold gh's blocks until overwritten
        const T* hp = h_prev + b * H;
        T* o = out + (t * B + b) * H;
        for_each_packet<T>(H, [&](int64_t j, int n_) {
          auto ld = [&](const T* p) { return L::load(p + j, n_); };
          const P gh_n = ld(s + 2 * H) + ld(bias + 2 * H);
          const P r = sigmoid<T>(proj.gi_plus_bias(ld, g, 0) + ld(s) + ld(bias));
          const P z = sigmoid<T>(proj.gi_plus_bias(ld, g, H) + ld(s + H) + ld(bias + H));
          const P n = L::tanh(proj.gi_plus_bias(ld, g, 2 * H) + r * gh_n);
          L::store(s + j, r, n_);
          L::store(s + H + j, z, n_);
          L::store(s + 2 * H + j, n, n_);
          L::store(s + 3 * H + j, gh_n, n_);
          L::store(o + j, n + z * (ld(hp) - n), n_);
        });
      }
    }
  });
}

template <typename T>
void gru_backward_typed(ProjectionGrads<T>& pg, const View& go_v, const View& saved_v, const View& out_v,
                        const View& h0_v, const View& w_v, const View& dh0_v, const View& dw_v, const View& db_v) {
  using L = simd_rows::Lanes<T>;
  using P = typename L::P;
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
  const int n_sl = slices(B);
  std::vector<WeightGrads<T>> parts;
  const int64_t ldg = small::padded_cols<T>(G);  // dgh's rows: a packed operand (WeightGrads)
  if (weights)
    for (int s = 0; s < n_sl; ++s)
      parts.emplace_back(G, H, slice_rows_max(n_sl, B), dw != nullptr, db != nullptr, /*transposed=*/true);
  pg.start(n_sl, slice_rows_max(n_sl, B));
  const int64_t ldi = pg.ld();
  for_slices(n_sl, B, [&](int sl, int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    // dh: dL/dh_t from the steps after t, ending as dL/dh0; dd: g z, h's
    // direct path; dgh: step t's gradient of h W_hh^T + b_hh
    std::vector<T> dh(rows * H, T(0)), dd(rows * H), dgh(rows * ldg, T(0)), scratch(pg.formed() ? rows * ldi : 0);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      const T* h_prev = t > 0 ? out + (t - 1) * B * H : h0;
      T* dgi_t = pg.rows(t, b0, scratch.data());
      for (int64_t b = b0; b < b1; ++b) {
        const T* s = saved + (t * B + b) * 4 * H;
        const T* hp = h_prev + b * H;
        const T* go_b = go + (t * B + b) * H;
        const T* dh_b = dh.data() + (b - b0) * H;
        T* di = dgi_t + (b - b0) * ldi;
        T* dg = dgh.data() + (b - b0) * ldg;
        T* dd_b = dd.data() + (b - b0) * H;
        for_each_packet<T>(H, [&](int64_t j, int n_) {
          auto ld = [&](const T* p) { return L::load(p + j, n_); };
          const P r = ld(s), z = ld(s + H), n = ld(s + 2 * H), gh_n = ld(s + 3 * H);
          const P g = ld(dh_b) + ld(go_b);  // dL/dh_t
          const P dn = g * (T(1) - z) * (T(1) - n * n);
          const P dz = g * (ld(hp) - n) * z * (T(1) - z);
          const P dr = dn * gh_n * r * (T(1) - r);
          L::store(di + j, dr, n_);
          L::store(di + H + j, dz, n_);
          L::store(di + 2 * H + j, dn, n_);
          L::store(dg + j, dr, n_);
          L::store(dg + H + j, dz, n_);
          L::store(dg + 2 * H + j, dn * r, n_);
          L::store(dd_b + j, g * z, n_);
        });
      }
      pg.take(sl, t, b0, b1, dgi_t);
      if (weights) parts[sl].add(rows, dgh.data(), ldg, h_prev + b0 * H, H, 1);
      w.backward(rows, dgh.data(), ldg, dh.data(), H);  // dh = dgh_t W_hh
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
  using L = simd_rows::Lanes<T>;
  using P = typename L::P;
  const int64_t T_ = hc_v.size(0), B = h0_v.size(0), H = h0_v.size(1), G = 4 * H;
  const T* h0 = h0_v.data<T>();
  const T* c0 = c0_v.data<T>();
  T* hc = hc_v.data<T>();
  T* saved = saved_v.data<T>();
  const PackedWeights<T> w(w_v.data<T>(), G, H, /*transposed=*/true);
  const std::vector<T> bias_v = bias_row<T>(b_v, G);
  const T* bias = bias_v.data();
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
        const T* gin = gi_t + (b - b0) * G;
        T* s = s_t + b * 5 * H;  // i, f, g, o hold gh's blocks until overwritten
        const T* cp = c_prev + b * H;
        T* cn = c_new + b * H;
        T* hn = h_new + b * H;
        for_each_packet<T>(H, [&](int64_t j, int n_) {
          auto ld = [&](const T* p) { return L::load(p + j, n_); };
          auto pre = [&](int64_t q) { return proj.gi_plus_bias(ld, gin, q * H) + ld(s + q * H) + ld(bias + q * H); };
          const P i = sigmoid<T>(pre(0)), f = sigmoid<T>(pre(1)), g = L::tanh(pre(2)), o = sigmoid<T>(pre(3));
          const P c = f * ld(cp) + i * g;
          const P tc = L::tanh(c);
          L::store(s + j, i, n_);
          L::store(s + H + j, f, n_);
          L::store(s + 2 * H + j, g, n_);
          L::store(s + 3 * H + j, o, n_);
          L::store(s + 4 * H + j, tc, n_);
          L::store(cn + j, c, n_);
          L::store(hn + j, o * tc, n_);
        });
      }
    }
  });
}

template <typename T>
void lstm_backward_typed(ProjectionGrads<T>& pg, const View& go_v, const View& saved_v, const View& hc_v,
                         const View& h0_v, const View& c0_v, const View& w_v, const View& dh0_v, const View& dc0_v,
                         const View& dw_v, const View& db_v, T* db_ih) {
  using L = simd_rows::Lanes<T>;
  using P = typename L::P;
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
  const int n_sl = slices(B);
  std::vector<WeightGrads<T>> parts;
  // the gate gradients' rows: padded scratch (layer ops) or the given
  // grad_gates (recurrence ops), which can't serve as a packed operand
  const int64_t ldd = pg.ld();
  if (weights)
    for (int s = 0; s < n_sl; ++s)
      parts.emplace_back(G, H, slice_rows_max(n_sl, B), dw != nullptr, db != nullptr || db_ih != nullptr,
                         /*transposed=*/pg.formed());
  pg.start(n_sl, slice_rows_max(n_sl, B));
  for_slices(n_sl, B, [&](int sl, int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    // dL/dh_t and dL/dc_t from the steps after t, ending as dL/dh0, dL/dc0
    std::vector<T> dh(rows * H, T(0)), dc(rows * H, T(0)), scratch(pg.formed() ? rows * ldd : 0);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      const T* h_prev = t > 0 ? hc + (t - 1) * 2 * B * H : h0;
      const T* c_prev = t > 0 ? hc + (t - 1) * 2 * B * H + B * H : c0;
      const T* go_h = go + t * 2 * B * H;
      const T* go_c = go_h + B * H;
      T* d_t = pg.rows(t, b0, scratch.data());  // the gate gradients: of gi and of gh alike
      for (int64_t b = b0; b < b1; ++b) {
        const T* s = saved + (t * B + b) * 5 * H;
        const T* cp = c_prev + b * H;
        const T* goh = go_h + b * H;
        const T* goc = go_c + b * H;
        const T* dh_b = dh.data() + (b - b0) * H;
        T* dc_b = dc.data() + (b - b0) * H;
        T* d = d_t + (b - b0) * ldd;
        for_each_packet<T>(H, [&](int64_t j, int n_) {
          auto ld = [&](const T* p) { return L::load(p + j, n_); };
          const P i = ld(s), f = ld(s + H), g = ld(s + 2 * H), o = ld(s + 3 * H), tc = ld(s + 4 * H);
          const P gh = ld(dh_b) + ld(goh);
          // c_t reaches L directly and through h_t
          const P gc = ld(dc_b) + (ld(goc) + gh * o * (T(1) - tc * tc));
          L::store(d + j, gc * g * i * (T(1) - i), n_);
          L::store(d + H + j, gc * ld(cp) * f * (T(1) - f), n_);
          L::store(d + 2 * H + j, gc * i * (T(1) - g * g), n_);
          L::store(d + 3 * H + j, gh * tc * o * (T(1) - o), n_);
          L::store(dc_b + j, gc * f, n_);  // dL/dc_{t-1}
        });
      }
      pg.take(sl, t, b0, b1, d_t);
      if (weights) parts[sl].add(rows, d_t, ldd, h_prev + b0 * H, H, 1);
      w.backward(rows, d_t, ldd, dh.data(), H);  // dh = dgates_t W_hh
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
