// kernels/cpu/symconv.cpp: SCNN's symmetric convolutions on the CPU (see
// kernels/symconv.h for the formulas and the packed layout).
//
// Symmetry-preserving: folded columns + GEMM, per chunk of nb images (K =
// P*m rows, row l*m + k, matching r [P, m, F] read as [K, F]; ncols = nb*T',
// image i at column i*T'):
//   columns [K, ncols]   col_{l,k}(p, q) for the lower-triangle outputs only,
//                        the two taps of pair l already added (stored
//                        transposed by the short rows' fold, see below)
//   forward         out [F, ncols] = r^T @ columns, scattered to y (+ bias)
//   backward_data   columns = r @ gathered grad_y, each packed entry then
//                   the sum of the column values of the taps that read it
//                   (col2tri)
//   backward_filter grad_r [K, F] += columns @ gathered grad_y^T
// so the filter gradient comes out in R's layout, each pair's two taps
// summed, which is (4.11), without a full kernel's gradient in between.
// The fold (tri2col) and its adjoint go through index tables built once
// per pass (TapTable), which leave no index math in their loops: on long
// rows runs of consecutive entries, one vector add each; on short rows
// entry by entry, the fold channel-last (it writes columns^T [ncols, K],
// which the forward and filter GEMMs read through their strides). A 1x1
// layer needs no fold: its columns are its images, and from side 5 its
// forward and backward-data GEMMs read and write the tensors in place.
//
// Symmetry-generating: h_l = x [N*L, n] @ s_l [n, F] for each pair l (one
// GEMM each over the whole batch), then each output adds its taps' row and
// column terms; the backward runs the same two steps in reverse (the taps'
// terms summed into grad_h, then GEMMs for grad_x and grad_s).
//
// Threads: images split into one contiguous range per thread, each with its
// own buffers and, for backward_filter, its own partial grad_r summed in
// thread order (deterministic for a thread count); only above kParallelWork
// multiply-adds. Chunks reach kChunkColumns columns (kernels/cpu/conv.cpp's
// choice, measured there).
#include "kernels/symconv.h"

#include <omp.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/image_chunks.h"
#include "kernels/cpu/loops.h"

namespace nova::cpu {

namespace {

constexpr int64_t kParallelWork = int64_t(1) << 20;
constexpr int64_t kChunkColumns = 256;

// ---- symmetry-preserving ----

int64_t preserving_threads(const SymConvGeometry& g) {
  const int64_t work = g.N * g.F * g.pairs() * g.Cin * g.out_entries();
  if (g.N < 2 || work < kParallelWork) return 1;
  return std::min<int64_t>(omp_get_max_threads(), g.N);
}

int64_t preserving_chunk(const SymConvGeometry& g) {
  const int64_t per_image = std::max<int64_t>(g.out_entries(), 1);
  const int64_t threads = preserving_threads(g);
  const int64_t share = (g.N + threads - 1) / threads;
  return std::max<int64_t>(1, std::min((kChunkColumns + per_image - 1) / per_image, share));
}

/// From this many output entries per image (side 5) a 1x1 layer's forward
/// and backward-data GEMMs run per image in place: the packed image [m, T]
/// is the column block itself, so x and grad_y are read and y and grad_x
/// written where they are. Below it (side 3 and 4) chunks gather their
/// images side by side first, as kernels/cpu/conv.cpp does for every 1x1
/// chunk of several images. Measured (bench_symconv, 1 thread, dev VM): in
/// place was 10-25% faster from side 5 up (L 5, 8, 16), and at SCosRec's
/// 1x1 layer (side 3, 128 -> 256, batch 512) it took 4.73 ms against the
/// chunks' 3.96.
constexpr int64_t kInPlaceMinEntries = 15;

bool pointwise(const SymConvGeometry& g) { return g.C == 1 && g.pad == 0; }

bool preserving_in_place(const SymConvGeometry& g, SymConvPass pass) {
  if (!pointwise(g)) return false;
  // the filter gradient sums over every column: narrow per-image GEMMs and
  // their partial sums cost more than a chunk's copies until one image
  // fills a chunk anyway
  if (pass == SymConvPass::kBackwardFilter) return preserving_chunk(g) == 1;
  return preserving_chunk(g) == 1 || g.out_entries() >= kInPlaceMinEntries;
}

/// Whether the fold loops go through index tables: every layer but a 1x1
/// one, whose columns are its images as they are.
bool uses_tap_table(const SymConvGeometry& g) { return !pointwise(g); }

/// Every read of the fold in (l, p, q) order: read(l, p, q, e1, e2) with
/// e1, e2 the packed entries taps (a, b) and (b, a) of pair l read at
/// output (p, q), -1 in the padding and as a lone tap's (a, a) second.
template <typename Read>
void for_each_pair_read(const SymConvGeometry& g, const Read& read) {
  for (int64_t l = 0; l < g.pairs(); ++l) {
    int64_t a, b;
    sym_pair_taps(l, &a, &b);
    for (int64_t p = 0; p < g.Lout; ++p)
      for (int64_t q = 0; q <= p; ++q)
        read(l, p, q, g.entry_or_pad(p + a - g.pad, q + b - g.pad),
             a == b ? -1 : g.entry_or_pad(p + b - g.pad, q + a - g.pad));
  }
}

/// The stretches of output rows over which both taps' packed entries step
/// by one ("runs"): run(l, t, e1, e2, n) for each in (l, p, q) order, with
/// t its first output, e1, e2 the entries the two taps read there and n its
/// length. The padding of output column q is entry T + q, so a padded tap
/// steps through zeros after the scratch image.
template <typename Run>
void for_each_run(const SymConvGeometry& g, const Run& run) {
  const int64_t T_in = g.in_entries();
  int64_t l0 = 0, t0 = 0, first1 = 0, first2 = 0, n = 0;
  for_each_pair_read(g, [&](int64_t l, int64_t p, int64_t q, int64_t e1, int64_t e2) {
    if (e1 < 0) e1 = T_in + q;
    if (e2 < 0) e2 = T_in + q;
    if (q > 0 && e1 == first1 + n && e2 == first2 + n) {
      ++n;
      return;
    }
    if (n > 0) run(l0, t0, first1, first2, n);
    l0 = l, t0 = sym_tri(p, q), first1 = e1, first2 = e2, n = 1;
  });
  if (n > 0) run(l0, t0, first1, first2, n);
}

/// The fold loops take the runs when they average this many entries or
/// more (3x3 with padding 1: 1.7 at L 5, 4.2 at L 16, 6 at L 24, 7.8 at L
/// 32, 30 at L 128); shorter ones go entry by entry (tri2col_channels_last,
/// col2tri_by_table). Measured (3x3, 1 thread, ms, runs against entries),
/// the fold (forward): 32 -> 32 at L 32 19.2 against 18.5, L 64 14.5
/// against 17.0, L 128 12.7 against 17.4; the adjoint (backward): L 5 2.90
/// against 1.47, L 16 15.8 against 12.8, L 24 28.8 against 29.5, L 32 45.5
/// against 52.5, L 128 27.2 against 51.6.
constexpr int64_t kMinMeanRun = 6;

bool folds_by_runs(const SymConvGeometry& g) {
  if (pointwise(g)) return false;
  // counting walks every output once per pair: keep the last geometry's answer
  thread_local int64_t seen[3] = {-1, -1, -1};
  thread_local bool answer = false;
  if (seen[0] != g.L || seen[1] != g.C || seen[2] != g.pad) {
    int64_t runs = 0;
    for_each_run(g, [&](int64_t, int64_t, int64_t, int64_t, int64_t) { ++runs; });
    answer = g.pairs() * g.out_entries() >= kMinMeanRun * runs;
    seen[0] = g.L, seen[1] = g.C, seen[2] = g.pad;
  }
  return answer;
}

/// Whether tri2col writes the columns transposed, [ncols, K] (row i T' + t,
/// column l m + k): the entry-by-entry fold, which then moves m channels at
/// once (the GEMMs read that layout through their strides).
bool folds_channels_last(const SymConvGeometry& g) { return uses_tap_table(g) && !folds_by_runs(g); }

/// Where a thread's scratch starts in its buffers: after the columns and
/// the [F, ncols] block of a whole chunk.
int64_t scratch_image_at(const SymConvGeometry& g) {
  return (g.pairs() * g.Cin + g.F) * preserving_chunk(g) * g.out_entries();
}

/// The fold loops' scratch: for runs an image channel of T entries and L'
/// zeros; otherwise an image channel-last, [T + 1, m] with a zero row, for
/// the fold, or one channel's P column rows side by side for the adjoint.
int64_t scratch_image_elements(const SymConvGeometry& g) {
  if (folds_by_runs(g)) return g.in_entries() + std::max<int64_t>(g.Lout, 1);
  return std::max(g.Cin * (g.in_entries() + 1), g.pairs() * g.out_entries());
}

/// One thread's buffers for a pass: columns [K, ncols], an [F, ncols] block
/// and, for the tables' loops, their scratch (none in place).
int64_t preserving_thread_elements(const SymConvGeometry& g, SymConvPass pass) {
  if (preserving_in_place(g, pass)) return 0;
  return scratch_image_at(g) + (uses_tap_table(g) ? scratch_image_elements(g) : 0);
}

/// The fold's index tables, built once per pass and used by every image and
/// channel; one of two kinds, by folds_by_runs:
///   runs [.., 4]        for long rows, each of for_each_run's runs as (t,
///                       e1, e2, n), pair l's at j in [pair_runs[l],
///                       pair_runs[l + 1])
///   tap1, tap2 [T', P]  for short rows, for output t and pair l the
///                       entries taps (a, b) and (b, a) read, T (the zero
///                       row of the channel-last scratch) for the padding
///                       and a lone tap's missing second
///   readers             with them, for the adjoint: per input entry e, its
///                       readers l T' + t (pair l, output t) at reader[j]
///                       for j in [first[e], first[e + 1]), in the order (l,
///                       t, tap (a, b) before (b, a))
struct TapTable {
  int32_t *tap1, *tap2, *first, *reader, *runs, *pair_runs;
  bool by_runs;
};

/// int32s of a TapTable (the workspace holds them as that many T slots).
int64_t tap_table_elements(const SymConvGeometry& g) {
  const int64_t reads = g.pairs() * g.out_entries();
  return folds_by_runs(g) ? 4 * reads + g.pairs() + 1 : 2 * reads + g.in_entries() + 1 + 2 * reads;
}

void build_tap_runs(const SymConvGeometry& g, const TapTable& tt) {
  int64_t count = 0, pair = -1;
  for_each_run(g, [&](int64_t l, int64_t t, int64_t e1, int64_t e2, int64_t n) {
    while (pair < l) tt.pair_runs[++pair] = int32_t(count);
    int32_t* run = tt.runs + 4 * count++;
    run[0] = int32_t(t), run[1] = int32_t(e1), run[2] = int32_t(e2), run[3] = int32_t(n);
  });
  while (pair < g.pairs()) tt.pair_runs[++pair] = int32_t(count);
}

void build_tap_entries(const SymConvGeometry& g, const TapTable& tt) {
  const int64_t T_in = g.in_entries(), T_out = g.out_entries(), P = g.pairs();
  for_each_pair_read(g, [&](int64_t l, int64_t p, int64_t q, int64_t e1, int64_t e2) {
    const int64_t t = sym_tri(p, q) * P + l;
    tt.tap1[t] = int32_t(e1 >= 0 ? e1 : T_in);
    tt.tap2[t] = int32_t(e2 >= 0 ? e2 : T_in);
  });
  // readers: count each entry's, then place them in (l, t, tap) order
  std::fill(tt.first, tt.first + T_in + 1, 0);
  const auto each_read = [&](const auto& read) {
    for (int64_t l = 0; l < P; ++l)
      for (int64_t t = 0; t < T_out; ++t)
        for (const int32_t e : {tt.tap1[t * P + l], tt.tap2[t * P + l]})
          if (e < T_in) read(e, l * T_out + t);
  };
  each_read([&](int32_t e, int64_t) { ++tt.first[e + 1]; });
  for (int64_t e = 0; e < T_in; ++e) tt.first[e + 1] += tt.first[e];
  // first[e] as each entry's cursor: afterwards it holds the entry's end,
  // which is the next entry's start, so shift it back by one
  each_read([&](int32_t e, int64_t r) { tt.reader[tt.first[e]++] = int32_t(r); });
  for (int64_t e = T_in; e > 0; --e) tt.first[e] = tt.first[e - 1];
  tt.first[0] = 0;
}

/// The tables at `at` (tap_table_elements(g) slots of T), built, for a
/// geometry that uses them; empty otherwise.
template <typename T>
TapTable tap_table_at(const SymConvGeometry& g, T* at) {
  if (!uses_tap_table(g)) return {};
  int32_t* base = reinterpret_cast<int32_t*>(static_cast<void*>(at));
  const int64_t reads = g.pairs() * g.out_entries();
  TapTable tt{};
  tt.by_runs = folds_by_runs(g);
  if (tt.by_runs) {
    tt.runs = base;
    tt.pair_runs = base + 4 * reads;
    build_tap_runs(g, tt);
  } else {
    tt.tap1 = base;
    tt.tap2 = base + reads;
    tt.first = base + 2 * reads;
    tt.reader = tt.first + g.in_entries() + 1;
    build_tap_entries(g, tt);
  }
  return tt;
}

/// d[j] = s1[j] + s2[j] and x[j] += s[j] over one run.
template <typename T>
void add_run(const T* __restrict s1, const T* __restrict s2, int64_t n, T* __restrict d) {
  for (int64_t j = 0; j < n; ++j) d[j] = s1[j] + s2[j];
}
template <typename T>
void accumulate_run(const T* __restrict s, int64_t n, T* __restrict x) {
  for (int64_t j = 0; j < n; ++j) x[j] += s[j];
}

#ifdef __AVX512F__
// Runs average 6-30 entries: a compiled vector loop spends them in its
// scalar remainder, so with AVX-512 each run's tail is one masked vector
// (masked-off lanes neither load nor fault). The same adds, the same bits.
// (Not for accumulate_run: a masked store stalls the next run's load of
// the same entries, and the adjoint got slower.)
template <>
void add_run<float>(const float* __restrict s1, const float* __restrict s2, int64_t n, float* __restrict d) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) _mm512_storeu_ps(d + j, _mm512_add_ps(_mm512_loadu_ps(s1 + j), _mm512_loadu_ps(s2 + j)));
  if (j < n) {
    const __mmask16 k = __mmask16((1u << (n - j)) - 1);
    _mm512_mask_storeu_ps(d + j, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, s1 + j), _mm512_maskz_loadu_ps(k, s2 + j)));
  }
}
#endif

/// tri2col over the runs: the scratch image holds one channel and then L'
/// zeros, and each run is a vector add of two stretches of it. The sum is
/// tap (a, b)'s value plus tap (b, a)'s (+ 0 for the padding or a lone
/// tap), as in every fold here.
template <typename T>
void tri2col_by_runs(const SymConvGeometry& g, const TapTable& tt, const T* x, int64_t nb, T* columns,
                     T* image) {
  const int64_t m = g.Cin, T_in = g.in_entries(), T_out = g.out_entries(), ncols = nb * T_out;
  std::fill(image + T_in, image + T_in + g.Lout, T(0));
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t k = 0; k < m; ++k) {
      std::copy(x + (i * m + k) * T_in, x + (i * m + k + 1) * T_in, image);
      for (int64_t l = 0; l < g.pairs(); ++l) {
        T* dst = columns + (l * m + k) * ncols + i * T_out;
        for (int32_t j = tt.pair_runs[l]; j < tt.pair_runs[l + 1]; ++j) {
          const int32_t* run = tt.runs + 4 * j;
          add_run(image + run[1], image + run[2], run[3], dst + run[0]);
        }
      }
    }
}

/// Its adjoint over the runs, into x (overwritten): zeroed, then each run's
/// column values added to its taps' stretches (the padding's skipped), tap
/// (a, b)'s before (b, a)'s. Within an output row the two taps meet only
/// at q = p, and runs go in (l, p, q) order, so each entry receives its
/// values in the order (l, p, q, tap (a, b) before (b, a)), as in
/// col2tri_by_table: the same bits.
template <typename T>
void col2tri_by_runs(const SymConvGeometry& g, const TapTable& tt, const T* columns, int64_t nb, T* x) {
  const int64_t m = g.Cin, T_in = g.in_entries(), T_out = g.out_entries(), ncols = nb * T_out;
  std::fill(x, x + nb * m * T_in, T(0));
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t k = 0; k < m; ++k) {
      T* xi = x + (i * m + k) * T_in;
      for (int64_t l = 0; l < g.pairs(); ++l) {
        const T* src = columns + (l * m + k) * ncols + i * T_out;
        for (int32_t j = tt.pair_runs[l]; j < tt.pair_runs[l + 1]; ++j) {
          const int32_t* run = tt.runs + 4 * j;
          if (run[1] < T_in) accumulate_run(src + run[0], run[3], xi + run[1]);
          if (run[2] < T_in) accumulate_run(src + run[0], run[3], xi + run[2]);
        }
      }
    }
}

/// tri2col entry by entry for short rows, into columns^T [ncols, K]: each
/// image is copied channel-last into xt ([T + 1, m], the last row zero),
/// then the row of output t holds, for each pair l, xt[tap1] + xt[tap2]
/// over all m channels at once. The rows a tap reads are scattered over a
/// short map, but each moves m contiguous values, where a channel at a
/// time moved one (1.15-1.3x faster at L 5-32, measured; slower from L 64,
/// where the runs take over anyway).
template <typename T>
void tri2col_channels_last(const SymConvGeometry& g, const TapTable& tt, const T* x, int64_t nb, T* columns_t,
                           T* xt) {
  const int64_t m = g.Cin, P = g.pairs(), K = P * m, T_in = g.in_entries(), T_out = g.out_entries();
  std::fill(xt + T_in * m, xt + (T_in + 1) * m, T(0));
  for (int64_t i = 0; i < nb; ++i) {
    const T* xi = x + i * m * T_in;
    for (int64_t k = 0; k < m; ++k)
      for (int64_t e = 0; e < T_in; ++e) xt[e * m + k] = xi[k * T_in + e];
    for (int64_t t = 0; t < T_out; ++t) {
      T* row = columns_t + (i * T_out + t) * K;
      for (int64_t l = 0; l < P; ++l) {
        const T* __restrict a = xt + int64_t(tt.tap1[t * P + l]) * m;
        const T* __restrict b = xt + int64_t(tt.tap2[t * P + l]) * m;
        T* __restrict d = row + l * m;
        for (int64_t k = 0; k < m; ++k) d[k] = a[k] + b[k];
      }
    }
  }
}

/// The adjoint for short rows (columns as the backward-data GEMM writes
/// them, [K, ncols]): each input entry the sum of the column values of its
/// readers, added from 0 in the order (l, p, q, tap (a, b) before (b, a)):
/// a fixed order, whatever the chunk or thread, and the one the earlier
/// scatter loops (up to commit c331caa) added in, so SCosRec's training
/// runs kept their bits. x is overwritten.
template <typename T>
void col2tri_by_table(const SymConvGeometry& g, const TapTable& tt, const T* columns, int64_t nb, T* x, T* rows) {
  const int64_t m = g.Cin, T_in = g.in_entries(), T_out = g.out_entries(), ncols = nb * T_out;
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t k = 0; k < m; ++k) {
      // this channel's P column rows side by side, so a reader is one index
      for (int64_t l = 0; l < g.pairs(); ++l) {
        const T* src = columns + (l * m + k) * ncols + i * T_out;
        std::copy(src, src + T_out, rows + l * T_out);
      }
      T* xi = x + (i * m + k) * T_in;
      for (int64_t e = 0; e < T_in; ++e) {
        T sum = T(0);
        for (int32_t j = tt.first[e]; j < tt.first[e + 1]; ++j) sum += rows[tt.reader[j]];
        xi[e] = sum;
      }
    }
}

/// A 1x1 layer's columns are its images side by side (gather_chunk: block
/// k, image i is channel k of image i); this is the adjoint, the same copy
/// back, as 0 + v like col2tri's sums from 0.
template <typename T>
void pointwise_scatter(const SymConvGeometry& g, const T* columns, int64_t nb, T* x) {
  const int64_t T_in = g.in_entries(), ncols = nb * T_in;
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t k = 0; k < g.Cin; ++k) {
      const T* from = columns + k * ncols + i * T_in;
      T* to = x + (i * g.Cin + k) * T_in;
      for (int64_t j = 0; j < T_in; ++j) to[j] = T(0) + from[j];
    }
}

/// What the fold loops need beyond the geometry: the tables (shared by the
/// threads) and one thread's scratch, for the maps that use them.
template <typename T>
struct FoldScratch {
  TapTable table;
  T* scratch;
};

/// The columns of nb images at x: [K, ncols], or [ncols, K] where
/// folds_channels_last(g).
template <typename T>
void tri2col(const SymConvGeometry& g, const FoldScratch<T>& fs, const T* x, int64_t nb, T* columns) {
  if (pointwise(g)) gather_chunk(x, nb, g.Cin, g.in_entries(), g.Cin * g.in_entries(), columns);
  else if (fs.table.by_runs) tri2col_by_runs(g, fs.table, x, nb, columns, fs.scratch);
  else tri2col_channels_last(g, fs.table, x, nb, columns, fs.scratch);
}

/// x (nb images of [m, T], overwritten) = the adjoint of tri2col applied to
/// columns [K, ncols].
template <typename T>
void col2tri(const SymConvGeometry& g, const FoldScratch<T>& fs, const T* columns, int64_t nb, T* x) {
  if (pointwise(g)) pointwise_scatter(g, columns, nb, x);
  else if (fs.table.by_runs) col2tri_by_runs(g, fs.table, columns, nb, x);
  else col2tri_by_table(g, fs.table, columns, nb, x, fs.scratch);
}

/// y [F, n] += bias (each row its filter's), in place: the same sum as the
/// chunks' copy out, from[j] + bias[f].
template <typename T>
void add_bias(T* y, int64_t F, int64_t n, const T* bias) {
  for (int64_t f = 0; f < F; ++f) {
    const T bf = bias ? bias[f] : T(0);
    for (int64_t j = 0; j < n; ++j) y[f * n + j] = y[f * n + j] + bf;
  }
}

template <typename T>
void preserving_forward(const SymConvGeometry& g, const View& x, const View& r, const View& bias, const View& y,
                        const View& workspace) {
  const int64_t K = g.pairs() * g.Cin, T_in = g.in_entries(), T_out = g.out_entries();
  const T* px = x.data<T>();
  const T* pr = r.data<T>();
  const T* pb = bias.data_or_null<T>();
  T* py = y.data<T>();
  if (y.numel() == 0) return;
  if (preserving_in_place(g, SymConvPass::kForward)) {
    // y_n [F, T] = r^T @ x_n [m, T], then the bias added in place
    for_each_chunk(g.N, preserving_threads(g), 1, [&](int64_t, int64_t n, int64_t) {
      T* yn = py + n * g.F * T_out;
      gemm<T>(g.F, T_out, K, pr, 1, g.F, px + n * g.Cin * T_in, T_in, 1, yn, T_out);
      add_bias(yn, g.F, T_out, pb);
    });
    return;
  }
  T* ws = workspace.data<T>();
  const int64_t threads = preserving_threads(g), per_thread = preserving_thread_elements(g, SymConvPass::kForward);
  const TapTable table = tap_table_at(g, ws + threads * per_thread);
  const bool cl = folds_channels_last(g);
  for_each_chunk(g.N, threads, preserving_chunk(g), [&](int64_t t, int64_t n, int64_t nb) {
    T* columns = ws + t * per_thread;
    const int64_t ncols = nb * T_out;
    tri2col(g, FoldScratch<T>{table, columns + scratch_image_at(g)}, px + n * g.Cin * T_in, nb, columns);
    // r^T [F, K] read in place through its strides (1, F); the columns
    // [K, ncols] through (ncols, 1), or (1, K) as stored channel-last
    if (nb == 1) {  // a chunk of one image: the GEMM writes y_n itself
      T* yn = py + n * g.F * T_out;
      gemm<T>(g.F, ncols, K, pr, 1, g.F, columns, cl ? 1 : ncols, cl ? K : 1, yn, T_out);
      add_bias(yn, g.F, T_out, pb);
      return;
    }
    T* out = columns + K * ncols;
    gemm<T>(g.F, ncols, K, pr, 1, g.F, columns, cl ? 1 : ncols, cl ? K : 1, out, ncols);
    for (int64_t i = 0; i < nb; ++i)
      for (int64_t f = 0; f < g.F; ++f) {
        const T bf = pb ? pb[f] : T(0);
        const T* from = out + f * ncols + i * T_out;
        T* to = py + ((n + i) * g.F + f) * T_out;
        for (int64_t j = 0; j < T_out; ++j) to[j] = from[j] + bf;
      }
  });
}

template <typename T>
void preserving_backward_data(const SymConvGeometry& g, const View& grad_y, const View& r, const View& grad_x,
                              const View& workspace) {
  const int64_t K = g.pairs() * g.Cin, T_in = g.in_entries(), T_out = g.out_entries();
  const T* pg = grad_y.data<T>();
  const T* pr = r.data<T>();
  T* px = grad_x.data<T>();
  if (grad_x.numel() == 0) return;
  if (grad_y.numel() == 0) {
    std::fill(px, px + grad_x.numel(), T(0));
    return;
  }
  if (preserving_in_place(g, SymConvPass::kBackwardData)) {
    // grad_x_n [m, T] = r [m, F] @ grad_y_n [F, T], straight into grad_x
    for_each_chunk(g.N, preserving_threads(g), 1, [&](int64_t, int64_t n, int64_t) {
      gemm<T>(K, T_out, g.F, pr, g.F, 1, pg + n * g.F * T_out, T_out, 1, px + n * g.Cin * T_in, T_in);
    });
    return;
  }
  T* ws = workspace.data<T>();
  const int64_t threads = preserving_threads(g);
  const int64_t per_thread = preserving_thread_elements(g, SymConvPass::kBackwardData);
  const TapTable table = tap_table_at(g, ws + threads * per_thread);
  for_each_chunk(g.N, threads, preserving_chunk(g), [&](int64_t t, int64_t n, int64_t nb) {
    T* columns = ws + t * per_thread;
    const int64_t ncols = nb * T_out;
    // one image's grad_y is its own gathered block
    const T* gathered = pg + n * g.F * T_out;
    if (nb > 1) {
      gather_chunk(gathered, nb, g.F, T_out, g.F * T_out, columns + K * ncols);
      gathered = columns + K * ncols;
    }
    gemm<T>(K, ncols, g.F, pr, g.F, 1, gathered, ncols, 1, columns, ncols);
    col2tri(g, FoldScratch<T>{table, ws + t * per_thread + scratch_image_at(g)}, columns, nb, px + n * g.Cin * T_in);
  });
}

template <typename T>
void preserving_backward_filter(const SymConvGeometry& g, const View& x, const View& grad_y, const View& grad_r,
                                const View& workspace) {
  const int64_t K = g.pairs() * g.Cin, T_in = g.in_entries(), T_out = g.out_entries();
  const int64_t r_elems = K * g.F;
  const T* px = x.data<T>();
  const T* pg = grad_y.data<T>();
  T* pr = grad_r.data<T>();
  if (r_elems == 0) return;
  if (grad_y.numel() == 0) {
    std::fill(pr, pr + r_elems, T(0));
    return;
  }
  T* ws = workspace.data<T>();
  const int64_t threads = preserving_threads(g);
  // per thread: columns, gathered grad_y, one chunk's product [K, F], the partial grad_r [K, F]
  const int64_t buffers = preserving_thread_elements(g, SymConvPass::kBackwardFilter);
  const int64_t per_thread = buffers + 2 * r_elems;
  const int64_t partial_at = buffers + r_elems;
  for (int64_t t = 0; t < threads; ++t) {
    T* partial = ws + t * per_thread + partial_at;
    std::fill(partial, partial + r_elems, T(0));
  }
  const TapTable table = tap_table_at(g, ws + threads * per_thread);
  const bool in_place = preserving_in_place(g, SymConvPass::kBackwardFilter);
  const bool cl = !in_place && folds_channels_last(g);
  for_each_chunk(g.N, threads, in_place ? 1 : preserving_chunk(g), [&](int64_t t, int64_t n, int64_t nb) {
    const int64_t ncols = nb * T_out;
    T* product = ws + t * per_thread + buffers;
    T* partial = product + r_elems;
    // in place, x_n [m, T] and grad_y_n [F, T] are the chunk's blocks
    const T* columns = px + n * g.Cin * T_in;
    const T* gathered = pg + n * g.F * T_out;
    if (!in_place) {
      T* built = ws + t * per_thread;
      tri2col(g, FoldScratch<T>{table, built + scratch_image_at(g)}, columns, nb, built);
      columns = built;
    }
    if (nb > 1) {  // one image's grad_y is its own gathered block
      gather_chunk(gathered, nb, g.F, T_out, g.F * T_out, ws + t * per_thread + K * ncols);
      gathered = ws + t * per_thread + K * ncols;
    }
    // columns [K, ncols] (as stored: see the forward) @ grad_y^T [ncols, F]
    // (strides (1, ncols): in place)
    gemm<T>(K, g.F, ncols, columns, cl ? 1 : ncols, cl ? K : 1, gathered, 1, ncols, product, g.F);
    for (int64_t i = 0; i < r_elems; ++i) partial[i] += product[i];
  });
  const T* first = ws + partial_at;
  std::copy(first, first + r_elems, pr);
  for (int64_t t = 1; t < threads; ++t) {
    const T* partial = ws + t * per_thread + partial_at;
    for (int64_t i = 0; i < r_elems; ++i) pr[i] += partial[i];
  }
}

// ---- symmetry-generating ----

/// The row and column positions of tap (a, b) for output (p, q), or false
/// when the tap lands in the padding.
bool tap_rows(const SymConvGeometry& g, int64_t p, int64_t q, int64_t a, int64_t b, int64_t* i, int64_t* j) {
  *i = p + a - g.pad;
  *j = q + b - g.pad;
  return *i >= 0 && *j >= 0 && *i < g.L && *j < g.L;
}

/// Whether the lower-triangle passes over outputs are worth OpenMP.
bool generating_parallel(const SymConvGeometry& g) {
  return g.N > 1 && g.N * g.F * g.out_entries() * g.C * g.C >= kParallelGrain;
}

/// h [P, N*L, F]: the workspace's projections; grad_h has the same layout.
int64_t generating_h_elements(const SymConvGeometry& g) { return g.pairs() * g.N * g.L * g.F; }

template <typename T>
void generating_forward(const SymConvGeometry& g, const View& x, const View& s, const View& bias, const View& y,
                        const View& workspace) {
  const int64_t rows = g.N * g.L, T_out = g.out_entries(), F = g.F;
  const T* px = x.data<T>();
  const T* ps = s.data<T>();
  const T* pb = bias.data_or_null<T>();
  T* py = y.data<T>();
  if (y.numel() == 0) return;
  T* h = workspace.data<T>();
  for (int64_t l = 0; l < g.pairs(); ++l)
    gemm<T>(rows, F, g.Cin, px, g.Cin, 1, ps + l * g.Cin * F, F, 1, h + l * rows * F, F);
  parallel_for(g.N, generating_parallel(g), [&](int64_t n) {
    T* yn = py + n * F * T_out;
    for (int64_t f = 0; f < F; ++f) std::fill(yn + f * T_out, yn + (f + 1) * T_out, pb ? pb[f] : T(0));
    for (int64_t p = 0; p < g.Lout; ++p)
      for (int64_t q = 0; q <= p; ++q) {
        const int64_t t = sym_tri(p, q);
        for (int64_t a = 0; a < g.C; ++a)
          for (int64_t b = 0; b < g.C; ++b) {
            int64_t i, j;
            if (!tap_rows(g, p, q, a, b, &i, &j)) continue;
            const T* hl = h + sym_tri(a, b) * rows * F;
            const T *hi = hl + (n * g.L + i) * F, *hj = hl + (n * g.L + j) * F;
            for (int64_t f = 0; f < F; ++f) yn[f * T_out + t] += hi[f] + hj[f];
          }
      }
  });
}

/// grad_h [P, N*L, F] (zeroed here) from grad_y: the adjoint of the taps' sums.
template <typename T>
void generating_grad_h(const SymConvGeometry& g, const T* pg, T* gh) {
  const int64_t rows = g.N * g.L, T_out = g.out_entries(), F = g.F;
  std::fill(gh, gh + generating_h_elements(g), T(0));
  // image n writes only its own rows of grad_h: images are independent
  parallel_for(g.N, generating_parallel(g), [&](int64_t n) {
    const T* gn = pg + n * F * T_out;
    for (int64_t p = 0; p < g.Lout; ++p)
      for (int64_t q = 0; q <= p; ++q) {
        const int64_t t = sym_tri(p, q);
        for (int64_t a = 0; a < g.C; ++a)
          for (int64_t b = 0; b < g.C; ++b) {
            int64_t i, j;
            if (!tap_rows(g, p, q, a, b, &i, &j)) continue;
            T* hl = gh + sym_tri(a, b) * rows * F;
            T *hi = hl + (n * g.L + i) * F, *hj = hl + (n * g.L + j) * F;
            for (int64_t f = 0; f < F; ++f) {
              const T v = gn[f * T_out + t];
              hi[f] += v;
              hj[f] += v;
            }
          }
      }
  });
}

template <typename T>
void generating_backward_data(const SymConvGeometry& g, const View& grad_y, const View& s, const View& grad_x,
                              const View& workspace) {
  const int64_t rows = g.N * g.L, F = g.F, n_in = g.Cin;
  const T* pg = grad_y.data<T>();
  const T* ps = s.data<T>();
  T* px = grad_x.data<T>();
  if (grad_x.numel() == 0) return;
  T* gh = workspace.data<T>();
  T* product = gh + generating_h_elements(g);  // [N*L, n]
  generating_grad_h(g, pg, gh);
  // grad_x = sum_l grad_h_l [N*L, F] @ s_l^T [F, n] (s_l^T read in place: strides (1, F))
  for (int64_t l = 0; l < g.pairs(); ++l) {
    T* out = l == 0 ? px : product;
    gemm<T>(rows, n_in, F, gh + l * rows * F, F, 1, ps + l * n_in * F, 1, F, out, n_in);
    if (l > 0)
      for (int64_t e = 0; e < rows * n_in; ++e) px[e] += product[e];
  }
}

template <typename T>
void generating_backward_filter(const SymConvGeometry& g, const View& x, const View& grad_y, const View& grad_s,
                                const View& workspace) {
  const int64_t rows = g.N * g.L, F = g.F, n_in = g.Cin;
  const T* px = x.data<T>();
  const T* pg = grad_y.data<T>();
  T* ps = grad_s.data<T>();
  if (grad_s.numel() == 0) return;
  T* gh = workspace.data_or_null<T>();  // none for an empty batch
  generating_grad_h(g, pg, gh);
  // grad_s_l = x^T [n, N*L] @ grad_h_l [N*L, F] (x^T in place: strides (1, n))
  for (int64_t l = 0; l < g.pairs(); ++l)
    gemm<T>(n_in, F, rows, px, 1, n_in, gh + l * rows * F, F, 1, ps + l * n_in * F, F);
}

}  // namespace

int64_t sym_preserving_conv2d_workspace(const SymConvGeometry& g, SymConvPass pass) {
  const int64_t threads = preserving_threads(g), per_thread = preserving_thread_elements(g, pass);
  const int64_t r_elems = g.pairs() * g.Cin * g.F;
  const int64_t tables = per_thread > 0 && uses_tap_table(g) ? tap_table_elements(g) : 0;
  return threads * (pass == SymConvPass::kBackwardFilter ? per_thread + 2 * r_elems : per_thread) + tables;
}

void sym_preserving_conv2d_forward(const SymConvGeometry& g, const View& x, const View& r, const View& bias,
                                   const View& y, const View& workspace) {
  dispatch_floating("sym_preserving_conv2d", x.dtype(), [&](auto tag) {
    preserving_forward<decltype(tag)>(g, x, r, bias, y, workspace);
  });
}

void sym_preserving_conv2d_backward_data(const SymConvGeometry& g, const View& grad_y, const View& r,
                                         const View& grad_x, const View& workspace) {
  dispatch_floating("sym_preserving_conv2d_backward_data", grad_y.dtype(), [&](auto tag) {
    preserving_backward_data<decltype(tag)>(g, grad_y, r, grad_x, workspace);
  });
}

void sym_preserving_conv2d_backward_filter(const SymConvGeometry& g, const View& x, const View& grad_y,
                                           const View& grad_r, const View& workspace) {
  dispatch_floating("sym_preserving_conv2d_backward_filter", x.dtype(), [&](auto tag) {
    preserving_backward_filter<decltype(tag)>(g, x, grad_y, grad_r, workspace);
  });
}

int64_t sym_generating_conv2d_workspace(const SymConvGeometry& g, SymConvPass pass) {
  // h or grad_h, and for backward_data one [N*L, n] product per pair past the first
  return generating_h_elements(g) + (pass == SymConvPass::kBackwardData ? g.N * g.L * g.Cin : 0);
}

void sym_generating_conv2d_forward(const SymConvGeometry& g, const View& x, const View& s, const View& bias,
                                   const View& y, const View& workspace) {
  dispatch_floating("sym_generating_conv2d", x.dtype(), [&](auto tag) {
    generating_forward<decltype(tag)>(g, x, s, bias, y, workspace);
  });
}

void sym_generating_conv2d_backward_data(const SymConvGeometry& g, const View& grad_y, const View& s,
                                         const View& grad_x, const View& workspace) {
  dispatch_floating("sym_generating_conv2d_backward_data", grad_y.dtype(), [&](auto tag) {
    generating_backward_data<decltype(tag)>(g, grad_y, s, grad_x, workspace);
  });
}

void sym_generating_conv2d_backward_filter(const SymConvGeometry& g, const View& x, const View& grad_y,
                                           const View& grad_s, const View& workspace) {
  dispatch_floating("sym_generating_conv2d_backward_filter", x.dtype(), [&](auto tag) {
    generating_backward_filter<decltype(tag)>(g, x, grad_y, grad_s, workspace);
  });
}

}  // namespace nova::cpu
