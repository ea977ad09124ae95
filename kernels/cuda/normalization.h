// kernels/cuda/normalization.h: layer_norm and batch_norm forward on CUDA,
// the same functions and semantics as kernels/cpu/normalization.h (contiguous
// tensors viewed by core as x [rows, cols] for layer_norm and x [N, C, L] for
// batch_norm; statistics in double, two passes: mean, then squared
// deviations). Plain C++: implemented in normalization.cu, or in stub.cpp
// (throwing) in a build without CUDA. The backward passes are ops in core.
#pragma once

#include "core/tensor.h"

namespace nova::cuda {

/// y[r, :] = (x[r, :] - mean[r]) * rstd[r] * weight + bias, with
/// rstd = 1 / sqrt(biased var + eps); weight and bias ([cols]) may be
/// undefined. Writes y [rows, cols], mean [rows], rstd [rows].
void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                        const Tensor& y, const Tensor& mean, const Tensor& rstd);

/// Per-channel batch statistics of x [N, C, L]: mean [C] and the biased
/// variance var [C] (divided by N * L).
void batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var);

/// y[n, c, l] = (x[n, c, l] - mean[c]) * rstd[c] * weight[c] + bias[c] for
/// x, y [N, C, L]; weight and bias may be undefined.
void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                      const Tensor& bias, const Tensor& y);

}  // namespace nova::cuda
