// optim/clip_grad.h: gradient clipping (PyTorch's torch.nn.utils.clip_grad_*),
// applied to .grad between backward() and optimizer.step().
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::optim {

/// Scales all gradients together so that their joint norm is at most
/// max_norm: total = norm_type-norm of all .grad values taken as one vector
/// (norm_type INFINITY: max |g|); when max_norm / (total + 1e-6) < 1 every
/// grad is multiplied by that factor. Returns total (before clipping).
/// Parameters without a grad are skipped. With error_if_nonfinite a NaN or
/// infinite total throws instead of scaling the grads into NaN.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

/// Clamps every gradient value into [-clip_value, clip_value] in place.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace nova::optim
