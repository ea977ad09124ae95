// nn/normalized_discriminator.h: GradientNormalizedDiscriminator, a critic
// whose output is normalised by its own input gradient (GN-GAN, PGN-GAN; the
// formulas are gradient_normalize and penalty_gradient_normalize in
// nn/gan_loss.h).
//
// The normalisation needs grad_x D(x), so the input must require grad and
// the forward runs an autograd::grad with create_graph inside it: every
// caller (the D step, the G step, an evaluation under NoGradGuard) would
// otherwise repeat the same few lines. As a Module it slots in wherever the
// plain critic did:
//
//   auto D = models::mixture_discriminator();
//   auto scores = nn::discriminator_for(objective, D);  // D itself for bce, wgan, ...
//   Tensor d = (*scores)(x);                            // f_hat(x) for gn and pgn
//
// Shapes: x [n, ...] -> [n] or [n, 1], as the critic's output. The critic
// must treat the n samples independently (nn/gan_loss.h says why).
#pragma once

#include <memory>

#include "nn/gan_loss.h"
#include "nn/module.h"

namespace nova::nn {

class GradientNormalizedDiscriminator : public Module {
 public:
  /// Wraps `critic` (registered as the child "critic", so parameters() and
  /// to() reach its tensors). kind: gradient_normalize or
  /// penalty_gradient_normalize; anything else throws nova::Error.
  GradientNormalizedDiscriminator(std::shared_ptr<Module> critic, GanRegularizer kind);

  /// The normalised critic output on x. When x does not require grad (a data
  /// batch) a detached copy that does is differentiated instead; when x
  /// does (G(z) in a generator step) gradients flow to x as well. Under
  /// NoGradGuard the input gradient is still built (grad mode is on inside)
  /// and the result comes back without a graph.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  const std::shared_ptr<Module>& critic() const { return critic_; }
  GanRegularizer kind() const { return kind_; }

 private:
  std::shared_ptr<Module> critic_;
  GanRegularizer kind_;
};

/// The discriminator as `objective`'s losses see it: `critic` itself, or a
/// GradientNormalizedDiscriminator around it when the objective normalises
/// the output (gn, pgn).
std::shared_ptr<Module> discriminator_for(const GanObjective& objective, std::shared_ptr<Module> critic);

}  // namespace nova::nn
