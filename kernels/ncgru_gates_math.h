// kernels/ncgru_gates_math.h: NC-GRU's gate formulas (thesis eq. 3.53) for
// one element (b, j) of a step, written once for both back ends:
// kernels/cpu/ncgru_gates.cpp runs them in a loop over rows,
// kernels/cuda/ncgru_gates.cu with one thread per element. The functions
// get pointers to the start of row b of each operand and the column j; a
// [B, kH] row holds k blocks of H columns. The derivative table is in
// core/ncgru_recurrence.h.
#pragma once

#include <cstdint>

#include "kernels/rnn_gates_math.h"

namespace nova::ncgru_math {

/// sign(v) as ops::sign: -1, 0 or 1.
template <typename T>
NOVA_HD T sign(T v) {
  return T((T(0) < v) - (v < T(0)));
}

/// First half of a step, before the candidate's matmul: p a row of the step's
/// projections [3H] (r, u, c blocks), lin = h U_ru^T + b_ru a row of [2H],
/// h a row of [H]. Writes ru = sigmoid(p_ru + lin) [2H] and, for j < H,
/// rh = r h [H]. j runs over [0, 2H).
template <typename T>
NOVA_HD void forward_gates(const T* p, const T* lin, const T* h, T* ru, T* rh, int64_t H, int64_t j) {
  const T v = rnn_math::sigmoid(T(p[j] + lin[j]));
  ru[j] = v;
  if (j < H) rh[j] = v * h[j];
}

/// Second half, after m = (r h) U_c^T: z = p_c + m, c = modReLU(z; b_c) =
/// sgn(z) relu(|z| + b_c), h_new = (1 - u) h + u c. j runs over [0, H).
template <typename T>
NOVA_HD void forward_state(const T* p, const T* m, const T* b_c, const T* ru, const T* h, T* z, T* c, T* h_new,
                           int64_t H, int64_t j) {
  const T zj = p[2 * H + j] + m[j];
  const T a = (zj < T(0) ? -zj : zj) + b_c[j];
  const T cj = sign(zj) * (a > T(0) ? a : T(0));  // as ops::modrelu: sign(z) * relu(|z| + b)
  const T u = ru[H + j];
  z[j] = zj;
  c[j] = cj;
  h_new[j] = (T(1) - u) * h[j] + u * cj;
}

/// Backward, first half: g = dL/dh_t = grad_t + dh_next (dh_next null at the
/// last step), du = g (c - h_prev), dc = g u, db_c = dc [|z| + b_c > 0]
/// sgn(z), dz = db_c sgn(z). Writes g, du, d_bc [H] and dz into block 2 of
/// d_proj's row [3H]. j runs over [0, H).
template <typename T>
NOVA_HD void backward_candidate(const T* grad_t, const T* dh_next, const T* ru, const T* c, const T* h_prev,
                                const T* z, const T* b_c, T* g, T* du, T* d_bc, T* d_proj, int64_t H, int64_t j) {
  const T gj = dh_next ? T(grad_t[j] + dh_next[j]) : grad_t[j];
  const T u = ru[H + j], zj = z[j], s = sign(zj);
  const T dc = gj * u;
  const T db = ((zj < T(0) ? -zj : zj) + b_c[j]) > T(0) ? dc * s : T(0);
  g[j] = gj;
  du[j] = gj * (c[j] - h_prev[j]);
  d_bc[j] = db;
  d_proj[2 * H + j] = db * s;
}

/// Backward, second half, after d(rh) = dz U_c: the gates' pre-activation
/// gradients [dr r (1 - r) | du u (1 - u)] with dr = d(rh) h_prev, into
/// blocks 0 and 1 of d_proj's row, and dh_part = g (1 - u) + d(rh) r, to
/// which the caller adds d_ru [U_r; U_u]. j runs over [0, H).
template <typename T>
NOVA_HD void backward_gates(const T* g, const T* du, const T* d_rh, const T* h_prev, const T* ru, T* d_proj,
                            T* dh_part, int64_t H, int64_t j) {
  const T r = ru[j], u = ru[H + j];
  d_proj[j] = d_rh[j] * h_prev[j] * r * (T(1) - r);
  d_proj[H + j] = du[j] * u * (T(1) - u);
  dh_part[j] = g[j] * (T(1) - u) + d_rh[j] * r;
}

}  // namespace nova::ncgru_math
