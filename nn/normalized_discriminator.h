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

/// A normalised output, the raw critic output it was made from, and that raw
/// output turned the way f_hat points.
struct NormalizedScores {
  Tensor normalized;  // f_hat(x): what the losses see
  Tensor raw;         // f(x): the critic's own output (a logit for the BCE losses)
  Tensor score;       // f_hat's numerator, higher = more real: f for gn, 1 - f for pgn
};

/// The un-normalised score behind `kind`'s output, oriented as that output
/// (higher = more real): 1 - f for penalty_gradient_normalize, f otherwise.
/// Why: PGN's f_hat = (1 - f) / (...) falls as f rises, so a PGN critic calls
/// a point real with f far below 1, and sigmoid(f) would read "fake" there.
/// For a critic whose normalised output is a function of 1 - f, "D's raw
/// output" (the thesis's input to aw's s_r and s_f, and Figure 2.6's
/// per-mode scores) is 1 - f; for gn and every other objective it is f.
Tensor oriented_score(GanRegularizer kind, const Tensor& f);

class GradientNormalizedDiscriminator : public Module {
 public:
  /// Wraps `critic` (registered as the child "critic", so parameters() and
  /// to() reach its tensors). kind: gradient_normalize or
  /// penalty_gradient_normalize; anything else throws nova::Error.
  /// pgn_denominator: which reading of PGN's denominator (nn/gan_loss.h);
  /// ignored for gradient_normalize.
  GradientNormalizedDiscriminator(std::shared_ptr<Module> critic, GanRegularizer kind,
                                  PgnDenominator pgn_denominator = PgnDenominator::ones_minus_gradient);

  /// The normalised critic output on x. When x does not require grad (a data
  /// batch) a detached copy that does is differentiated instead; when x
  /// does (G(z) in a generator step) gradients flow to x as well. Under
  /// NoGradGuard the input gradient is still built (grad mode is on inside)
  /// and the result comes back without a graph.
  Tensor forward(const Tensor& x) override;
  /// forward, and the critic's raw output f(x) and oriented score
  /// (oriented_score: f for gn, 1 - f for pgn) from the same pass (no second
  /// forward). Why: the adaptive weighting's scores s_r, s_f and the
  /// per-mode scores of Figure 2.6 are sigmoid / means of D's raw output;
  /// f_hat lies in [-1, 1], so scoring it would cap s_r at sigmoid(1) = 0.73,
  /// below alpha2 = 0.75, and Algorithm 1's cases 3 and 4 could never occur.
  NormalizedScores forward_with_raw(const Tensor& x);
  std::string extra_repr() const override;

  const std::shared_ptr<Module>& critic() const { return critic_; }
  GanRegularizer kind() const { return kind_; }
  PgnDenominator pgn_denominator() const { return pgn_denominator_; }

 private:
  std::shared_ptr<Module> critic_;
  GanRegularizer kind_;
  PgnDenominator pgn_denominator_;
};

/// The discriminator as `objective`'s losses see it: `critic` itself, or a
/// GradientNormalizedDiscriminator around it when the objective normalises
/// the output (gn, pgn, with the objective's pgn_denominator).
std::shared_ptr<Module> discriminator_for(const GanObjective& objective, std::shared_ptr<Module> critic);

}  // namespace nova::nn
