// nn/linear.cpp: Linear (see linear.h).
#include "nn/linear.h"

#include <cmath>

#include "core/factory.h"
#include "core/matmul.h"
#include "nn/init.h"

namespace nova::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias, const SpectralNormOptions& sn)
    : Module("Linear"), in_features(in), out_features(out) {
  NOVA_CHECK(in >= 0 && out >= 0, "Linear: sizes must be >= 0, got in_features={}, out_features={}",
             in, out);
  Tensor w = empty({out, in});
  // a = sqrt(5) gives gain sqrt(2 / 6) and bound gain * sqrt(3 / in) = 1 / sqrt(in)
  if (in > 0) init::kaiming_uniform_(w, std::sqrt(5.0));
  else init::zeros_(w);
  if (sn.enabled) spectral_norm = SpectralNorm(*this, w, sn, "Linear");
  else weight = register_parameter("weight", w);
  if (with_bias) {
    bias = register_parameter("bias", empty({out}));
    double bound = in > 0 ? 1.0 / std::sqrt(double(in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  if (spectral_norm.enabled()) weight = spectral_norm.weight(is_training());
  return ops::linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}{}", in_features, out_features,
                     bias.defined(), spectral_norm.enabled() ? ", spectral_norm=true" : "");
}

}  // namespace nova::nn
