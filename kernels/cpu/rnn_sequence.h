// kernels/cpu/rnn_sequence.h: the whole recurrence of one GRU or LSTM layer
// on the CPU, forward and backward through time, each one kernel call
// (issue 18, "small hidden sizes: the whole sequence in one call"). The
// per-step path (core/rnn_gates.cpp: per step a matmul h W_hh^T + b_hh and a
// fused gate kernel, kernels/rnn_gates.h) pays a Tensor allocation and a
// dispatch per op per step; at the thesis's sizes (H 42-200) that overhead
// is most of a step. Here the time loop runs on raw pointers: W_hh is packed
// once per call and stays in cache, the per-step product is a small
// register-blocked GEMM followed by the gate math of the same rows, and
// threads (where they pay) each own a slice of the batch for all T steps.
// Same formulas as kernels/rnn_gates_math.h; core/rnn_gates.cpp has the
// derivative table.
//
// CPU only, so not a kernels/<f>.def family: the GPU's whole-sequence kernel
// is a different algorithm (a persistent launch) with its own entry points.
// Layouts are those of ops::gru_recurrence / ops::lstm_recurrence; every
// tensor is contiguous row-major; outputs are written, not accumulated.
#pragma once

#include <cstdint>

#include "core/base/view.h"

namespace nova::cpu {

/// The largest hidden size that takes the whole-sequence kernels; larger
/// ones take the per-step path. Measured (bench_rnn_step, B 64, T 20, one
/// thread, bench/RESULTS.md 2026-12-06): the whole sequence is 1.15x
/// (GRU) / 1.05x (LSTM) faster at H 128, even at H 256, and at H 384 the
/// LSTM is 1.1x slower (W_hh and the per-slice d W_hh, 2.4 MB each, no
/// longer stay in the 1 MB L2).
constexpr int64_t kRnnSequenceMaxHidden = 256;

/// Whether a layer of hidden size H runs as one whole-sequence kernel call.
inline bool rnn_sequence_fits(int64_t H) { return H <= kRnnSequenceMaxHidden; }

/// GRU layer forward. gi [T, B, 3H] (x W_ih^T + b_ih of every step, gate
/// blocks r, z, n), h0 [B, H], w_hh [3H, H], b_hh [3H] or undefined. Writes
/// out [T, B, H] (every h_t) and saved [T, B, 4H] (per step r, z, n, gh_n,
/// with gh_n = (h_{t-1} W_hh^T + b_hh)_n), the gru_gates_forward workspace.
void gru_sequence_forward(const View& gi, const View& h0, const View& w_hh, const View& b_hh,
                          const View& out, const View& saved);

/// GRU layer backward through time, from grad_out [T, B, H] and the forward's
/// out, saved, h0 and w_hh. Writes grad_gi [T, B, 3H] and grad_h0 [B, H];
/// grad_w_hh [3H, H] (= sum_t dgh_t^T h_{t-1}, dgh_t the gradient of step
/// t's h W_hh^T + b_hh) and grad_b_hh [3H] (= sum_t dgh_t) when defined.
void gru_sequence_backward(const View& grad_out, const View& saved, const View& out, const View& h0,
                           const View& w_hh, const View& grad_gi, const View& grad_h0, const View& grad_w_hh,
                           const View& grad_b_hh);

/// The input side of a layer kernel (the ops gru_layer / lstm_layer): the
/// layer's input x [T, B, I] (any strides), w_ih [G, I] and b_ih [G] (or
/// undefined) contiguous, G = 3H (GRU) or 4H (LSTM). Step t's projections
/// x_t W_ih^T + b_ih are formed inside the time loop, a slice's rows at a
/// time, instead of read from a [T, B, G] tensor.
struct LayerInput {
  View x, w_ih, b_ih;
};

/// The input side's gradients, each written when defined: grad_x [T, B, I]
/// contiguous, grad_w_ih [G, I], grad_b_ih [G]. Accumulated step by step
/// per slice as d W_hh is (see gru_sequence_backward), never through a
/// [T, B, G] gradient in memory.
struct LayerInputGrads {
  View grad_x, grad_w_ih, grad_b_ih;
};

/// gru_sequence_forward with the input projection inside the loop: the same
/// out and saved (bit for bit: the projection is the same product of x and
/// W_ih^T, plus b_ih after it, as linear's).
void gru_layer_forward(const LayerInput& in, const View& h0, const View& w_hh, const View& b_hh, const View& out,
                       const View& saved);

/// gru_sequence_backward with the input side's gradients in place of
/// grad_gi.
void gru_layer_backward(const View& grad_out, const View& saved, const View& out, const View& h0, const View& w_hh,
                        const LayerInput& in, const LayerInputGrads& in_grads, const View& grad_h0,
                        const View& grad_w_hh, const View& grad_b_hh);

/// LSTM layer forward. gi [T, B, 4H] (gate blocks i, f, g, o), h0 and c0
/// [B, H], w_hh [4H, H], b_hh [4H] or undefined. Writes hc [T, 2, B, H]
/// (hc[t, 0] = h_t, hc[t, 1] = c_t) and saved [T, B, 5H] (per step i, f, g,
/// o, tanh(c_t)), the lstm_gates_forward workspace.
void lstm_sequence_forward(const View& gi, const View& h0, const View& c0, const View& w_hh,
                           const View& b_hh, const View& hc, const View& saved);

/// LSTM layer backward through time, from grad_hc [T, 2, B, H] and the
/// forward's hc, saved, h0, c0 and w_hh. Writes grad_gates [T, B, 4H] (the
/// gradient of gi and of every step's h W_hh^T + b_hh alike), grad_h0 and
/// grad_c0 [B, H]; grad_w_hh [4H, H] and grad_b_hh [4H] when defined.
void lstm_sequence_backward(const View& grad_hc, const View& saved, const View& hc, const View& h0,
                            const View& c0, const View& w_hh, const View& grad_gates, const View& grad_h0,
                            const View& grad_c0, const View& grad_w_hh, const View& grad_b_hh);

/// lstm_sequence_forward with the input projection inside the loop (see
/// gru_layer_forward).
void lstm_layer_forward(const LayerInput& in, const View& h0, const View& c0, const View& w_hh, const View& b_hh,
                        const View& hc, const View& saved);

/// lstm_sequence_backward with the input side's gradients in place of
/// grad_gates (d b_ih = d b_hh: the same gate gradients, summed once).
void lstm_layer_backward(const View& grad_hc, const View& saved, const View& hc, const View& h0, const View& c0,
                         const View& w_hh, const LayerInput& in, const LayerInputGrads& in_grads,
                         const View& grad_h0, const View& grad_c0, const View& grad_w_hh, const View& grad_b_hh);

}  // namespace nova::cpu
