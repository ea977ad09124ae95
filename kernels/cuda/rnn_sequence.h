// kernels/cuda/rnn_sequence.h: the whole-sequence ("persistent") CUDA
// kernels of a GRU or LSTM layer's recurrence, for small hidden sizes: the
// T steps of the forward run in ONE launch, and so do the T steps of the
// backward through time, with the recurrent weight W_hh held in the block's
// shared memory for the whole sequence (issue 18). core/rnn_gates.cpp
// dispatches gru_recurrence / lstm_recurrence on CUDA here when
// rnn_sequence_supported() says the sizes fit, and to the per-step path
// (one cuBLAS GEMM + one fused gate kernel per step) otherwise.
//
// Design (kernels/cuda/rnn_sequence.cu): one thread block owns a slice of
// batch rows for the whole sequence. A row's recurrence never reads another
// row, so the blocks need no synchronisation with each other: the only
// dependence (step t needs h_{t-1} of the same rows) lives inside one block,
// behind __syncthreads(). Each block copies W_hh (all k H x H of it, k = 3
// for GRU, 4 for LSTM) into shared memory once, then per step forms its
// rows' h W_hh^T + b_hh in shared memory and runs the same per-element gate
// formulas as the per-step kernels (kernels/rnn_gates_math.h), so that both
// paths save the same workspaces in the same layout. Backward, per step from
// the last: the fused gate backward, then dh_{t-1} = dgates_t W_hh in the
// block; dW_hh and db_hh are left to the caller (one GEMM and one column sum
// over all steps, from the saved gate gradients and hidden states).
//
// The size limit: shared memory must hold W_hh and one row's per-step
// buffers, sizeof(T) (k H^2 + e H) bytes with e = 6 (GRU) or 8 (LSTM) (the
// backward's buffers, larger than the forward's), within the device's
// opt-in limit per block (227 KiB on H100/H200). That admits, on H100,
// H <= 138 (GRU) and 119 (LSTM) in float32, 97 and 84 in float64; larger H
// take the per-step path. rnn_sequence_max_hidden() gives the bound of the
// device at hand.
//
// Plain C++ (no CUDA headers), so core includes it in every build; without
// CUDA, kernels/cuda/stub.cpp defines these functions (supported() is false
// there, the others throw "built without CUDA"). Every View is a contiguous
// row-major tensor on one CUDA device (core makes them so); outputs are
// written, not accumulated.
#pragma once

#include <cstdint>

#include "core/base/view.h"

namespace nova::cuda {

/// Largest hidden size H whose persistent kernels fit one block's shared
/// memory on `device`, for `gates` = 3 (GRU) or 4 (LSTM) and elements of
/// `dtype`; 0 when none does (or no device answers).
int64_t rnn_sequence_max_hidden(int gates, DType dtype, int device);

/// True when the persistent kernels take this layer: 1 <= H <=
/// rnn_sequence_max_hidden(gates, dtype, device) and batch >= 1.
bool rnn_sequence_supported(int gates, int64_t hidden, int64_t batch, DType dtype, int device);

/// GRU forward over all steps: gi [T, B, 3H] (x W_ih^T + b_ih of every
/// step), h0 [B, H], w_hh [3H, H], b_hh [3H] or undefined; writes out
/// [T, B, H] (h_1 .. h_T) and saved [T, B, 4H] (per step r, z, n, gh_n: the
/// layout of gru_gates_forward's workspace).
void gru_sequence_forward(const View& gi, const View& h0, const View& w_hh, const View& b_hh,
                          const View& out, const View& saved);

/// GRU backward through time: from grad_out [T, B, H] (dL/dh_t from the
/// loss), saved [T, B, 4H], out [T, B, H] and h0 [B, H] of the forward and
/// w_hh [3H, H], writes grad_gi [T, B, 3H], grad_gh [T, B, 3H] (the
/// gradients of gi_t and of gh_t = h_{t-1} W_hh^T + b_hh) and grad_h0 [B, H].
void gru_sequence_backward(const View& grad_out, const View& saved, const View& out, const View& h0,
                           const View& w_hh, const View& grad_gi, const View& grad_gh,
                           const View& grad_h0);

/// LSTM forward over all steps: gi [T, B, 4H], h0 and c0 [B, H], w_hh
/// [4H, H], b_hh [4H] or undefined; writes hc [T, 2, B, H] (hc[t, 0] = h_t,
/// hc[t, 1] = c_t) and saved [T, B, 5H] (per step i, f, g, o, tanh(c_t):
/// lstm_gates_forward's workspace).
void lstm_sequence_forward(const View& gi, const View& h0, const View& c0, const View& w_hh,
                           const View& b_hh, const View& hc, const View& saved);

/// LSTM backward through time: from grad_hc [T, 2, B, H] (dL/dh_t, dL/dc_t
/// from the loss), saved [T, B, 5H], hc [T, 2, B, H], c0 [B, H] and w_hh
/// [4H, H], writes grad_gates [T, B, 4H] (the gradient of gi_t and of gh_t
/// alike), grad_h0 and grad_c0 [B, H].
void lstm_sequence_backward(const View& grad_hc, const View& saved, const View& hc, const View& c0,
                            const View& w_hh, const View& grad_gates, const View& grad_h0,
                            const View& grad_c0);

}  // namespace nova::cuda
