// kernels/cpu/small_gemm.h: a register-blocked GEMM for products that fit
// in cache and are made many times against one fixed operand: the
// recurrent products of kernels/cpu/rnn_sequence.cpp (per time step, B rows
// times W_hh or W_ih). The fixed operand is packed once (pack, PackedWeights)
// into rows padded to a whole number of blocks, so that the inner loop needs
// no edge tests; the other operand is read in place with any strides.
//
// Each output element is one chain of fused multiply-adds over the inner
// index in order, starting from zero, whatever block computes it: a block's
// shape changes the speed, never the bits.
//
// Block: 8 rows x 2 SIMD vectors (16 accumulators, 32 floats wide with
// AVX-512). Against cpu::gemm (OpenBLAS 0.3.21) on the per-step products,
// one thread, dev VM: forward 1.1-1.6x faster from H 42 to 384, backward
// 0.85-1.3x; at H 512 the two are even (bench/RESULTS.md, 2026-12-06). The
// last block of a row with at most one vector of columns left runs one
// vector wide: at H 100 (3 blocks of 32 and 4 columns) that is 112 columns
// of work instead of 128.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace nova::cpu::small {

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

/// Elements of T in one SIMD vector.
template <typename T>
constexpr int64_t vec_len() {
  return kVecBytes / int64_t(sizeof(T));
}

/// Columns of one full block.
template <typename T>
constexpr int64_t block_cols() {
  return kBlockVecs * vec_len<T>();
}

/// cols rounded up to whole blocks: the row stride of a packed operand.
template <typename T>
constexpr int64_t padded_cols(int64_t cols) {
  return (cols + block_cols<T>() - 1) / block_cols<T>() * block_cols<T>();
}

/// dst[k, j] = src[k rs + j cs] for k < inner, j < cols; columns up to ldp
/// (padded_cols) are zero, so a block never reads past a row.
template <typename T>
std::vector<T> pack(const T* src, int64_t rs, int64_t cs, int64_t inner, int64_t cols, int64_t* ldp) {
  *ldp = padded_cols<T>(cols);
  std::vector<T> dst(inner * *ldp, T(0));
  for (int64_t k = 0; k < inner; ++k)
    for (int64_t j = 0; j < cols; ++j) dst[k * *ldp + j] = src[k * rs + j * cs];
  return dst;
}

/// One block: C[R, n] (+)= A[R, inner] * P[inner, n] for R <= kBlockRows
/// rows and n <= NV vectors of columns (P holds whole vectors, zero-padded);
/// A[r, k] at a[r ars + k acs]; Add accumulates into C.
template <typename T, int R, int NV, bool Add>
void gemm_block(int64_t inner, int64_t n, const T* a, int64_t ars, int64_t acs, const T* p, int64_t ldp, T* c,
                int64_t ldc) {
  using V = typename Simd<T>::V;
  using U = typename Simd<T>::U;
  constexpr int L = int(vec_len<T>());
  V acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V{};
  const T* pk = p;
  for (int64_t k = 0; k < inner; ++k, pk += ldp) {
    V pv[NV];
    for (int v = 0; v < NV; ++v) pv[v] = *reinterpret_cast<const U*>(pk + v * L);
    for (int r = 0; r < R; ++r) {
      const T s = a[r * ars + k * acs];
      for (int v = 0; v < NV; ++v) acc[r][v] += s * pv[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    T* cr = c + r * ldc;
    if (n == NV * L) {
      for (int v = 0; v < NV; ++v) {
        U* cv = reinterpret_cast<U*>(cr + v * L);
        *cv = Add ? *cv + acc[r][v] : acc[r][v];
      }
    } else {  // the last block of a row: through a buffer, n columns
      T tail[NV * L];
      for (int v = 0; v < NV; ++v) *reinterpret_cast<U*>(tail + v * L) = acc[r][v];
      for (int64_t j = 0; j < n; ++j) cr[j] = Add ? cr[j] + tail[j] : tail[j];
    }
  }
}

/// One column panel (n columns at p, c) down all rows: 8-row blocks, then
/// the 1-7 rows left.
template <typename T, int NV, bool Add>
void gemm_panel(int64_t rows, int64_t n, int64_t inner, const T* a, int64_t ars, int64_t acs, const T* p,
                int64_t ldp, T* c, int64_t ldc) {
  int64_t r = 0;
  for (; r + kBlockRows <= rows; r += kBlockRows)
    gemm_block<T, kBlockRows, NV, Add>(inner, n, a + r * ars, ars, acs, p, ldp, c + r * ldc, ldc);
  const T* ar = a + r * ars;
  T* cr = c + r * ldc;
  switch (rows - r) {
    case 7: gemm_block<T, 7, NV, Add>(inner, n, ar, ars, acs, p, ldp, cr, ldc); break;
    case 6: gemm_block<T, 6, NV, Add>(inner, n, ar, ars, acs, p, ldp, cr, ldc); break;
    case 5: gemm_block<T, 5, NV, Add>(inner, n, ar, ars, acs, p, ldp, cr, ldc); break;
    case 4: gemm_block<T, 4, NV, Add>(inner, n, ar, ars, acs, p, ldp, cr, ldc); break;
    case 3: gemm_block<T, 3, NV, Add>(inner, n, ar, ars, acs, p, ldp, cr, ldc); break;
    case 2: gemm_block<T, 2, NV, Add>(inner, n, ar, ars, acs, p, ldp, cr, ldc); break;
    case 1: gemm_block<T, 1, NV, Add>(inner, n, ar, ars, acs, p, ldp, cr, ldc); break;
    default: break;
  }
}

/// C[rows, cols] (+)= A[rows, inner] * P[inner, cols] (packed, row stride
/// ldp), A[r, k] at a[r ars + k acs], C with row stride ldc; Add accumulates.
/// Column blocks outer, row blocks inner: a block's panel of P (inner x
/// block_cols) stays in L1 / L2 while every row passes, where rows outer
/// re-read all of P per 8 rows (from L3 at H 512: 2.4x slower there).
template <bool Add = false, typename T>
void gemm(int64_t rows, int64_t cols, int64_t inner, const T* a, int64_t ars, int64_t acs, const T* p, int64_t ldp,
          T* c, int64_t ldc) {
  for (int64_t j0 = 0; j0 < cols; j0 += block_cols<T>()) {
    const int64_t n = std::min<int64_t>(block_cols<T>(), cols - j0);
    if (n <= vec_len<T>()) {
      gemm_panel<T, 1, Add>(rows, n, inner, a, ars, acs, p + j0, ldp, c + j0, ldc);
    } else {
      gemm_panel<T, kBlockVecs, Add>(rows, n, inner, a, ars, acs, p + j0, ldp, c + j0, ldc);
    }
  }
}

/// A weight W [G, K] packed for one direction: W^T [K, G] for the
/// forward's a W^T, or W [G, K] for the backward's d W.
template <typename T>
struct PackedWeights {
  int64_t G = 0, K = 0, ldp = 0;
  std::vector<T> p;

  PackedWeights() = default;
  PackedWeights(const T* w, int64_t G_, int64_t K_, bool transposed) : G(G_), K(K_) {
    p = transposed ? pack(w, 1, K, K, G, &ldp) : pack(w, K, 1, G, K, &ldp);
  }
  /// c[rows, G] = a[rows, K] W^T, a[r, k] at a[r ars + k acs]
  void forward(int64_t rows, const T* a, int64_t ars, int64_t acs, T* c, int64_t ldc) const {
    gemm(rows, G, K, a, ars, acs, p.data(), ldp, c, ldc);
  }
  /// c[rows, K] = d[rows, G] W (row stride ldd)
  void backward(int64_t rows, const T* d, int64_t ldd, T* c, int64_t ldc) const {
    gemm(rows, K, G, d, ldd, 1, p.data(), ldp, c, ldc);
  }
};

}  // namespace nova::cpu::small
