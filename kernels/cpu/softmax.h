// kernels/cpu/softmax.h: softmax and log_softmax along one dim on the CPU.
// y[.., i, ..] = exp(x_i - m) / sum_j exp(x_j - m)        (softmax)
// y[.., i, ..] = x_i - m - log(sum_j exp(x_j - m))        (log_softmax)
// with m = max_j x_j, so no exp overflows. x may have any strides; out is
// contiguous with x's shape and is overwritten. Backward is written with ops
// in core/softmax.cpp, so there is no backward kernel here.
#pragma once

#include "core/tensor.h"

namespace nova::cpu {

/// out = softmax of x along dim (dim already normalised to [0, x.dim())).
void softmax_forward(const Tensor& x, int dim, const Tensor& out);
/// out = log_softmax of x along dim (dim already normalised).
void log_softmax_forward(const Tensor& x, int dim, const Tensor& out);

}  // namespace nova::cpu
