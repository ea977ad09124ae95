// core/rnn_gates.h: the fused gate math of one GRU or LSTM time step
// (PyTorch's equations and gate order), from the projections the caller has
// already formed with matmuls:
//   gi = x W_ih^T + b_ih,  gh = h W_hh^T + b_hh.
// One kernel computes every gate and the new state, and saves the gate
// activations so that the backward is one kernel too. Both ops are
// differentiable to any order: under create_graph their backward is written
// with ops (the *_composed functions below spell out the same forward with
// ops, the reference the tests compare against).
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

/// gru_gates spelled out with elementwise ops (no fused kernel): the
/// reference of the tests; same arguments and result.
Tensor gru_gates_composed(const Tensor& gi, const Tensor& gh, const Tensor& h);

/// lstm_gates spelled out with elementwise ops: the reference of the tests.
std::pair<Tensor, Tensor> lstm_gates_composed(const Tensor& gi, const Tensor& gh, const Tensor& c);

}  // namespace nova::ops
