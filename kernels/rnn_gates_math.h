// kernels/rnn_gates_math.h: the GRU and LSTM gate formulas for one element
// (b, j) of a step, written once for both back ends:
// kernels/cpu/rnn_gates.cpp runs them in a loop over rows, and
// kernels/cuda/rnn_gates.cu with one thread per element, so the CPU and the
// GPU compute the same expressions. Row b of a [B, kH] tensor holds k gate
// blocks of H columns; the functions get pointers to the start of row b and
// the column j. Derivations are in core/rnn_gates.cpp.
#pragma once

#include <cstdint>

#include "kernels/elementwise_math.h"

namespace nova::rnn_math {

/// The logistic function, as elementwise sigmoid computes it (two branches
/// so that exp never overflows).
template <typename T>
NOVA_HD T sigmoid(T v) {
  if (v >= T(0)) return T(1) / (T(1) + math::exp(-v));
  const T e = math::exp(v);
  return e / (T(1) + e);
}

/// GRU forward, element j of one row: gi, gh rows of [3H] (r, z, n), h and
/// h_new rows of [H], saved a row of [4H] (r, z, n, gh_n).
/// h_new = n + z * (h - n), PyTorch's form of (1 - z) * n + z * h.
template <typename T>
NOVA_HD void gru_forward(const T* gi, const T* gh, const T* h, T* h_new, T* saved, int64_t H,
                         int64_t j) {
  const T r = sigmoid(T(gi[j] + gh[j]));
  const T z = sigmoid(T(gi[H + j] + gh[H + j]));
  const T gh_n = gh[2 * H + j];
  const T n = math::tanh(T(gi[2 * H + j] + r * gh_n));
  h_new[j] = n + z * (h[j] - n);
  saved[j] = r;
  saved[H + j] = z;
  saved[2 * H + j] = n;
  saved[3 * H + j] = gh_n;
}

/// GRU backward, element j of one row: g = dL/dh_new; writes the gate
/// pre-activation gradients into grad_gi and grad_gh ([3H] rows) and g * z
/// into grad_h; a null output is skipped.
template <typename T>
NOVA_HD void gru_backward(const T* g, const T* saved, const T* h, T* grad_gi, T* grad_gh,
                          T* grad_h, int64_t H, int64_t j) {
  const T r = saved[j], z = saved[H + j], n = saved[2 * H + j], gh_n = saved[3 * H + j];
  const T gj = g[j];
  const T dn = gj * (T(1) - z) * (T(1) - n * n);      // d/d(gi_n + r gh_n)
  const T dz = gj * (h[j] - n) * z * (T(1) - z);      // d/d(gi_z + gh_z)
  const T dr = dn * gh_n * r * (T(1) - r);            // d/d(gi_r + gh_r)
  if (grad_gi) {
    grad_gi[j] = dr;
    grad_gi[H + j] = dz;
    grad_gi[2 * H + j] = dn;
  }
  if (grad_gh) {
    grad_gh[j] = dr;
    grad_gh[H + j] = dz;
    grad_gh[2 * H + j] = dn * r;
  }
  if (grad_h) grad_h[j] = gj * z;
}

/// LSTM forward, element j of one row: gi, gh rows of [4H] (i, f, g, o), c a
/// row of [H]; h_new and c_new rows of [H], saved a row of [5H]
/// (i, f, g, o, tanh(c_new)).
template <typename T>
NOVA_HD void lstm_forward(const T* gi, const T* gh, const T* c, T* h_new, T* c_new, T* saved,
                          int64_t H, int64_t j) {
  const T i = sigmoid(T(gi[j] + gh[j]));
  const T f = sigmoid(T(gi[H + j] + gh[H + j]));
  const T g = math::tanh(T(gi[2 * H + j] + gh[2 * H + j]));
  const T o = sigmoid(T(gi[3 * H + j] + gh[3 * H + j]));
  const T cn = f * c[j] + i * g;
  const T tc = math::tanh(cn);
  c_new[j] = cn;
  h_new[j] = o * tc;
  saved[j] = i;
  saved[H + j] = f;
  saved[2 * H + j] = g;
  saved[3 * H + j] = o;
  saved[4 * H + j] = tc;
}

/// LSTM backward, element j of one row: gh_new, gc_new = dL/dh_new, dL/dc_new;
/// writes the gate pre-activation gradients into grad_gates ([4H] row) and
/// dL/dc into grad_c; a null output is skipped.
template <typename T>
NOVA_HD void lstm_backward(const T* gh_new, const T* gc_new, const T* saved, const T* c,
                           T* grad_gates, T* grad_c, int64_t H, int64_t j) {
  const T i = saved[j], f = saved[H + j], g = saved[2 * H + j], o = saved[3 * H + j];
  const T tc = saved[4 * H + j];
  const T dh = gh_new[j];
  const T dc = gc_new[j] + dh * o * (T(1) - tc * tc);  // c_new reaches L directly and through h_new
  if (grad_gates) {
    grad_gates[j] = dc * g * i * (T(1) - i);
    grad_gates[H + j] = dc * c[j] * f * (T(1) - f);
    grad_gates[2 * H + j] = dc * i * (T(1) - g * g);
    grad_gates[3 * H + j] = dh * tc * o * (T(1) - o);
  }
  if (grad_c) grad_c[j] = dc * f;
}

}  // namespace nova::rnn_math
