// nn/normalized_discriminator.cpp: GradientNormalizedDiscriminator (see
// normalized_discriminator.h).
#include "nn/normalized_discriminator.h"

#include "core/autograd.h"

namespace nova::nn {

GradientNormalizedDiscriminator::GradientNormalizedDiscriminator(std::shared_ptr<Module> critic,
                                                                 GanRegularizer kind)
    : Module("GradientNormalizedDiscriminator"), kind_(kind) {
  NOVA_CHECK(critic != nullptr, "GradientNormalizedDiscriminator: the critic is null");
  NOVA_CHECK(kind == GanRegularizer::gradient_normalize || kind == GanRegularizer::penalty_gradient_normalize,
             "GradientNormalizedDiscriminator: kind must be gradient_normalize or "
             "penalty_gradient_normalize, got GanRegularizer value {}", static_cast<int>(kind));
  critic_ = register_module("critic", std::move(critic));
}

Tensor GradientNormalizedDiscriminator::forward(const Tensor& x) {
  check_defined("GradientNormalizedDiscriminator", x, "x");
  const bool recording = autograd::is_grad_enabled();
  autograd::GradModeGuard grad_on(true);  // grad_x f needs a graph, even in an evaluation
  Tensor input = recording && x.requires_grad() ? x : x.detach().requires_grad_();
  Tensor f = (*critic_)(input);
  Tensor out = kind_ == GanRegularizer::gradient_normalize ? gradient_normalize(f, input)
                                                           : penalty_gradient_normalize(f, input);
  return recording ? out : out.detach();
}

std::string GradientNormalizedDiscriminator::extra_repr() const {
  return kind_ == GanRegularizer::gradient_normalize ? "gradient_normalize" : "penalty_gradient_normalize";
}

std::shared_ptr<Module> discriminator_for(const GanObjective& objective, std::shared_ptr<Module> critic) {
  NOVA_CHECK(critic != nullptr, "discriminator_for: the critic is null");
  if (!objective.normalizes_output()) return critic;
  return std::make_shared<GradientNormalizedDiscriminator>(std::move(critic), objective.regularizer);
}

}  // namespace nova::nn
