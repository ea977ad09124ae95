// core/symconv.h: SCNN's symmetric convolutions (thesis 4.1.3) and the
// packed symmetric feature maps they read and write.
//
// A symmetric map Z [.., L, L] (Z[i][j] = Z[j][i]) is stored as its lower
// triangle, packed row by row: [.., T] with T = L (L + 1) / 2, entry
// i (i + 1) / 2 + j for i >= j. sym_pack / sym_unpack convert; every other
// op here takes and gives packed maps [N, channels, T].
//
//   sym_generating_conv2d  x [N, L, n] (a sequence), S [P, n, F] -> [N, F, T']
//       the convolution of the self-Cartesian product (x_i, x_j) [L, L, 2n]
//       (4.1) with the symmetry-generating kernel W(S) (4.4), never forming
//       the product; its output is symmetric (Theorem 6).
//   sym_preserving_conv2d  x [N, m, T], R [P, m, F] -> [N, F, T']
//       the convolution of the symmetric map with the symmetric kernel Q(R)
//       (4.10); only the output's lower triangle is computed.
// P = C (C + 1) / 2 for a C x C kernel, stride 1, zero padding `padding` on
// every side, L' = L + 2 padding - C + 1, T' = L' (L' + 1) / 2. Weights keep
// the thesis's layout [P, channels, F], pair p = tri(a, b) for the taps (a,
// b) and (b, a) (the thesis's l, from 0). Their gradients are those of
// Theorem 7 and (4.11): each parameter's gradient sums the full kernel's
// over the taps it fills (the kernels compute it in that form directly).
// Both convolutions are differentiable to any order in every input.
//
// The full kernels W(S) [F, 2n, C, C] and Q(R) [F, m, C, C], and the
// self-Cartesian product itself, are ops too: with them the same layer is an
// ordinary conv2d on the full map, which is how the tests check the packed
// kernels, and how a reader sees what they compute.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace nova::ops {

/// The side L of a triangle with `entries` packed entries (L (L + 1) / 2 ==
/// entries); throws, naming `op`, when entries is not triangular.
int64_t sym_side(const char* op, int64_t entries);

/// The lower triangle of the last two dims, packed: [.., L, L] -> [.., T].
/// It reads only i >= j (the upper triangle is ignored, not checked); its
/// gradient puts each packed entry's gradient at (i, j) and zero above.
Tensor sym_pack(const Tensor& full);
/// The symmetric map of a packed one: [.., T] -> [.., L, L], (i, j) and (j,
/// i) both from entry tri(i, j). Its gradient sums the two.
Tensor sym_unpack(const Tensor& packed);

/// Symmetry-generating convolution: x [N, L, n], s [P, n, F] (P = C(C+1)/2,
/// C from P), bias [F] or undefined -> packed [N, F, T'].
Tensor sym_generating_conv2d(const Tensor& x, const Tensor& s, const Tensor& bias = {}, int64_t padding = 0);
/// Symmetry-preserving convolution: x packed [N, m, T], r [P, m, F], bias [F]
/// or undefined -> packed [N, F, T'].
Tensor sym_preserving_conv2d(const Tensor& x, const Tensor& r, const Tensor& bias = {}, int64_t padding = 0);

/// W(S) of (4.4) as a conv2d weight [F, 2n, C, C]: channel k and n + k
/// both S[tri(a, b)][k] at taps (a, b) and (b, a). Differentiable (its
/// gradient is Theorem 7's sum).
Tensor sym_generating_kernel(const Tensor& s);
/// Q(R) of (4.10) as a conv2d weight [F, m, C, C]. Differentiable ((4.11)).
Tensor sym_preserving_kernel(const Tensor& r);
/// The self-Cartesian product (4.1) of x [N, L, n] as a conv2d input [N,
/// 2n, L, L]: channels 0..n-1 at (i, j) hold x_i, channels n..2n-1 hold x_j.
Tensor self_cartesian_product(const Tensor& x);

/// The side C of a symmetric kernel with P free taps (C (C + 1) / 2 == P).
inline int64_t sym_kernel_side(int64_t pairs) { return sym_side("sym kernel", pairs); }

}  // namespace nova::ops
