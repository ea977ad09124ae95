// tests/test_grad_split_auto.cpp: GradSplitMode::automatic and
// grad_split_auto (core/grad_split.h): fused for an MLP discriminator (and
// the same gradients as the fused path), reference for graphs the fused path
// refuses (a gradient penalty in a loss, a GN-GAN output normalised by its
// input gradient) with the refusal as the reason, reference without a
// batch_output, and the explicit modes passed through.
#include <memory>

#include "core/grad_split.h"
#include "nn/activation.h"
#include "nn/gan_loss.h"
#include "nn/linear.h"
#include "nn/sequential.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using autograd::GradSplitMode;
using autograd::GradSplitOptions;

namespace {

/// x [n, 2] -> 16 tanh -> [n, 1], float64, weights from a fixed seed.
std::shared_ptr<nn::Sequential> mlp() {
  manual_seed(7);
  auto d = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::Tanh>(),
                                            std::make_shared<nn::Linear>(16, 1));
  d->to(kFloat64);
  return d;
}

/// The two BCE parts of a D loss on a batch of 5 real and 7 fake rows.
struct Batch {
  Tensor real = uniform({5, 2}, -1, 1, kFloat64), fake = uniform({7, 2}, -1, 1, kFloat64);
  Tensor out;
  nn::DiscriminatorLoss loss;
  explicit Batch(nn::Module& d) {
    out = d(ops::cat({real, fake}, 0));
    loss = nn::discriminator_loss(nn::GanLoss::minimax, out.narrow(0, 0, 5), out.narrow(0, 5, 7));
  }
  GradSplitOptions options(GradSplitMode mode) const {
    GradSplitOptions o;
    o.mode = mode;
    o.batch_output = out;
    o.group_sizes = {5, 7};
    return o;
  }
};

}  // namespace

TEST_CASE("automatic grad_split takes the fused path for an MLP discriminator", "[grad_split][auto]") {
  auto d = mlp();
  Batch b(*d);
  auto result = autograd::grad_split_auto({b.loss.real, b.loss.fake}, d->parameters(),
                                          b.options(GradSplitMode::automatic));
  REQUIRE(result.mode == GradSplitMode::fused);
  REQUIRE(result.reason.empty());
  // exactly what the fused path gives, and the reference's values to rounding
  auto fused = autograd::grad_split({b.loss.real, b.loss.fake}, d->parameters(), b.options(GradSplitMode::fused));
  auto reference = autograd::grad_split({b.loss.real, b.loss.fake}, d->parameters());
  for (size_t k = 0; k < 2; ++k) {
    REQUIRE(max_abs_diff(result.grads[k], fused[k]) == 0.0);
    REQUIRE(max_abs_diff(result.grads[k], reference[k]) <= 1e-14);
  }
  // grad_split with mode automatic is the same call
  auto plain = autograd::grad_split({b.loss.real, b.loss.fake}, d->parameters(), b.options(GradSplitMode::automatic));
  REQUIRE(max_abs_diff(plain[0], fused[0]) == 0.0);
}

TEST_CASE("automatic grad_split falls back to reference for a gradient-penalty loss, saying why",
          "[grad_split][auto]") {
  auto d = mlp();
  Batch b(*d);
  Generator gen(3);
  // the real part carries a gradient penalty: it reaches D's weights around batch_output
  Tensor penalty = nn::gradient_penalty([&](const Tensor& x) { return (*d)(x); }, b.real, b.fake.narrow(0, 0, 5), gen);
  Tensor loss_real = b.loss.real + penalty * 10.0;
  auto result = autograd::grad_split_auto({loss_real, b.loss.fake}, d->parameters(),
                                          b.options(GradSplitMode::automatic));
  REQUIRE(result.mode == GradSplitMode::reference);
  REQUIRE_THAT(result.reason, Catch::Matchers::Contains("other than through batch_output"));
  auto reference = autograd::grad_split({loss_real, b.loss.fake}, d->parameters());
  for (size_t k = 0; k < 2; ++k) REQUIRE(max_abs_diff(result.grads[k], reference[k]) == 0.0);
  // the refused try left no .grad behind
  for (const Tensor& p : d->parameters()) REQUIRE_FALSE(p.grad().defined());
}

TEST_CASE("automatic grad_split takes reference for a gradient-normalised (GN-GAN) output", "[grad_split][auto]") {
  auto d = mlp();
  Tensor x = uniform({12, 2}, -1, 1, kFloat64).requires_grad_();
  Tensor out = nn::gradient_normalize((*d)(x), x);  // a double-backward graph
  auto loss = nn::discriminator_loss(nn::GanLoss::minimax, out.narrow(0, 0, 5), out.narrow(0, 5, 7));
  GradSplitOptions o;
  o.mode = GradSplitMode::automatic;
  o.batch_output = out;
  o.group_sizes = {5, 7};
  auto result = autograd::grad_split_auto({loss.real, loss.fake}, d->parameters(), o);
  REQUIRE(result.mode == GradSplitMode::reference);
  REQUIRE_THAT(result.reason, Catch::Matchers::Contains("grad_split"));
  auto reference = autograd::grad_split({loss.real, loss.fake}, d->parameters());
  for (size_t k = 0; k < 2; ++k) REQUIRE(max_abs_diff(result.grads[k], reference[k]) == 0.0);
}

TEST_CASE("automatic grad_split without batch_output runs reference; explicit modes pass through",
          "[grad_split][auto]") {
  auto d = mlp();
  Batch b(*d);
  GradSplitOptions no_output;
  no_output.mode = GradSplitMode::automatic;
  auto result = autograd::grad_split_auto({b.loss.real, b.loss.fake}, d->parameters(), no_output);
  REQUIRE(result.mode == GradSplitMode::reference);
  REQUIRE_THAT(result.reason, Catch::Matchers::Contains("no batch_output"));

  for (GradSplitMode mode : {GradSplitMode::fused, GradSplitMode::reference}) {
    auto asked = autograd::grad_split_auto({b.loss.real, b.loss.fake}, d->parameters(), b.options(mode));
    REQUIRE(asked.mode == mode);
    REQUIRE(asked.reason.empty());
    auto direct = autograd::grad_split({b.loss.real, b.loss.fake}, d->parameters(), b.options(mode));
    REQUIRE(max_abs_diff(asked.grads[1], direct[1]) == 0.0);
  }
  // an explicit fused request is not rescued: its refusal is the caller's error
  Generator gen(3);
  Tensor penalty = nn::gradient_penalty([&](const Tensor& x) { return (*d)(x); }, b.real, b.fake.narrow(0, 0, 5), gen);
  REQUIRE_THROWS_NOVA(autograd::grad_split_auto({b.loss.real + penalty, b.loss.fake}, d->parameters(),
                                                b.options(GradSplitMode::fused)),
                      "other than through batch_output");
}
