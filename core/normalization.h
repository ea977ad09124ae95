// core/normalization.h: layer_norm and batch_norm, functional forms (the nn
// modules own the parameters and running statistics and call these).
// Both normalise with the biased variance: xhat = (x - mean) / sqrt(var + eps),
// then apply an optional per-feature affine y = xhat * weight + bias.
#pragma once

#include "core/tensor.h"

namespace nova::ops {

/// Layer normalisation over the trailing dims given by normalized_shape (which
/// must equal x's last dims), as torch.nn.functional.layer_norm. weight and
/// bias, when defined, have shape normalized_shape. Differentiable to any
/// order in x, weight and bias.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

/// Batch normalisation of x [N, C] or [N, C, L...] per channel c, as
/// torch.nn.functional.batch_norm. training: normalises with the batch mean
/// and biased variance, and updates running_mean/running_var in place with
///   running = (1 - momentum) * running + momentum * batch_stat
/// using the unbiased batch variance. Not training: normalises with the
/// running statistics (the op is then affine in x). running_mean/running_var
/// ([C], x's dtype) may be undefined, and then the batch statistics are used
/// in both modes; weight and bias ([C]) may be undefined (no affine).
/// Under autograd::RowGroupsGuard (core/grad_split.h) batch statistics are
/// taken per group of rows (dim 0), as if batch_norm ran on each group
/// alone, and the running statistics are updated once per group, in order.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);

}  // namespace nova::ops
