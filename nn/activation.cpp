// nn/activation.cpp: the activation modules (see activation.h).
#include "nn/activation.h"

#include "core/elementwise.h"
#include "core/factory.h"
#include "nn/init.h"

namespace nova::nn {

Tensor ReLU::forward(const Tensor& x) { return ops::relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return ops::leaky_relu(x, negative_slope); }
std::string LeakyReLU::extra_repr() const { return fmt::format("negative_slope={}", negative_slope); }

Tensor ELU::forward(const Tensor& x) { return ops::elu(x, alpha); }
std::string ELU::extra_repr() const { return fmt::format("alpha={}", alpha); }

Tensor Sigmoid::forward(const Tensor& x) { return ops::sigmoid(x); }

Tensor Tanh::forward(const Tensor& x) { return ops::tanh(x); }

Tensor Softplus::forward(const Tensor& x) { return ops::softplus(x, beta, threshold); }
std::string Softplus::extra_repr() const {
  return fmt::format("beta={}, threshold={}", beta, threshold);
}

ModReLU::ModReLU(int64_t features) : Module("ModReLU"), features(features) {
  NOVA_CHECK(features > 0, "ModReLU: features must be > 0, got {}", features);
  b = register_parameter("b", empty({features}));
  init::uniform_(b, -0.1, 0.1);
}

Tensor ModReLU::forward(const Tensor& x) {
  NOVA_CHECK(x.dim() >= 1 && x.size(-1) == features,
             "ModReLU: expected input [..., {}], got {}", features, x.shape().str());
  return ops::modrelu(x, b);
}
std::string ModReLU::extra_repr() const { return fmt::format("features={}", features); }

}  // namespace nova::nn
