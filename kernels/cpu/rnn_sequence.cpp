// kernels/cpu/rnn_sequence.cpp: the GRU recurrence over a whole sequence and
// its backpropagation through time (see kernels/rnn_sequence.h for the
// equations). Each thread owns a contiguous slice of the batch rows and runs
// every time step of them: rows never interact, so the only synchronisation
// is the end of the parallel region. Per step a slice does one GEMM of its
// hidden rows with W_hh^T (the weight stays in cache from step to step) and
// one fused pass over the gates; nothing is allocated (the workspace comes
// from core).
#include "kernels/rnn_sequence.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/gemm.h"

namespace nova::cpu {

namespace {

// Below this many multiply-adds (T * B * 3H * H) one thread does it all: a
// fork/join costs more than the slices save.
constexpr int64_t kParallelWork = int64_t(1) << 22;

int64_t sequence_threads(int64_t T, int64_t B, int64_t H) {
  if (B < 2 || T * B * 3 * H * H < kParallelWork) return 1;
  return std::min<int64_t>(omp_get_max_threads(), B);
}

/// body(b0, b1) for each thread's slice of rows [b0, b1).
template <typename Body>
void for_each_slice(int64_t B, int64_t threads, Body&& body) {
  if (threads <= 1) {
    body(int64_t(0), B);
    return;
  }
#pragma omp parallel num_threads(int(threads))
  {
    const int64_t team = omp_get_num_threads();
    for (int64_t t = omp_get_thread_num(); t < threads; t += team) body(B * t / threads, B * (t + 1) / threads);
  }
}

template <typename T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
void forward_typed(const View& gi_v, const View& h0_v, const View& w_v, const View& b_v, const View& hs_v,
                   const View& saved_v, const View& ws_v) {
  const int64_t Tn = gi_v.size(0), B = gi_v.size(1), H = gi_v.size(2) / 3, H3 = 3 * H;
  const T* gi = gi_v.data<T>();
  const T* h0 = h0_v.data<T>();
  const T* w = w_v.data<T>();
  const T* bias = b_v.data_or_null<T>();
  T* hs = hs_v.data<T>();
  T* saved = saved_v.data<T>();
  T* gh_all = ws_v.data<T>();  // [B, 3H]
  for_each_slice(B, sequence_threads(Tn, B, H), [&](int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    T* gh = gh_all + b0 * H3;
    for (int64_t t = 0; t < Tn; ++t) {
      const T* hp = t == 0 ? h0 + b0 * H : hs + ((t - 1) * B + b0) * H;
      // gh [rows, 3H] = h_{t-1} [rows, H] @ W_hh^T (W_hh [3H, H] read transposed in place)
      gemm<T>(rows, H3, H, hp, H, 1, w, 1, H, gh, H3);
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t row = t * B + b0 + i;
        const T* g_in = gi + row * H3;
        const T* g_h = gh + i * H3;
        const T* h_prev = hp + i * H;
        T* h_out = hs + row * H;
        T* s = saved + row * 4 * H;
        for (int64_t j = 0; j < H; ++j) {
          const T ghr = g_h[j] + (bias ? bias[j] : T(0));
          const T ghz = g_h[H + j] + (bias ? bias[H + j] : T(0));
          const T ghn = g_h[2 * H + j] + (bias ? bias[2 * H + j] : T(0));
          const T r = sigmoid(g_in[j] + ghr);
          const T z = sigmoid(g_in[H + j] + ghz);
          const T n = std::tanh(g_in[2 * H + j] + r * ghn);
          h_out[j] = (T(1) - z) * n + z * h_prev[j];
          s[j] = r;
          s[H + j] = z;
          s[2 * H + j] = n;
          s[3 * H + j] = ghn;
        }
      }
    }
  });
}

template <typename T>
void backward_typed(const View& ghs_v, const View& h0_v, const View& w_v, const View& hs_v, const View& saved_v,
                    const View& ggi_v, const View& gh0_v, const View& gw_v, const View& gb_v, const View& ws_v) {
  const int64_t Tn = ghs_v.size(0), B = ghs_v.size(1), H = ghs_v.size(2), H3 = 3 * H;
  const T* ghs = ghs_v.data<T>();
  const T* h0 = h0_v.data<T>();
  const T* w = w_v.data<T>();
  const T* hs = hs_v.data<T>();
  const T* saved = saved_v.data<T>();
  T* ggi = ggi_v.data_or_null<T>();
  T* gh0 = gh0_v.data_or_null<T>();
  T* ws = ws_v.data<T>();
  // workspace: dgh [T*B, 3H] | h_prev [T*B, H] | carry [B, H] | tmp [B, H]
  T* dgh = ws;
  T* hprev = dgh + Tn * B * H3;
  T* carry_all = hprev + Tn * B * H;
  T* tmp_all = carry_all + B * H;
  for_each_slice(B, sequence_threads(Tn, B, H), [&](int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    T* carry = carry_all + b0 * H;
    T* tmp = tmp_all + b0 * H;
    std::fill(carry, carry + rows * H, T(0));
    for (int64_t t = Tn - 1; t >= 0; --t) {
      const T* hp = t == 0 ? h0 + b0 * H : hs + ((t - 1) * B + b0) * H;
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t row = t * B + b0 + i;
        const T* g_out = ghs + row * H;
        const T* s = saved + row * 4 * H;
        const T* h_prev = hp + i * H;
        T* d = dgh + row * H3;
        T* c = carry + i * H;
        T* gg = ggi ? ggi + row * H3 : nullptr;
        std::copy(h_prev, h_prev + H, hprev + row * H);  // for the weight gradient's GEMM
        for (int64_t j = 0; j < H; ++j) {
          const T r = s[j], z = s[H + j], n = s[2 * H + j], ghn = s[3 * H + j];
          const T dh = g_out[j] + c[j];
          const T an = dh * (T(1) - z) * (T(1) - n * n);
          const T ar = an * ghn * r * (T(1) - r);
          const T az = dh * (h_prev[j] - n) * z * (T(1) - z);
          d[j] = ar;
          d[H + j] = az;
          d[2 * H + j] = an * r;
          if (gg) {
            gg[j] = ar;
            gg[H + j] = az;
            gg[2 * H + j] = an;
          }
          c[j] = dh * z;  // the direct path h_{t-1} -> h_t; the GEMM below adds the rest
        }
      }
      // carry += dgh_t [rows, 3H] @ W_hh [3H, H]
      gemm<T>(rows, H, H3, dgh + (t * B + b0) * H3, H3, 1, w, H, 1, tmp, H);
      for (int64_t k = 0; k < rows * H; ++k) carry[k] += tmp[k];
    }
    if (gh0) std::copy(carry, carry + rows * H, gh0 + b0 * H);
  });
  // grad W_hh [3H, H] = dgh^T [3H, T*B] @ h_prev [T*B, H]; grad b_hh = column sums of dgh
  if (gw_v.defined()) gemm<T>(H3, H, Tn * B, dgh, 1, H3, hprev, H, 1, gw_v.data<T>(), H);
  if (gb_v.defined()) {
    T* gb = gb_v.data<T>();
    std::fill(gb, gb + H3, T(0));
    for (int64_t row = 0; row < Tn * B; ++row)
      for (int64_t j = 0; j < H3; ++j) gb[j] += dgh[row * H3 + j];
  }
}

}  // namespace

int64_t gru_sequence_forward_workspace(int64_t, int64_t B, int64_t H) { return B * 3 * H; }

int64_t gru_sequence_backward_workspace(int64_t T, int64_t B, int64_t H) {
  return T * B * 3 * H + T * B * H + 2 * B * H;
}

void gru_sequence_forward(const View& gi, const View& h0, const View& w_hh, const View& b_hh, const View& hs,
                          const View& saved, const View& workspace) {
  dispatch_floating("gru_sequence", gi.dtype(), [&](auto tag) {
    forward_typed<decltype(tag)>(gi, h0, w_hh, b_hh, hs, saved, workspace);
  });
}

void gru_sequence_backward(const View& grad_hs, const View& h0, const View& w_hh, const View& hs,
                           const View& saved, const View& grad_gi, const View& grad_h0, const View& grad_w_hh,
                           const View& grad_b_hh, const View& workspace) {
  dispatch_floating("gru_sequence_backward", grad_hs.dtype(), [&](auto tag) {
    backward_typed<decltype(tag)>(grad_hs, h0, w_hh, hs, saved, grad_gi, grad_h0, grad_w_hh, grad_b_hh,
                                  workspace);
  });
}

}  // namespace nova::cpu
