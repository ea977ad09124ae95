// kernels/rnn_sequence.h: a whole recurrent sequence in one kernel call, for
// the small hidden sizes of the thesis's recurrent nets (42-200), where a
// framework's step-by-step graph (a matmul, a gate op and their autograd
// nodes per time step) costs more than the arithmetic. The input projections
// of all steps are one GEMM before the call (core does it); the call runs the
// recurrence, and its backward runs backpropagation through time in one
// call too.
//
// GRU, PyTorch's equations and gate order (r, z, n), per step t = 1..T with
// gi_t = x_t W_ih^T + b_ih given and gh_t = h_{t-1} W_hh^T + b_hh computed:
//   r = sigmoid(gi_r + gh_r)    z = sigmoid(gi_z + gh_z)
//   n = tanh(gi_n + r * gh_n)   h_t = (1 - z) * n + z * h_{t-1}
// Backward, with dh the gradient reaching h_t (from outside plus from
// h_{t+1}):
//   dn = dh (1 - z)          dz = dh (h_{t-1} - n)
//   an = dn (1 - n^2)        ar = an gh_n r (1 - r)     az = dz z (1 - z)
//   grad gi_t = (ar, az, an)          dgh_t = (ar, az, an r)
//   dh_{t-1} = dh z + dgh_t W_hh      grad W_hh = sum_t dgh_t^T h_{t-1}
//   grad b_hh = sum_t,b dgh_t
//
// CPU: the batch is cut into one slice of rows per thread, and each thread
// runs all T steps of its rows (rows never interact, so no step needs a
// barrier); the recurrent weight stays in cache across the steps. Each step
// is one small GEMM (h W_hh^T) and one fused pass over the gates. The weight
// gradient is one GEMM over all T*B rows after the loop. CUDA: one launch
// per step for the hidden projection and gates (correctness first; the
// persistent kernel is for later).
#pragma once

#include <cstdint>

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/rnn_sequence.def"
#include "kernels/declare_family.h"
