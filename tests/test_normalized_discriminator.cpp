// tests/test_normalized_discriminator.cpp: nn::GradientNormalizedDiscriminator
// and nn::discriminator_for (nn/normalized_discriminator.h): the wrapper's
// output equals gradient_normalize / penalty_gradient_normalize of the
// critic written out by hand, gradients reach the critic's parameters and an
// input that requires grad, it evaluates under NoGradGuard, it owns the
// critic's parameters, and bad arguments are refused.
#include <memory>

#include "nn/activation.h"
#include "nn/gan_loss.h"
#include "nn/linear.h"
#include "nn/normalized_discriminator.h"
#include "nn/sequential.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

std::shared_ptr<nn::Sequential> critic() {
  manual_seed(5);
  auto d = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 8), std::make_shared<nn::Tanh>(),
                                            std::make_shared<nn::Linear>(8, 1));
  d->to(kFloat64);
  return d;
}

}  // namespace

TEST_CASE("the gradient-normalised discriminator is gradient_normalize / PGN of its critic", "[nn][gn]") {
  using R = nn::GanRegularizer;
  for (R kind : {R::gradient_normalize, R::penalty_gradient_normalize}) {
    INFO(int(kind));
    auto d = critic();
    nn::GradientNormalizedDiscriminator wrapped(d, kind);
    Tensor x = uniform({6, 2}, -1, 1, kFloat64);  // a data batch: does not require grad
    Tensor got = wrapped(x);
    REQUIRE(got.requires_grad());
    Tensor input = x.detach().requires_grad_();
    Tensor f = (*d)(input);
    Tensor want = kind == R::gradient_normalize ? nn::gradient_normalize(f, input)
                                                : nn::penalty_gradient_normalize(f, input);
    REQUIRE(max_abs_diff(got.detach(), want.detach()) == 0.0);
    // the parameters are the critic's, in order, and receive gradients
    REQUIRE(wrapped.parameters().size() == d->parameters().size());
    for (size_t i = 0; i < d->parameters().size(); ++i)
      REQUIRE(wrapped.parameters()[i].impl() == d->parameters()[i].impl());
    auto g = autograd::grad({ops::sum(got)}, d->parameters());
    auto g_want = autograd::grad({ops::sum(want)}, d->parameters());
    for (size_t i = 0; i < g.size(); ++i) REQUIRE(max_abs_diff(g[i], g_want[i]) <= 1e-14);
  }
}

TEST_CASE("gradients reach an input that requires grad (a generator's output)", "[nn][gn]") {
  auto d = critic();
  nn::GradientNormalizedDiscriminator wrapped(d, nn::GanRegularizer::gradient_normalize);
  Tensor z = uniform({4, 2}, -1, 1, kFloat64).requires_grad_();
  Tensor x = z * 2.0;  // computed, requires grad
  Tensor g = autograd::grad({ops::sum(wrapped(x))}, {z})[0];
  REQUIRE(g.defined());
  Tensor x2 = z * 2.0;  // the first grad freed x's graph
  Tensor g_want = autograd::grad({ops::sum(nn::gradient_normalize((*d)(x2), x2))}, {z})[0];
  REQUIRE(max_abs_diff(g, g_want) <= 1e-14);
}

TEST_CASE("under NoGradGuard it still normalises and returns no graph", "[nn][gn]") {
  auto d = critic();
  nn::GradientNormalizedDiscriminator wrapped(d, nn::GanRegularizer::penalty_gradient_normalize);
  Tensor x = uniform({5, 2}, -1, 1, kFloat64);
  Tensor with_graph = wrapped(x);
  Tensor without;
  {
    NoGradGuard no_grad;
    without = wrapped(x);
    REQUIRE_FALSE(autograd::is_grad_enabled());  // restored after the forward
  }
  REQUIRE_FALSE(without.requires_grad());
  REQUIRE(max_abs_diff(without, with_graph.detach()) == 0.0);
}

TEST_CASE("forward_with_raw returns f_hat and the critic's own output from one pass", "[nn][gn]") {
  auto d = critic();
  Tensor x = uniform({5, 2}, -1, 1, kFloat64);
  for (auto denominator : {nn::PgnDenominator::ones_minus_gradient, nn::PgnDenominator::gradient}) {
    nn::GradientNormalizedDiscriminator wrapped(d, nn::GanRegularizer::penalty_gradient_normalize, denominator);
    nn::NormalizedScores both = wrapped.forward_with_raw(x);
    REQUIRE(max_abs_diff(both.raw.detach(), (*d)(x).detach()) == 0.0);
    REQUIRE(max_abs_diff(both.normalized.detach(), wrapped(x).detach()) == 0.0);
    Tensor input = x.detach().requires_grad_();
    Tensor want = nn::penalty_gradient_normalize((*d)(input), input, denominator);
    REQUIRE(max_abs_diff(both.normalized.detach(), want.detach()) == 0.0);  // the denominator reaches it
    REQUIRE(both.raw.requires_grad());  // a graph to the critic's parameters, as f_hat has
  }
  // discriminator_for passes the objective's reading on
  nn::GanObjective pgn = nn::parse_gan_objective("pgn");
  pgn.pgn_denominator = nn::PgnDenominator::gradient;
  auto wrapped = std::dynamic_pointer_cast<nn::GradientNormalizedDiscriminator>(nn::discriminator_for(pgn, d));
  REQUIRE(wrapped->pgn_denominator() == nn::PgnDenominator::gradient);
}

TEST_CASE("discriminator_for wraps only objectives that normalise the output", "[nn][gn]") {
  auto d = critic();
  for (const std::string& name : nn::gan_objective_names()) {
    INFO(name);
    auto scores = nn::discriminator_for(nn::parse_gan_objective(name), d);
    const bool normalizes = name == "gn" || name == "pgn";
    REQUIRE((scores == std::static_pointer_cast<nn::Module>(d)) == !normalizes);
    if (normalizes) {
      auto wrapped = std::dynamic_pointer_cast<nn::GradientNormalizedDiscriminator>(scores);
      REQUIRE(wrapped != nullptr);
      REQUIRE(wrapped->critic() == std::static_pointer_cast<nn::Module>(d));
    }
  }
}

TEST_CASE("GradientNormalizedDiscriminator refuses a null critic and other regularisers", "[nn][gn]") {
  REQUIRE_THROWS_NOVA(nn::GradientNormalizedDiscriminator(nullptr, nn::GanRegularizer::gradient_normalize),
                      "GradientNormalizedDiscriminator: the critic is null");
  REQUIRE_THROWS_NOVA(nn::GradientNormalizedDiscriminator(critic(), nn::GanRegularizer::gradient_penalty),
                      "kind must be gradient_normalize or penalty_gradient_normalize");
  REQUIRE_THROWS_NOVA(nn::discriminator_for(nn::parse_gan_objective("gn"), nullptr), "the critic is null");
}

TEST_CASE("the oriented score is f for gn and 1 - f for pgn, and rises with f_hat", "[nn][gn]") {
  auto d = critic();
  Tensor x = uniform({64, 2}, -1, 1, kFloat64);
  Tensor f = (*d)(x).detach();
  for (auto kind : {nn::GanRegularizer::gradient_normalize, nn::GanRegularizer::penalty_gradient_normalize}) {
    const bool pgn = kind == nn::GanRegularizer::penalty_gradient_normalize;
    INFO((pgn ? "pgn" : "gn"));
    nn::GradientNormalizedDiscriminator wrapped(d, kind);
    nn::NormalizedScores both = wrapped.forward_with_raw(x);
    Tensor want = pgn ? 1.0 - f : f;
    REQUIRE(max_abs_diff(both.score.detach(), want) == 0.0);
    REQUIRE(max_abs_diff(nn::oriented_score(kind, f), want) == 0.0);
    REQUIRE(both.score.requires_grad());
    // f_hat = score / (a norm + |score|): the same sign, row by row, so a
    // high score means "real" as a high f_hat does
    const std::vector<double> s = values(both.score.detach()), n = values(both.normalized.detach());
    for (size_t i = 0; i < s.size(); ++i) {
      INFO("row " << i << ": score " << s[i] << ", f_hat " << n[i]);
      REQUIRE(s[i] * n[i] > 0);
    }
  }
  for (auto kind : {nn::GanRegularizer::none, nn::GanRegularizer::gradient_penalty})
    REQUIRE(max_abs_diff(nn::oriented_score(kind, f), f) == 0.0);  // bce, wgan-gp, ...: the output itself
}
