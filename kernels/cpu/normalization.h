// kernels/cpu/normalization.h: CPU kernels of layer_norm and batch_norm.
// They see contiguous tensors already viewed as 2-D / 3-D by core:
//   layer_norm: x [rows, cols], statistics per row (over the normalized dims)
//   batch_norm: x [N, C, L], statistics per channel c (over N and L)
// Statistics are accumulated in double (two passes: mean, then squared
// deviations) so float32 inputs with a large mean keep their precision.
// Every output is written, not accumulated. The backward passes are written
// with ops in core/normalization.cpp, so these are forward kernels only.
#pragma once

#include "core/tensor.h"

namespace nova::cpu {

/// y[r, :] = (x[r, :] - mean[r]) * rstd[r] * weight + bias, with
/// rstd = 1 / sqrt(biased var + eps). weight and bias ([cols]) may be
/// undefined (no affine). Writes y [rows, cols], mean [rows], rstd [rows].
void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                        const Tensor& y, const Tensor& mean, const Tensor& rstd);

/// Per-channel batch statistics of x [N, C, L]: mean [C] and the biased
/// variance var [C] (divided by N * L).
void batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var);

/// y[n, c, l] = (x[n, c, l] - mean[c]) * rstd[c] * weight[c] + bias[c] for
/// x, y [N, C, L]; weight and bias may be undefined.
void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                      const Tensor& bias, const Tensor& y);

}  // namespace nova::cpu
