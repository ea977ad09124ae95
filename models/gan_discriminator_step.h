// models/gan_discriminator_step.h: GanDiscriminatorStep, one discriminator
// step of a GAN trainer, plain or with the adaptive weighted discriminator
// (thesis section 2.1, Algorithms 1 and 2), for any objective of
// nn/gan_loss.h (bce, hinge, wgan, wgan-gp, gn, pgn).
//
// Why models/: the step is not an architecture, but it needs nn/ (the
// losses, the regularisers, the gradient-normalised discriminator) and
// optim/ (AdaptiveWeighting, the optimizers) together, and models/ is the
// lowest floor that may include both. The example trainer
// (examples/gan_8gaussians) trains with it and bench/bench_gan_step times
// it, so what the benchmark measures is what the trainer runs.
//
// One step on a batch of n_r real and n_f fake rows (fake made by G without
// a graph):
//   out = D'(cat(real, fake))            one forward over n_r + n_f rows; D' is
//                                        D, or its gradient normalisation (gn, pgn)
//   d_real, d_fake = out[:n_r], out[n_r:]
//   loss = discriminator_loss(d_loss, d_real, d_fake)           (real and fake parts)
//   s_r, s_f = mean sigmoid of the critic's raw output on the   (logged; aw's inputs)
//              real and fake rows (for gn and pgn the raw f, not f_hat;
//              for pgn 1 - f, which f_hat rises with: nn::oriented_score)
//   penalty = lambda * gradient_penalty(D, real, fake)          (wgan-gp only)
//   plain: zero_grad; backward of loss.real + loss.fake (+ penalty); optimizer step
//   aw:    AdaptiveWeighting::step_losses(loss.real, loss.fake, s_r, s_f, split,
//          penalty): g_r, g_f by grad_split, the penalty's gradient added
//          unweighted, w_r g_r + w_f g_f into .grad, the inner optimizer's step
//   wgan:  D's weights clipped to [-clip, clip]
//
// grad_split (aw, and the angles of a plain step): fused (one backward over
// the n_r + n_f rows), reference (two backward passes) or automatic (fused
// where the graph allows). gn and pgn normalise D's output by its input
// gradient, a double-backward graph the fused path refuses; automatic then
// takes the reference path, and since the graph is the same every step it
// stops trying fused after the first refusal (grad_split_path() and
// grad_split_reason() say what it chose and why).
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/grad_split.h"
#include "core/random.h"
#include "nn/gan_loss.h"
#include "nn/module.h"
#include "nn/normalized_discriminator.h"
#include "optim/adaptive_weighting.h"
#include "optim/check_finite.h"
#include "optim/optimizer.h"

namespace nova::models {

struct GanDiscriminatorStepOptions {
  nn::GanObjective objective;  // D loss and regulariser (nn::parse_gan_objective("bce"), ...)
  double clip = 0.01;          // weight_clipping: D's weights are clamped to [-clip, clip]
  double gp_lambda = 10;       // gradient_penalty: the penalty's weight
  autograd::GradSplitMode grad_split = autograd::GradSplitMode::automatic;
};

/// What one step saw and did. A plain step leaves case_id 0, weights 1 and
/// the angles NaN unless it was asked to measure them.
struct GanDiscriminatorStepLog {
  double loss_real = 0, loss_fake = 0;  // the two parts of the D loss (no penalty)
  double s_r = 0, s_f = 0;              // mean sigmoid(raw D output; pgn: 1 - it) on the real and fake rows
  int case_id = 0;                      // aw: the case 1..5 of the algorithm
  double w_r = 1, w_f = 1;              // aw: the weights of g_r and g_f
  // degrees (Figure 2.4): between g_r and g_f, and between the update
  // (w_r g_r + w_f g_f) and each of them
  double angle_real_fake = NAN, angle_update_real = NAN, angle_update_fake = NAN;
};

class GanDiscriminatorStep {
 public:
  /// A plain step: `optimizer` updates critic's parameters on the summed loss.
  GanDiscriminatorStep(std::shared_ptr<nn::Module> critic, std::unique_ptr<optim::Optimizer> optimizer,
                       GanDiscriminatorStepOptions options);
  /// An adaptive weighted step: `aw` must be over critic->parameters(), in
  /// that order.
  GanDiscriminatorStep(std::shared_ptr<nn::Module> critic, std::unique_ptr<optim::AdaptiveWeighting> aw,
                       GanDiscriminatorStepOptions options);

  /// One step on real [n_r, ...] and fake [n_f, ...] rows (see the top of
  /// this file; wgan-gp needs n_r = n_f, since its penalty pairs real and
  /// fake rows). gen draws the gradient penalty's interpolation points.
  /// measure_angles (plain steps only; an aw step always reports them):
  /// split a second forward on the same rows into g_r and g_f and log the
  /// Figure 2.4 angles of the update g_r + g_f, the penalty left out
  /// (recomputing it would draw new points). The step itself is unchanged.
  GanDiscriminatorStepLog step(const Tensor& real, const Tensor& fake, Generator& gen,
                               bool measure_angles = false);

  /// D as the losses see it: the critic, or its gradient normalisation (gn,
  /// pgn). A generator step scores G(z) with it.
  const std::shared_ptr<nn::Module>& discriminator() const { return scores_; }
  /// The critic's parameters, in the order of the flat gradients.
  const std::vector<Tensor>& parameters() const { return params_; }
  /// The aw optimizer (case counts, last report), or null for a plain step.
  const optim::AdaptiveWeighting* adaptive_weighting() const { return aw_.get(); }
  optim::AdaptiveWeighting* adaptive_weighting() { return aw_.get(); }
  /// The optimizer of a plain step, or null for an aw step (whose optimizer
  /// is adaptive_weighting()->inner()). A checkpoint saves the one there is.
  optim::Optimizer* optimizer() { return optimizer_.get(); }
  const GanDiscriminatorStepOptions& options() const { return options_; }
  /// The grad_split path the last split took (fused or reference; the
  /// options' mode before the first split), and why automatic took reference.
  autograd::GradSplitMode grad_split_path() const { return split_path_; }
  const std::string& grad_split_reason() const { return split_reason_; }

 private:
  GanDiscriminatorStep(std::shared_ptr<nn::Module> critic, GanDiscriminatorStepOptions options);
  autograd::GradSplitOptions split_options(const Tensor& out, int64_t n_real, int64_t n_fake) const;
  void remember_split(autograd::GradSplitMode path, const std::string& reason);
  void measure_plain_angles(const Tensor& real, const Tensor& fake, GanDiscriminatorStepLog& log);

  std::shared_ptr<nn::Module> critic_, scores_;
  std::shared_ptr<nn::GradientNormalizedDiscriminator> normalized_;  // scores_ for gn and pgn, else null
  std::vector<Tensor> params_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::AdaptiveWeighting> aw_;
  GanDiscriminatorStepOptions options_;
  autograd::GradSplitMode split_mode_;  // what the next split asks for
  autograd::GradSplitMode split_path_;  // what the last split did
  std::string split_reason_;
};

/// The step's numbers as a trainer prints them: "d_real .. d_fake .. g ..
/// s_r .. s_f .." and, for an aw step, " case .. w_r .. w_f ..".
std::string describe_gan_step(const GanDiscriminatorStepLog& log, double g_loss);

/// What a GAN trainer checks after each step (optim::FiniteCheck): the two
/// D loss parts, D's gradients, the G loss and G's gradients, in that order.
void check_gan_step_finite(optim::FiniteCheck& check, int64_t step, const GanDiscriminatorStepLog& log,
                           double g_loss, const optim::NamedParameters& d_params,
                           const optim::NamedParameters& g_params);

}  // namespace nova::models
