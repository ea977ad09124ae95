// core/dropout.h: inverted dropout. In training each element is kept with
// probability 1 - p and scaled by 1 / (1 - p), so the expected output equals
// the input and evaluation needs no rescaling.
#pragma once

#include "core/random.h"
#include "core/tensor.h"

namespace nova::ops {

/// Training: x * mask / (1 - p) with mask ~ bernoulli(1 - p) drawn from gen
/// (the default generator if null); p = 1 gives zeros (x * 0, so the graph is
/// kept). Not training, or p = 0: x itself. p must be in [0, 1]. The gradient
/// is g * mask / (1 - p) (a product with a constant: differentiable again).
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace nova::ops
