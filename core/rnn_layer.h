// core/rnn_layer.h: one GRU or LSTM layer over a whole sequence as one
// autograd node, the input projection included:
//   gru_layer(x, h0, w_ih, b_ih, w_hh, b_hh)
//     = gru_recurrence(x W_ih^T + b_ih, h0, w_hh, b_hh)
// (and the same for LSTM). Why a node of its own: with the projection
// outside the loop, as one matmul over all T B rows, its [T, B, G] result
// (15 MB for a GRU at B 128, T 100, H 100) is written to memory, read back
// by the loop, and its gradient written and read again by the matmuls and
// the column sum of d W_ih and d b_ih: that traffic was a fifth of a CPU
// training step at the thesis's denoise size (bench/RESULTS.md). On the
// CPU, for H up to cpu::kRnnSequenceMaxHidden, the whole-sequence kernels
// (kernels/cpu/rnn_sequence.h) form step t's projections inside the loop
// and accumulate d W_ih, d b_ih and dx step by step instead. Elsewhere (CUDA,
// larger H) the ops are exactly the composition above.
//
// Same values as the composition, to rounding. The forward is the same
// product x W_ih^T (each element's terms summed in order) with b_ih added
// after it, as linear adds it: bit for bit where the BLAS sums in order too,
// as OpenBLAS's AVX-512 sgemm and dgemm do here, not its AVX2 sgemm
// (OPENBLAS_CORETYPE=Haswell). d W_ih and d b_ih are the same sums in
// another order (step by step, per batch slice).
// Differentiable to any order: under create_graph the backward
// differentiates the composition.
#pragma once

#include "core/tensor.h"

namespace nova::ops {

/// One GRU layer: x [T, B, I] (any strides), h0 [B, H], w_ih [3H, I], b_ih
/// [3H] or undefined, w_hh [3H, H], b_hh [3H] or undefined. Returns all
/// hidden states [T, B, H], as gru_recurrence does.
Tensor gru_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& b_ih, const Tensor& w_hh,
                 const Tensor& b_hh);

/// One LSTM layer: x [T, B, I], h0 and c0 [B, H], w_ih [4H, I], b_ih [4H]
/// or undefined, w_hh [4H, H], b_hh [4H] or undefined. Returns hc
/// [T, 2, B, H] (hc[t, 0] = h_t, hc[t, 1] = c_t), as lstm_recurrence does.
Tensor lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih, const Tensor& b_ih,
                  const Tensor& w_hh, const Tensor& b_hh);

/// The compositions above, spelled out with linear and the recurrence ops:
/// what the layer ops compute elsewhere than the CPU kernels, what they
/// differentiate under create_graph, and the tests' reference.
Tensor gru_layer_composed(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& b_ih,
                          const Tensor& w_hh, const Tensor& b_hh);
Tensor lstm_layer_composed(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                           const Tensor& b_ih, const Tensor& w_hh, const Tensor& b_hh);

}  // namespace nova::ops
