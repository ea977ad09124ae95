// nn/dropout.h: Dropout, inverted dropout active only in training mode
// (ops::dropout): kept elements are scaled by 1 / (1 - p), so eval() needs no
// rescaling and simply passes x through.
#pragma once

#include "core/random.h"
#include "nn/module.h"

namespace nova::nn {

class Dropout : public Module {
 public:
  /// p: probability of zeroing an element, in [0, 1]. gen: where masks are
  /// drawn from (the default generator when null); it must outlive the module.
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double p;
  Generator* gen;
};

}  // namespace nova::nn
