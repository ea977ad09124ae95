// kernels/symconv.h: the symmetric convolutions of SCNN (thesis 4.1.3), on
// feature maps stored as packed lower triangles, float32 and float64.
//
// Packed storage. A feature map Z [L, L] with Z[i][j] = Z[j][i] keeps only
// i >= j, row by row: entry tri(i, j) = i (i + 1) / 2 + j, L (L + 1) / 2
// entries per channel; Z(i, j) for any i, j reads tri(max, min). A kernel's
// C x C symmetric taps are stored the same way: pair l = tri(a, b) for the
// taps (a, b) and (b, a). This is the thesis's l = (j - 1) j / 2 + i
// (1-based, i <= j) of (4.4) and (4.10), counted from 0.
//
// Symmetry-preserving convolution (4.9)-(4.11): x packed [N, m, T] (T =
// L(L+1)/2), R [P, m, F] (P = C(C+1)/2, the thesis's layout), bias [F]:
//   y(p, q)[f] = bias[f] + sum_{k, a, b} Q[a][b][k][f] X_k(p + a - pad, q + b - pad)
// with Q[a][b] = Q[b][a] = R[tri(a, b)] and X zero outside [0, L)^2; the
// output is symmetric, so only p >= q is computed, [N, F, T'] with L' = L +
// 2 pad - C + 1. Folding the two taps of each pair first,
//   y(p, q)[f] = bias[f] + sum_{l, k} R[l][k][f] * col_{l,k}(p, q),
//   col_{l,k}(p, q) = X_k(p + a - pad, q + b - pad) + X_k(p + b - pad, q + a - pad)  (a < b)
//                   = X_k(p + a - pad, q + a - pad)                                  (a == b)
// so a lower-triangle output costs m P F multiply-adds instead of the full
// convolution's m C^2 F: with half the outputs, 6 / 18 = 1/3 of a full 3x3
// convolution's work.
//
// Symmetry-generating convolution (4.1)-(4.4): x a sequence [N, L, n], S
// [P, n, F], bias [F]. The input of the convolution is the self-Cartesian
// product y_{i,j} = (x_i, x_j) [L, L, 2n], never formed: with W[a][b][k] =
// W[a][b][n + k] = W[b][a][k] = S[tri(a, b)][k],
//   out(p, q)[f] = bias[f] + sum_{(a, b) valid} h_{tri(a,b)}(p + a - pad)[f] + h_{tri(a,b)}(q + b - pad)[f],
//   h_l(i)[f]    = sum_k x_i[k] S[l][k][f]       (a term from row i and one from column j)
// where (a, b) runs over all C^2 taps whose position (p + a - pad, q + b -
// pad) lies inside the L x L product (zero padding pads the whole product).
// Output packed [N, F, T'], L' = L + 2 pad - C + 1. Its cost is the P
// projections h (N L n F P multiply-adds) plus 2 C^2 adds per output.
//
// Each convolution has three kernels, linear maps adjoint to each other:
//   *_forward          (x, weight, bias) -> y
//   *_backward_data    (grad_y, weight)  -> grad_x  (the adjoint in x)
//   *_backward_filter  (x, grad_y)       -> grad_weight, straight into R or S
//                      (Theorem 7 / (4.11): each parameter's gradient is the
//                      sum over the taps it fills)
// A packed operand's gradient is the gradient with respect to its packed
// entries. All three overwrite their output; every operand is contiguous
// (core makes it so). Workspace sizes come from *_workspace (elements of the
// operands' dtype; 0: none, core passes an undefined View).
//
// Declared once, for both back ends, by the list kernels/symconv.def; the
// CPU versions are kernels/cpu/symconv.cpp (folded columns + GEMM), the CUDA
// ones kernels/cuda/symconv.cu (direct loops, v1).
#pragma once

#include <cstdint>

#include "core/base/view.h"
#include "kernels/elementwise_math.h"  // NOVA_HD: the index math below runs in kernels/cuda/symconv.cu too

namespace nova {

/// Every size of one symmetric convolution: batch N, input channels Cin (m
/// for preserving, the sequence's n for generating), input side L (the
/// triangle's side, or the sequence length), filters F, kernel side C,
/// padding pad, output side Lout = L + 2 pad - C + 1 (stride 1).
struct SymConvGeometry {
  int64_t N = 0, Cin = 0, L = 0, F = 0, C = 1, pad = 0, Lout = 0;

  /// Free taps of a C x C symmetric kernel, C (C + 1) / 2.
  NOVA_HD int64_t pairs() const { return C * (C + 1) / 2; }
  /// Packed entries of a side-L triangle.
  NOVA_HD int64_t in_entries() const { return L * (L + 1) / 2; }
  NOVA_HD int64_t out_entries() const { return Lout * (Lout + 1) / 2; }
  /// The packed input entry at position (i, j), or -1 in the padding.
  NOVA_HD int64_t entry_or_pad(int64_t i, int64_t j) const;
};

/// Which pass a workspace is for.
enum class SymConvPass { kForward, kBackwardData, kBackwardFilter };

/// tri(i, j) for any i, j: the packed entry of (i, j) and (j, i).
NOVA_HD int64_t sym_tri(int64_t i, int64_t j) { return i >= j ? i * (i + 1) / 2 + j : j * (j + 1) / 2 + i; }

/// The taps (a, b), a <= b, of kernel pair l = tri(a, b).
NOVA_HD void sym_pair_taps(int64_t l, int64_t* a, int64_t* b) {
  int64_t hi = 0;
  while ((hi + 1) * (hi + 2) / 2 <= l) ++hi;
  *b = hi;
  *a = l - hi * (hi + 1) / 2;
}

NOVA_HD int64_t SymConvGeometry::entry_or_pad(int64_t i, int64_t j) const {
  return i < 0 || j < 0 || i >= L || j >= L ? -1 : sym_tri(i, j);
}

}  // namespace nova

#define NOVA_KERNEL_FAMILY "kernels/symconv.def"
#include "kernels/declare_family.h"
