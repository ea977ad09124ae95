// models/gan_discriminator_step.cpp: GanDiscriminatorStep (see
// gan_discriminator_step.h for the step, line by line).
#include "models/gan_discriminator_step.h"

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/index.h"
#include "core/reduce.h"
#include "nn/normalized_discriminator.h"
#include "optim/flat_parameters.h"

namespace nova::models {

using autograd::GradSplitMode;

GanDiscriminatorStep::GanDiscriminatorStep(std::shared_ptr<nn::Module> critic, GanDiscriminatorStepOptions options)
    : options_(std::move(options)), split_mode_(options_.grad_split), split_path_(options_.grad_split) {
  NOVA_CHECK(critic != nullptr, "GanDiscriminatorStep: the critic is null");
  NOVA_CHECK(options_.clip >= 0 && options_.gp_lambda >= 0,
             "GanDiscriminatorStep: clip and gp_lambda must be >= 0, got {} and {}", options_.clip,
             options_.gp_lambda);
  critic_ = std::move(critic);
  scores_ = nn::discriminator_for(options_.objective, critic_);
  normalized_ = std::dynamic_pointer_cast<nn::GradientNormalizedDiscriminator>(scores_);
  params_ = critic_->parameters();
}

GanDiscriminatorStep::GanDiscriminatorStep(std::shared_ptr<nn::Module> critic,
                                           std::unique_ptr<optim::Optimizer> optimizer,
                                           GanDiscriminatorStepOptions options)
    : GanDiscriminatorStep(std::move(critic), std::move(options)) {
  NOVA_CHECK(optimizer != nullptr, "GanDiscriminatorStep: the optimizer is null");
  optimizer_ = std::move(optimizer);
}

GanDiscriminatorStep::GanDiscriminatorStep(std::shared_ptr<nn::Module> critic,
                                           std::unique_ptr<optim::AdaptiveWeighting> aw,
                                           GanDiscriminatorStepOptions options)
    : GanDiscriminatorStep(std::move(critic), std::move(options)) {
  NOVA_CHECK(aw != nullptr, "GanDiscriminatorStep: the AdaptiveWeighting optimizer is null");
  const std::vector<Tensor>& aw_params = aw->params();
  bool same = aw_params.size() == params_.size();
  for (size_t i = 0; same && i < params_.size(); ++i) same = aw_params[i].impl() == params_[i].impl();
  NOVA_CHECK(same, "GanDiscriminatorStep: the AdaptiveWeighting optimizer must be over critic->parameters() "
             "({} tensors, in that order); it was made over {} other tensors", params_.size(), aw_params.size());
  aw_ = std::move(aw);
}

GanDiscriminatorStepLog GanDiscriminatorStep::step(const Tensor& real, const Tensor& fake, Generator& gen,
                                                   bool measure_angles) {
  const char* op = "GanDiscriminatorStep::step";
  check_defined(op, real, "real");
  check_defined(op, fake, "fake");
  NOVA_CHECK(real.dim() >= 1 && fake.dim() >= 1, "{}: real and fake must be [n, ...], got {} and {}", op,
             real.shape().str(), fake.shape().str());
  const int64_t n_real = real.size(0), n_fake = fake.size(0);
  const nn::GanRegularizer reg = options_.objective.regularizer;

  // one forward over both batches; out is what the losses see, score the
  // critic's own output turned the way out points (the logit for bce and gn,
  // 1 - f for pgn: nn::oriented_score); one tensor unless gn or pgn
  // normalise the output
  Tensor out, score;
  if (normalized_) {
    nn::NormalizedScores both = normalized_->forward_with_raw(ops::cat({real, fake}, 0));
    out = both.normalized;
    score = both.score;
  } else {
    out = score = (*scores_)(ops::cat({real, fake}, 0));
  }
  Tensor d_real = out.narrow(0, 0, n_real), d_fake = out.narrow(0, n_real, n_fake);
  nn::DiscriminatorLoss loss = nn::discriminator_loss(options_.objective.d_loss, d_real, d_fake);
  GanDiscriminatorStepLog log;
  {
    // s_r, s_f from the raw output (THESIS-NOTES.md: aw's inputs are means of
    // sigmoid of D's raw output whatever wraps D; f_hat would cap s_r at
    // 0.73), oriented so that a high s_r means "real" also for pgn
    NoGradGuard no_grad;
    log.s_r = ops::mean(ops::sigmoid(score.narrow(0, 0, n_real))).item();
    log.s_f = ops::mean(ops::sigmoid(score.narrow(0, n_real, n_fake))).item();
    log.loss_real = loss.real.item();
    log.loss_fake = loss.fake.item();
  }
  Tensor penalty;
  if (reg == nn::GanRegularizer::gradient_penalty)
    penalty = nn::gradient_penalty([this](const Tensor& x) { return (*critic_)(x); }, real, fake, gen) *
              options_.gp_lambda;

  if (!aw_) {
    if (measure_angles) measure_plain_angles(real, fake, log);
    optimizer_->zero_grad();
    (penalty.defined() ? loss.total() + penalty : loss.total()).backward();
    optimizer_->step();
  } else {
    optim::AdaptiveWeightingReport rep =
        aw_->step_losses(loss.real, loss.fake, log.s_r, log.s_f, split_options(out, n_real, n_fake), penalty);
    remember_split(rep.grad_split, rep.grad_split_reason);
    log.case_id = rep.case_id;
    log.w_r = rep.w_r;
    log.w_f = rep.w_f;
    log.angle_real_fake = rep.angle_real_fake;
    log.angle_update_real = rep.angle_update_real;
    log.angle_update_fake = rep.angle_update_fake;
  }
  if (reg == nn::GanRegularizer::weight_clipping) nn::clip_weights_(params_, options_.clip);
  return log;
}

autograd::GradSplitOptions GanDiscriminatorStep::split_options(const Tensor& out, int64_t n_real,
                                                               int64_t n_fake) const {
  autograd::GradSplitOptions split;
  split.mode = split_mode_;
  if (split_mode_ != GradSplitMode::reference) {
    split.batch_output = out;
    split.group_sizes = {n_real, n_fake};
  }
  return split;
}

void GanDiscriminatorStep::remember_split(GradSplitMode path, const std::string& reason) {
  split_path_ = path;
  // automatic, refused once: the graph is the same every step, so stop paying
  // for a fused try that will be refused again
  if (split_mode_ == GradSplitMode::automatic && path == GradSplitMode::reference) {
    split_mode_ = GradSplitMode::reference;
    split_reason_ = reason;
  }
}

void GanDiscriminatorStep::measure_plain_angles(const Tensor& real, const Tensor& fake,
                                                GanDiscriminatorStepLog& log) {
  const int64_t n_real = real.size(0), n_fake = fake.size(0);
  Tensor out = (*scores_)(ops::cat({real, fake}, 0));
  nn::DiscriminatorLoss loss = nn::discriminator_loss(options_.objective.d_loss, out.narrow(0, 0, n_real),
                                                      out.narrow(0, n_real, n_fake));
  autograd::GradSplitResult g =
      autograd::grad_split_auto({loss.real, loss.fake}, params_, split_options(out, n_real, n_fake));
  remember_split(g.mode, g.reason);
  NoGradGuard no_grad;
  Tensor update = g.grads[0] + g.grads[1];  // the plain step's update, penalty left out
  log.angle_real_fake = optim::angle_between(g.grads[0], g.grads[1]);
  log.angle_update_real = optim::angle_between(update, g.grads[0]);
  log.angle_update_fake = optim::angle_between(update, g.grads[1]);
}

std::string describe_gan_step(const GanDiscriminatorStepLog& l, double g_loss) {
  std::string s = fmt::format("d_real {:.3f} d_fake {:.3f} g {:.3f} s_r {:.2f} s_f {:.2f}", l.loss_real, l.loss_fake,
                              g_loss, l.s_r, l.s_f);
  if (l.case_id > 0) s += fmt::format(" case {} w_r {:.2f} w_f {:.2f}", l.case_id, l.w_r, l.w_f);
  return s;
}

void check_gan_step_finite(optim::FiniteCheck& check, int64_t step, const GanDiscriminatorStepLog& log,
                           double g_loss, const optim::NamedParameters& d_params,
                           const optim::NamedParameters& g_params) {
  check.value(step, "discriminator loss (real)", log.loss_real);
  check.value(step, "discriminator loss (fake)", log.loss_fake);
  check.grads(step, d_params, "D.");
  check.value(step, "generator loss", g_loss);
  check.grads(step, g_params, "G.");
}

}  // namespace nova::models
