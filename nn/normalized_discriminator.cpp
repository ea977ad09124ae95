// nn/normalized_discriminator.cpp: GradientNormalizedDiscriminator (see
// normalized_discriminator.h).
#include "nn/normalized_discriminator.h"

#include "core/autograd.h"
#include "core/elementwise.h"

namespace nova::nn {

GradientNormalizedDiscriminator::GradientNormalizedDiscriminator(std::shared_ptr<Module> critic,
                                                                 GanRegularizer kind, PgnDenominator pgn_denominator)
    : Module("GradientNormalizedDiscriminator"), kind_(kind), pgn_denominator_(pgn_denominator) {
  NOVA_CHECK(critic != nullptr, "GradientNormalizedDiscriminator: the critic is null");
  NOVA_CHECK(kind == GanRegularizer::gradient_normalize || kind == GanRegularizer::penalty_gradient_normalize,
             "GradientNormalizedDiscriminator: kind must be gradient_normalize or "
             "penalty_gradient_normalize, got GanRegularizer value {}", static_cast<int>(kind));
  critic_ = register_module("critic", std::move(critic));
}

Tensor GradientNormalizedDiscriminator::forward(const Tensor& x) { return forward_with_raw(x).normalized; }

NormalizedScores GradientNormalizedDiscriminator::forward_with_raw(const Tensor& x) {
  check_defined("GradientNormalizedDiscriminator", x, "x");
  const bool recording = autograd::is_grad_enabled();
  autograd::GradModeGuard grad_on(true);  // grad_x f needs a graph, even in an evaluation
  Tensor input = recording && x.requires_grad() ? x : x.detach().requires_grad_();
  Tensor f = (*critic_)(input);
  Tensor out = kind_ == GanRegularizer::gradient_normalize ? gradient_normalize(f, input)
                                                           : penalty_gradient_normalize(f, input, pgn_denominator_);
  Tensor score = oriented_score(kind_, f);
  if (!recording) return {out.detach(), f.detach(), score.detach()};
  return {out, f, score};
}

Tensor oriented_score(GanRegularizer kind, const Tensor& f) {
  check_defined("oriented_score", f, "f");
  return kind == GanRegularizer::penalty_gradient_normalize ? 1.0 - f : f;
}

std::string GradientNormalizedDiscriminator::extra_repr() const {
  if (kind_ == GanRegularizer::gradient_normalize) return "gradient_normalize";
  return pgn_denominator_ == PgnDenominator::gradient ? "penalty_gradient_normalize, denominator gradient"
                                                      : "penalty_gradient_normalize, denominator ones_minus_gradient";
}

std::shared_ptr<Module> discriminator_for(const GanObjective& objective, std::shared_ptr<Module> critic) {
  NOVA_CHECK(critic != nullptr, "discriminator_for: the critic is null");
  if (!objective.normalizes_output()) return critic;
  return std::make_shared<GradientNormalizedDiscriminator>(std::move(critic), objective.regularizer,
                                                           objective.pgn_denominator);
}

}  // namespace nova::nn
