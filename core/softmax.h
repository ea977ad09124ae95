// core/softmax.h: softmax and log_softmax along one dim (float32/float64),
// each one fused CPU kernel that subtracts the row max first, so large inputs
// do not overflow. Both are differentiable to any order.
#pragma once

#include "core/tensor.h"

namespace nova::ops {

/// exp(x) / sum(exp(x), dim): non-negative, sums to 1 along dim (negative
/// dims count from the end).
Tensor softmax(const Tensor& x, int64_t dim);
/// log(softmax(x, dim)), computed as x - max - log(sum(exp(x - max))) so that
/// it stays finite where softmax underflows to 0.
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace nova::ops
