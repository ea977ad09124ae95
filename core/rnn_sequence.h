// core/rnn_sequence.h: recurrences over a whole sequence as one op (kernels/
// rnn_sequence.h has the equations). A GRU layer's step-by-step graph (per
// step a matmul, the gate ops and their autograd nodes) costs more in
// framework overhead than in arithmetic at the thesis's hidden sizes; this op
// is one node for all T steps, with backpropagation through time as one
// kernel call. The input projections of all steps come in precomputed (one
// GEMM over [T*B, I] by the caller), so the op holds only the recurrence.
#pragma once

#include "core/tensor.h"

namespace nova::ops {

/// The GRU recurrence of PyTorch's nn.GRU (gate order r, z, n) over T steps:
/// gi [T, B, 3H] = x W_ih^T + b_ih for every step, h0 [B, H], w_hh [3H, H],
/// b_hh [3H] (or undefined: no hidden bias). Returns hs [T, B, H], the hidden
/// state after each step (the last is hs[T-1]). float32/float64, CPU and
/// CUDA, all on one device and dtype. Differentiable once in every input
/// (the backward is a fused kernel); a backward with create_graph through it
/// throws: build the step-by-step graph for second derivatives.
Tensor gru_sequence(const Tensor& gi, const Tensor& h0, const Tensor& w_hh, const Tensor& b_hh = Tensor());

}  // namespace nova::ops
