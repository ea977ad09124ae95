// kernels/cpu/loss.h: the CPU kernel pair behind nll_loss: picking one
// log-probability per target, and its adjoint, scattering a gradient back to
// the picked positions. Layout (contiguous, viewed so by core):
//   log_probs / grad_input [N, C, D]   target / out / grad [N, D] (int64 target)
// Positions whose target equals ignore_index are skipped (0 in out, nothing
// scattered). Both functions write their output, never accumulate.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace nova::cpu {

/// Throws nova::Error naming `op`, the bad value and its position unless every
/// target is in [0, C) or equals ignore_index; returns how many are not ignored.
int64_t nll_check_targets(const char* op, const Tensor& target, int64_t C, int64_t ignore_index);

/// out[n, d] = -log_probs[n, target[n, d], d] (0 where the target is ignored).
/// Targets must have been checked by nll_check_targets.
void nll_loss_forward(const Tensor& log_probs, const Tensor& target, int64_t ignore_index,
                      const Tensor& out);

/// grad_input = 0 except grad_input[n, target[n, d], d] = -grad[n, d].
void nll_loss_backward(const Tensor& grad, const Tensor& target, int64_t ignore_index,
                       const Tensor& grad_input);

}  // namespace nova::cpu
