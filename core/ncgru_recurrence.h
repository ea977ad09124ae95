// core/ncgru_recurrence.h: NC-GRU's time loop (thesis eq. 3.53) as one
// autograd node, as gru_recurrence / lstm_recurrence are for GRU and LSTM
// (core/rnn_gates.h).
//
// Why one node: a loop of per-step ops that reads step t of the [T, B, 3H]
// input projections through select() gets, in its backward, one full-size
// zero-filled gradient of the projections per step (the select's backward):
// T^2 B H work, most of an NC-GRU training step at T 100. One node writes
// step t's gradient into its own rows, and forms the recurrent weights'
// gradients as one matmul over all steps after the loop. Each step is two
// matmuls and two fused gate kernels forward (kernels/ncgru_gates.h), and
// two matmuls and two kernels backward, on the tensors' device.
//
// Backward through time, step t from the last, g = dL/dh_t (the output's
// gradient plus what step t+1 sent back), z = W_c x + U_c (r h) the
// candidate's argument, m = [|z| + b_c > 0]:
//   du = g (c - h),  dc = g u,  dz = dc m sgn(z)^2,  db_c += dc m sgn(z)
//   d(r h) = dz U_c,  dr = d(r h) h
//   [dr_pre | du_pre] = [dr r (1 - r) | du u (1 - u)]
//   dh_{t-1} = g (1 - u) + d(r h) r + [dr_pre | du_pre] [U_r; U_u]
//   dU_c = sum_t dz^T (r h),  [dU_r; dU_u] = sum_t [dr_pre | du_pre]^T h_{t-1}
// (modReLU(z; b) = sgn(z) relu(|z| + b), differentiated as ops::modrelu's
// composition is, so the two agree at z = 0 too.)
#pragma once

#include "core/tensor.h"

namespace nova::ops {

/// NC-GRU over T steps from h0, eq. (3.53):
///   r = sigmoid(W_r x + U_r h + b_r),  u = sigmoid(W_u x + U_u h + b_u)
///   c = modReLU(W_c x + U_c (r h); b_c),  h' = (1 - u) h + u c
/// proj [T, B, 3H]: [W_r x | W_u x | W_c x] of every step (one matmul by the
/// caller); h0 [B, H]; U_r, U_u, U_c [H, H] (acting on columns: the code
/// computes h U^T); b_r, b_u, b_c [H]. Returns every h_t, [T, B, H]. All of
/// one floating dtype and device; throws nova::Error naming the argument
/// otherwise. Differentiable to any order (under create_graph the backward
/// recomputes the loop with ops: ncgru_recurrence_composed).
Tensor ncgru_recurrence(const Tensor& proj, const Tensor& h0, const Tensor& U_r, const Tensor& U_u,
                        const Tensor& U_c, const Tensor& b_r, const Tensor& b_u, const Tensor& b_c);

/// The same recurrence as a loop of per-step ops: the reference of the tests
/// and what a create_graph backward differentiates. Same arguments.
Tensor ncgru_recurrence_composed(const Tensor& proj, const Tensor& h0, const Tensor& U_r, const Tensor& U_u,
                                 const Tensor& U_c, const Tensor& b_r, const Tensor& b_u, const Tensor& b_c);

}  // namespace nova::ops
