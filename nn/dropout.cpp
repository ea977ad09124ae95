// nn/dropout.cpp: Dropout (see dropout.h).
#include "nn/dropout.h"

#include "core/dropout.h"

namespace nova::nn {

Dropout::Dropout(double p, Generator* gen) : Module("Dropout"), p(p), gen(gen) {
  NOVA_CHECK(p >= 0.0 && p <= 1.0, "Dropout: p must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& x) { return ops::dropout(x, p, is_training(), gen); }

std::string Dropout::extra_repr() const { return fmt::format("p={}", p); }

}  // namespace nova::nn
