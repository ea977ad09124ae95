// tests/test_gan_discriminator_step.cpp: models::GanDiscriminatorStep, the
// D step the 8-Gaussian trainer and bench_gan_step share. Each kind of step
// equals the same step written out by hand (plain bce, plain wgan-gp with
// its penalty, aw with grad_split): the same parameters to the last bit and
// the same log; wgan clips; automatic grad_split is fused for bce and falls
// back to reference for gn once, then keeps it; measuring the angles of a
// plain step does not change the step; bad arguments are refused; for gn and
// pgn, s_r and s_f come from the critic's raw output turned the way f_hat
// points (f for gn, 1 - f for pgn).
#include <memory>

#include "models/gan_discriminator_step.h"
#include "models/gaussian_mixture_gan.h"
#include "optim/flat_parameters.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using autograd::GradSplitMode;

namespace {

/// The 8-Gaussian critic, shrunk: 2 -> 16 tanh -> 16 tanh -> 1, fixed weights.
std::shared_ptr<nn::Sequential> critic() {
  models::MixtureGanOptions net;
  net.hidden = 16;
  Generator init(9);
  return models::mixture_discriminator(net, &init);
}

std::unique_ptr<optim::Adam> adam(const std::shared_ptr<nn::Sequential>& d) {
  return std::make_unique<optim::Adam>(d->parameters(), optim::AdamOptions{1e-2, {0.5, 0.999}});
}

models::GanDiscriminatorStepOptions options(const std::string& objective,
                                            GradSplitMode split = GradSplitMode::automatic) {
  models::GanDiscriminatorStepOptions o;
  o.objective = nn::parse_gan_objective(objective);
  o.grad_split = split;
  return o;
}

/// Batches of 6 real and n_fake (10) fake points.
struct Batches {
  int64_t n_fake = 10;
  Generator gen{17};
  Tensor real() { return uniform({6, 2}, -1, 1, kFloat32, kCPU, &gen); }
  Tensor fake() { return uniform({n_fake, 2}, -1, 1, kFloat32, kCPU, &gen); }
};

void require_same_parameters(const nn::Module& a, const nn::Module& b) {
  for (size_t i = 0; i < a.parameters().size(); ++i)
    REQUIRE(max_abs_diff(a.parameters()[i].detach(), b.parameters()[i].detach()) == 0.0);
}

}  // namespace

TEST_CASE("a plain step equals forward, split loss, backward and Adam written out", "[models][gan_step]") {
  for (const std::string objective : {"bce", "wgan-gp"}) {
    INFO(objective);
    auto d = critic(), by_hand = critic();
    models::GanDiscriminatorStep step(d, adam(d), options(objective));
    auto opt = adam(by_hand);
    Batches data;
    data.n_fake = 6;  // the gradient penalty pairs real and fake rows
    Generator gp_a(3), gp_b(3);
    for (int i = 0; i < 4; ++i) {
      Tensor real = data.real(), fake = data.fake();
      models::GanDiscriminatorStepLog log = step.step(real, fake, gp_a);

      Tensor out = (*by_hand)(ops::cat({real, fake}, 0));
      auto loss = nn::discriminator_loss(step.options().objective.d_loss, out.narrow(0, 0, 6), out.narrow(0, 6, 6));
      Tensor total = loss.total();
      if (objective == "wgan-gp")
        total = total + nn::gradient_penalty([&](const Tensor& x) { return (*by_hand)(x); }, real, fake, gp_b) * 10.0;
      REQUIRE(log.loss_real == loss.real.item());
      REQUIRE(log.loss_fake == loss.fake.item());
      REQUIRE(log.s_r == ops::mean(ops::sigmoid(out.narrow(0, 0, 6))).item());
      REQUIRE(log.case_id == 0);
      REQUIRE(std::isnan(log.angle_real_fake));
      opt->zero_grad();
      total.backward();
      opt->step();
      require_same_parameters(*d, *by_hand);
    }
    REQUIRE(step.adaptive_weighting() == nullptr);
  }
}

TEST_CASE("an aw step equals grad_split and AdaptiveWeighting::step written out", "[models][gan_step]") {
  for (GradSplitMode mode : {GradSplitMode::fused, GradSplitMode::reference, GradSplitMode::automatic}) {
    INFO(int(mode));
    auto d = critic(), by_hand = critic();
    models::GanDiscriminatorStep step(
        d, std::make_unique<optim::AdaptiveWeighting>(d->parameters(), adam(d)), options("bce", mode));
    optim::AdaptiveWeighting aw(by_hand->parameters(), adam(by_hand));
    Batches data;
    Generator unused(1);
    for (int i = 0; i < 4; ++i) {
      Tensor real = data.real(), fake = data.fake();
      models::GanDiscriminatorStepLog log = step.step(real, fake, unused);

      Tensor out = (*by_hand)(ops::cat({real, fake}, 0));
      auto loss = nn::discriminator_loss(nn::GanLoss::minimax, out.narrow(0, 0, 6), out.narrow(0, 6, 10));
      autograd::GradSplitOptions split;
      split.mode = mode == GradSplitMode::reference ? mode : GradSplitMode::fused;
      if (split.mode == GradSplitMode::fused) {
        split.batch_output = out;
        split.group_sizes = {6, 10};
      }
      auto g = autograd::grad_split({loss.real, loss.fake}, by_hand->parameters(), split);
      auto rep = aw.step(g[0], g[1], ops::mean(ops::sigmoid(out.narrow(0, 0, 6))).item(),
                         ops::mean(ops::sigmoid(out.narrow(0, 6, 10))).item());
      REQUIRE(log.case_id == rep.case_id);
      REQUIRE(log.w_r == rep.w_r);
      REQUIRE(log.w_f == rep.w_f);
      REQUIRE(log.angle_real_fake == rep.angle_real_fake);
      require_same_parameters(*d, *by_hand);
      REQUIRE(step.grad_split_path() == split.mode);
    }
    REQUIRE(step.adaptive_weighting()->case_counts() == aw.case_counts());
  }
}

TEST_CASE("automatic grad_split: fused for bce; for gn reference from the first refusal on", "[models][gan_step]") {
  for (const std::string objective : {"bce", "gn", "pgn"}) {
    INFO(objective);
    auto d = critic();
    models::GanDiscriminatorStep step(d, std::make_unique<optim::AdaptiveWeighting>(d->parameters(), adam(d)),
                                      options(objective));
    Batches data;
    Generator unused(1);
    for (int i = 0; i < 3; ++i) {
      step.step(data.real(), data.fake(), unused);
      if (objective == "bce") {
        REQUIRE(step.grad_split_path() == GradSplitMode::fused);
        REQUIRE(step.grad_split_reason().empty());
      } else {
        REQUIRE(step.grad_split_path() == GradSplitMode::reference);
        REQUIRE_THAT(step.grad_split_reason(), Catch::Matchers::Contains("grad_split"));
      }
    }
  }
}

TEST_CASE("wgan clips the critic's weights after each step", "[models][gan_step]") {
  auto d = critic();
  auto o = options("wgan");
  o.clip = 0.05;
  models::GanDiscriminatorStep step(d, adam(d), o);
  Batches data;
  Generator unused(1);
  step.step(data.real(), data.fake(), unused);
  for (const Tensor& p : d->parameters())
    for (double v : values(p.detach())) REQUIRE(std::abs(v) <= double(0.05f));  // float32 parameters
}

TEST_CASE("measuring a plain step's angles leaves the step unchanged", "[models][gan_step]") {
  auto d = critic(), quiet = critic();
  models::GanDiscriminatorStep measured(d, adam(d), options("bce"));
  models::GanDiscriminatorStep plain(quiet, adam(quiet), options("bce"));
  Batches data;
  Generator unused(1);
  for (int i = 0; i < 3; ++i) {
    Tensor real = data.real(), fake = data.fake();
    // the angles are those of g_r, g_f and g_r + g_f before the step
    Tensor out = (*d)(ops::cat({real, fake}, 0));
    auto loss = nn::discriminator_loss(nn::GanLoss::minimax, out.narrow(0, 0, 6), out.narrow(0, 6, 10));
    auto g = autograd::grad_split({loss.real, loss.fake}, d->parameters());
    auto log = measured.step(real, fake, unused, /*measure_angles=*/true);
    REQUIRE(log.angle_real_fake == Approx(optim::angle_between(g[0], g[1])).epsilon(1e-5));
    REQUIRE(log.angle_update_real == Approx(optim::angle_between(g[0] + g[1], g[0])).epsilon(1e-5));
    REQUIRE(log.angle_update_fake == Approx(optim::angle_between(g[0] + g[1], g[1])).epsilon(1e-5));
    plain.step(real, fake, unused);
    require_same_parameters(*d, *quiet);
  }
}

TEST_CASE("GanDiscriminatorStep refuses a null critic or optimizer and an aw over other parameters",
          "[models][gan_step]") {
  auto d = critic(), other = critic();
  REQUIRE_THROWS_NOVA(models::GanDiscriminatorStep(nullptr, adam(d), options("bce")), "the critic is null");
  REQUIRE_THROWS_NOVA(models::GanDiscriminatorStep(d, std::unique_ptr<optim::Optimizer>(), options("bce")),
                      "the optimizer is null");
  REQUIRE_THROWS_NOVA(
      models::GanDiscriminatorStep(
          d, std::make_unique<optim::AdaptiveWeighting>(other->parameters(), adam(other)), options("bce")),
      "must be over critic->parameters() (6 tensors, in that order)");
  auto bad = options("wgan");
  bad.clip = -1;
  REQUIRE_THROWS_NOVA(models::GanDiscriminatorStep(d, adam(d), bad), "clip and gp_lambda must be >= 0");
}

namespace {

/// The critic with its output bias set to `bias` (the last parameter).
std::shared_ptr<nn::Sequential> critic_with_output_bias(double bias) {
  auto d = critic();
  NoGradGuard no_grad;
  d->parameters().back().fill_(bias);
  return d;
}

}  // namespace

TEST_CASE("gn and pgn: s_r and s_f come from the critic's raw output, so aw's cases 3 and 4 are reachable",
          "[models][gan_step]") {
  // A critic that calls everything real with confidence: its raw score, the
  // one f_hat rises with (nn::oriented_score), is about 4 or more, and its
  // sigmoid about 0.98 > alpha2 = 0.75. For gn that score is f itself
  // (output bias +4); for pgn, whose f_hat = (1 - f) / (...) falls as f
  // rises, it is 1 - f (output bias -4: f about -4, 1 - f about 5). The
  // normalised f_hat lies in [-1, 1] (sigmoid <= 0.73 < alpha2): had s_r
  // been read from f_hat, cases 3 and 4 could never occur.
  for (const std::string objective : {"gn", "pgn"}) {
    INFO(objective);
    const bool pgn = objective == "pgn";
    auto d = critic_with_output_bias(pgn ? -4.0 : 4.0);
    Batches data;
    Tensor real = data.real(), fake = data.fake();
    Tensor raw = (*d)(ops::cat({real, fake}, 0)).detach();
    Tensor score = pgn ? 1.0 - raw : raw;
    const double s_r = ops::mean(ops::sigmoid(score.narrow(0, 0, 6))).item();
    const double s_f = ops::mean(ops::sigmoid(score.narrow(0, 6, 10))).item();
    REQUIRE(s_r > 0.9);
    models::GanDiscriminatorStep step(d, std::make_unique<optim::AdaptiveWeighting>(d->parameters(), adam(d)),
                                      options(objective));
    Generator unused(1);
    auto log = step.step(real, fake, unused);
    REQUIRE(log.s_r == Approx(s_r).epsilon(1e-6));
    REQUIRE(log.s_f == Approx(s_f).epsilon(1e-6));
    REQUIRE((log.case_id == 3 || log.case_id == 4));
  }
}

TEST_CASE("pgn: s_r and s_f are means of sigmoid(1 - f), the score its f_hat rises with, not of sigmoid(f)",
          "[models][gan_step]") {
  // f about -4 on every row: pgn's f_hat = (1 - f) / (...) is near +1, the
  // critic calls every row real, and s_r must say so (sigmoid(1 - f) about
  // 0.99); sigmoid(f) about 0.02 would read "fake" and, below alpha1, send a
  // confident critic to aw's case 1 or 2.
  auto d = critic_with_output_bias(-4.0);
  Batches data;
  Tensor real = data.real(), fake = data.fake();
  Tensor raw = (*d)(ops::cat({real, fake}, 0)).detach();
  Tensor f_hat = nn::discriminator_for(nn::parse_gan_objective("pgn"), d)->forward(real).detach();
  for (double v : values(f_hat)) REQUIRE(v > 0.5);  // the losses see "real"
  const double inverted = ops::mean(ops::sigmoid(raw.narrow(0, 0, 6))).item();
  const double oriented = ops::mean(ops::sigmoid(1.0 - raw.narrow(0, 0, 6))).item();
  REQUIRE(inverted < 0.1);
  REQUIRE(oriented > 0.9);
  for (bool with_aw : {false, true}) {
    INFO((with_aw ? "aw" : "plain"));
    auto copy = critic_with_output_bias(-4.0);
    Generator unused(1);
    models::GanDiscriminatorStepLog log =
        with_aw ? models::GanDiscriminatorStep(
                      copy, std::make_unique<optim::AdaptiveWeighting>(copy->parameters(), adam(copy)),
                      options("pgn"))
                      .step(real, fake, unused)
                : models::GanDiscriminatorStep(copy, adam(copy), options("pgn")).step(real, fake, unused);
    REQUIRE(log.s_r == Approx(oriented).epsilon(1e-6));
    REQUIRE(log.s_f == Approx(ops::mean(ops::sigmoid(1.0 - raw.narrow(0, 6, 10))).item()).epsilon(1e-6));
    // s_r > alpha2 (D is confident on the real rows): case 3 or 4, where the
    // inverted score (< alpha1) gave case 1 or 2
    if (with_aw) REQUIRE((log.case_id == 3 || log.case_id == 4));
  }
}
