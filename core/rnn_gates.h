// core/rnn_gates.h: the fused gate math of one GRU or LSTM time step
// (PyTorch's equations and gate order), from the projections the caller has
// already formed with matmuls:
//   gi = x W_ih^T + b_ih,  gh = h W_hh^T + b_hh.
// One kernel computes every gate and the new state, and saves the gate
// activations so that the backward is one kernel too. Both ops are
// differentiable to any order: under create_graph their backward is written
// with ops (the *_composed functions below spell out the same forward with
// ops, the reference the tests compare against).
//
// gru_recurrence / lstm_recurrence run a whole layer's time loop as one
// autograd node. Why: a loop of per-step nodes that reads step t's rows of
// one [T B, G H] projection through a slice gets, in its backward, one
// full-size zero-filled gradient of the projection per step (the slice's
// backward), T^2 B G H work: at T 100, B 128, H 100 that was 5x the rest of
// the step. One node writes step t's gradient straight into its rows.
#pragma once

#include <utility>

#include "core/tensor.h"

namespace nova::ops {

/// One GRU step. gi, gh [B, 3H] (gate blocks r, z, n), h [B, H]:
///   r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z),
///   n = tanh(gi_n + r * gh_n), h' = (1 - z) * n + z * h.
/// Returns h' [B, H]. float32/float64, one device.
Tensor gru_gates(const Tensor& gi, const Tensor& gh, const Tensor& h);

/// One LSTM step. gi, gh [B, 4H] (gate blocks i, f, g, o), c [B, H]:
///   i, f, o = sigmoid(gi + gh)[block], g = tanh(gi + gh)[block],
///   c' = f * c + i * g, h' = o * tanh(c').
/// Returns {h', c'}, each [B, H] (two views of one [2, B, H] result).
std::pair<Tensor, Tensor> lstm_gates(const Tensor& gi, const Tensor& gh, const Tensor& c);

/// The recurrence of one GRU layer over T steps, as one autograd node:
/// gi [T, B, 3H] the input projections of all steps (x W_ih^T + b_ih, one
/// matmul by the caller), h0 [B, H], w_hh [3H, H], b_hh [3H] or undefined.
/// Per step one matmul h W_hh^T + b_hh and one gru_gates kernel; returns all
/// hidden states [T, B, H]. Its backward through time runs the fused
/// backward kernel per step and forms dW_hh and db_hh in one matmul / sum
/// over all steps. On CUDA, when H is small enough that W_hh fits one
/// block's shared memory (kernels/cuda/rnn_sequence.h), the forward and the
/// backward loops each run as one persistent kernel instead
/// (NOVA_RNN_PERSISTENT=0 forces the per-step path). The same function as a
/// loop of linear + gru_gates, which
/// is what a backward under create_graph differentiates (by recomputing it).
Tensor gru_recurrence(const Tensor& gi, const Tensor& h0, const Tensor& w_hh, const Tensor& b_hh);

/// The recurrence of one LSTM layer over T steps, as one autograd node:
/// gi [T, B, 4H], h0 and c0 [B, H], w_hh [4H, H], b_hh [4H] or undefined.
/// Returns hc [T, 2, B, H]: hc[t, 0] = h_t, hc[t, 1] = c_t. On CUDA the same
/// persistent kernels as gru_recurrence take small H.
Tensor lstm_recurrence(const Tensor& gi, const Tensor& h0, const Tensor& c0, const Tensor& w_hh,
                       const Tensor& b_hh);

/// gru_gates spelled out with elementwise ops (no fused kernel): the
/// reference of the tests; same arguments and result.
Tensor gru_gates_composed(const Tensor& gi, const Tensor& gh, const Tensor& h);

/// lstm_gates spelled out with elementwise ops: the reference of the tests.
std::pair<Tensor, Tensor> lstm_gates_composed(const Tensor& gi, const Tensor& gh, const Tensor& c);

}  // namespace nova::ops
