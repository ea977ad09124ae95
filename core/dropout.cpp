// core/dropout.cpp: dropout as a composite of ops: one bernoulli draw for the
// mask, then a product, whose recorded backward (g * mask / (1 - p)) is
// exactly dropout's derivative. No kernel of its own.
//
// Derivative table: x  dx = g * mask / (1 - p)   (mask as drawn in forward)
#include "core/dropout.h"

#include "core/elementwise.h"
#include "core/factory.h"

namespace nova::ops {

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_defined("dropout", x);
  check_floating("dropout", x);
  NOVA_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got {}", p);
  if (!training || p == 0.0) return x;
  // x * 0 rather than zeros(): NaN stays NaN and the graph stays connected, as in PyTorch
  if (p == 1.0) return x * 0.0;
  Tensor mask = bernoulli(x.shape(), 1.0 - p, x.dtype(), x.device(), gen) * (1.0 / (1.0 - p));
  return x * mask;
}

}  // namespace nova::ops
