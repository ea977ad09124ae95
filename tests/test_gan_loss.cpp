// tests/test_gan_loss.cpp: nn/gan_loss: every GAN loss's real and fake parts
// against values computed by hand (float64, [n] and [n, 1] inputs),
// total() = real + fake, gradchecks with respect to the scores, the
// saturating vs non-saturating generator gradients, stability at |d| = 1000,
// weight clipping, and the three input-gradient regularisers (WGAN-GP, GN,
// PGN): closed forms on linear critics, per-sample behaviour, and their
// gradients with respect to a small float64 MLP critic's parameters (and the
// input) against finite differences. Bad inputs throw clear errors.
#include <cmath>
#include <functional>

#include "core/autograd.h"
#include "nn/gan_loss.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using nn::GanLoss;

namespace {

const std::vector<GanLoss> kAllLosses = {GanLoss::minimax, GanLoss::non_saturating, GanLoss::hinge,
                                         GanLoss::least_squares, GanLoss::wasserstein};

double softplus(double x) { return std::log1p(std::exp(x)); }
double mean_of(const std::vector<double>& v, const std::function<double(double)>& f) {
  double s = 0;
  for (double x : v) s += f(x);
  return s / v.size();
}

/// Hand-computed (real, fake, generator) losses of the header's table.
struct Expected {
  double real, fake, gen;
};
Expected expected(GanLoss kind, const std::vector<double>& dr, const std::vector<double>& df) {
  switch (kind) {
    case GanLoss::minimax:
      // -log sigmoid(x) = log(1 + e^-x); -log(1 - sigmoid(x)) = log(1 + e^x)
      return {mean_of(dr, [](double x) { return softplus(-x); }),
              mean_of(df, [](double x) { return softplus(x); }),
              mean_of(df, [](double x) { return std::log(1.0 - 1.0 / (1.0 + std::exp(-x))); })};
    case GanLoss::non_saturating:
      return {mean_of(dr, [](double x) { return softplus(-x); }),
              mean_of(df, [](double x) { return softplus(x); }),
              mean_of(df, [](double x) { return -std::log(1.0 / (1.0 + std::exp(-x))); })};
    case GanLoss::hinge:
      return {mean_of(dr, [](double x) { return std::max(0.0, 1.0 - x); }),
              mean_of(df, [](double x) { return std::max(0.0, 1.0 + x); }),
              mean_of(df, [](double x) { return -x; })};
    case GanLoss::least_squares:
      return {mean_of(dr, [](double x) { return 0.5 * (x - 1) * (x - 1); }),
              mean_of(df, [](double x) { return 0.5 * x * x; }),
              mean_of(df, [](double x) { return 0.5 * (x - 1) * (x - 1); })};
    case GanLoss::wasserstein:
      return {mean_of(dr, [](double x) { return -x; }), mean_of(df, [](double x) { return x; }),
              mean_of(df, [](double x) { return -x; })};
  }
  return {};
}

/// A small float64 MLP critic with tanh (smooth, so the second derivatives
/// that the regularisers' parameter gradients need exist everywhere):
/// x [n, ...] -> flatten -> tanh(x W1^T + b1) W2^T + b2 -> [n, 1].
struct Mlp {
  Tensor w1, b1, w2, b2;
  Mlp(int64_t in, int64_t hidden)
      : w1(leaf({hidden, in})), b1(leaf({hidden})), w2(leaf({1, hidden})), b2(leaf({1})) {}
  Tensor operator()(const Tensor& x) const {
    Tensor flat = ops::reshape(x, Shape{x.size(0), -1});
    Tensor h = ops::tanh(ops::matmul(flat, w1.t()) + b1);
    return ops::matmul(h, w2.t()) + b2;
  }
  std::vector<Tensor> params() const { return {w1, b1, w2, b2}; }
};

/// Linear critic f(x) = <a, x_i> + b per sample, [n, 1].
Tensor linear_critic(const Tensor& x, const Tensor& a, double b) {
  Tensor flat = ops::reshape(x, Shape{x.size(0), -1});
  return ops::matmul(flat, ops::reshape(a, Shape{-1, 1})) + b;
}

/// Float64 hand values: a relative 1e-12 (Approx's default is float-loose).
Approx close(double v) { return Approx(v).epsilon(1e-12).margin(1e-14); }

double l2(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

}  // namespace

// ---- names ----

TEST_CASE("parse_gan_loss reads what to_string writes, and '-' for '_'", "[gan_loss]") {
  for (GanLoss kind : kAllLosses) REQUIRE(nn::parse_gan_loss(nn::to_string(kind)) == kind);
  REQUIRE(nn::to_string(GanLoss::non_saturating) == "non_saturating");
  REQUIRE(nn::parse_gan_loss("non-saturating") == GanLoss::non_saturating);
  REQUIRE(nn::parse_gan_loss("least-squares") == GanLoss::least_squares);
  REQUIRE_THROWS_NOVA(nn::parse_gan_loss("wgan"), "unknown GAN loss 'wgan'");
  REQUIRE_THROWS_NOVA(nn::parse_gan_loss(""), "expected minimax, non_saturating");
}

// ---- values ----

TEST_CASE("every GAN loss matches hand-computed real, fake and generator values", "[gan_loss]") {
  const std::vector<double> dr = {0.5, -1.25, 2.0, 0.1};
  const std::vector<double> df = {-0.3, 1.5, -2.2};  // a different row count on purpose
  for (GanLoss kind : kAllLosses) {
    for (bool column : {false, true}) {
      INFO(nn::to_string(kind) << (column ? " [n, 1]" : " [n]"));
      Shape sr = column ? Shape{4, 1} : Shape{4}, sf = column ? Shape{3, 1} : Shape{3};
      Tensor d_real = from_vector<double>(dr, sr), d_fake = from_vector<double>(df, sf);
      Expected want = expected(kind, dr, df);
      nn::DiscriminatorLoss loss = nn::discriminator_loss(kind, d_real, d_fake);
      REQUIRE(loss.real.dim() == 0);
      REQUIRE(loss.fake.dim() == 0);
      REQUIRE(loss.real.dtype() == kFloat64);
      REQUIRE(loss.real.item() == close(want.real));
      REQUIRE(loss.fake.item() == close(want.fake));
      REQUIRE(loss.total().item() == close(want.real + want.fake));
      REQUIRE(loss.total().item() == loss.real.item() + loss.fake.item());
      Tensor g = nn::generator_loss(kind, d_fake);
      REQUIRE(g.dim() == 0);
      REQUIRE(g.item() == close(want.gen));
    }
  }
}

TEST_CASE("minimax / non-saturating D parts equal binary_cross_entropy_with_logits", "[gan_loss]") {
  Tensor d_real = uniform({6}, -3, 3, kFloat64), d_fake = uniform({5, 1}, -3, 3, kFloat64);
  for (GanLoss kind : {GanLoss::minimax, GanLoss::non_saturating}) {
    auto loss = nn::discriminator_loss(kind, d_real, d_fake);
    REQUIRE(loss.real.item() ==
            close(ops::binary_cross_entropy_with_logits(d_real, ones_like(d_real)).item()));
    REQUIRE(loss.fake.item() ==
            close(ops::binary_cross_entropy_with_logits(d_fake, zeros_like(d_fake)).item()));
  }
  // G: minimax is -BCE(fake, 0), non-saturating BCE(fake, 1)
  REQUIRE(nn::generator_loss(GanLoss::minimax, d_fake).item() ==
          close(-ops::binary_cross_entropy_with_logits(d_fake, zeros_like(d_fake)).item()));
  REQUIRE(nn::generator_loss(GanLoss::non_saturating, d_fake).item() ==
          close(ops::binary_cross_entropy_with_logits(d_fake, ones_like(d_fake)).item()));
}

TEST_CASE("each D part depends only on its own rows", "[gan_loss]") {
  // grad_split and the adaptive weighting rely on this: d(real part)/d(d_fake) = 0
  for (GanLoss kind : kAllLosses) {
    INFO(nn::to_string(kind));
    Tensor d_real = leaf({4}, -0.8, 0.8), d_fake = leaf({3}, -0.8, 0.8);
    auto loss = nn::discriminator_loss(kind, d_real, d_fake);
    auto g_real = autograd::grad({loss.real}, {d_real, d_fake}, {}, false, true);
    auto g_fake = autograd::grad({loss.fake}, {d_real, d_fake}, {}, false, true);
    REQUIRE(g_real[0].defined());
    REQUIRE(!g_real[1].defined());
    REQUIRE(!g_fake[0].defined());
    REQUIRE(g_fake[1].defined());
  }
}

TEST_CASE("minimax and non-saturating losses stay finite at |d| = 1000", "[gan_loss]") {
  Tensor d = from_vector<double>({-1000.0, 1000.0});
  for (GanLoss kind : {GanLoss::minimax, GanLoss::non_saturating}) {
    auto loss = nn::discriminator_loss(kind, d, d);
    REQUIRE(loss.real.item() == close(500.0));  // (softplus(1000) + softplus(-1000)) / 2
    REQUIRE(loss.fake.item() == close(500.0));
  }
  REQUIRE(nn::generator_loss(GanLoss::minimax, d).item() == close(-500.0));
  REQUIRE(nn::generator_loss(GanLoss::non_saturating, d).item() == close(500.0));
  // and float32 keeps its dtype
  Tensor d32 = from_vector<float>({-1000.0f, 1000.0f});
  Tensor g32 = nn::generator_loss(GanLoss::minimax, d32);
  REQUIRE(g32.dtype() == kFloat32);
  REQUIRE(std::isfinite(g32.item()));
}

// ---- gradients ----

TEST_CASE("every GAN loss passes gradcheck with respect to its scores", "[gan_loss][grad]") {
  for (GanLoss kind : kAllLosses) {
    for (bool column : {false, true}) {
      INFO(nn::to_string(kind) << (column ? " [n, 1]" : " [n]"));
      // values in (-0.9, 0.9): away from the hinge kinks at +-1
      Tensor d_real = leaf(column ? Shape{5, 1} : Shape{5}, -0.9, 0.9);
      Tensor d_fake = leaf(column ? Shape{4, 1} : Shape{4}, -0.9, 0.9);
      REQUIRE_GRADCHECK([&] { return nn::discriminator_loss(kind, d_real, d_fake).real; }, {d_real});
      REQUIRE_GRADCHECK([&] { return nn::discriminator_loss(kind, d_real, d_fake).fake; }, {d_fake});
      REQUIRE_GRADCHECK([&] { return nn::discriminator_loss(kind, d_real, d_fake).total(); },
                        (std::vector<Tensor>{d_real, d_fake}));
      REQUIRE_GRADCHECK([&] { return nn::generator_loss(kind, d_fake); }, {d_fake});
    }
  }
}

TEST_CASE("the minimax G gradient vanishes where D rejects fakes; the non-saturating one does not",
          "[gan_loss][grad]") {
  // Goodfellow et al. 2014, section 3: early in training D(G(z)) ~ 0 and
  // log(1 - D(G(z))) saturates. d/dd [-softplus(d)] = -sigmoid(d);
  // d/dd softplus(-d) = -sigmoid(-d). n = 2 rows, so each is divided by 2.
  Tensor d_fake = from_vector<double>({-20.0, -15.0}).requires_grad_();
  Tensor g_mm = autograd::grad({nn::generator_loss(GanLoss::minimax, d_fake)}, {d_fake})[0];
  Tensor g_ns = autograd::grad({nn::generator_loss(GanLoss::non_saturating, d_fake)}, {d_fake})[0];
  auto mm = values(g_mm), ns = values(g_ns);
  for (int i = 0; i < 2; ++i) {
    double d = i == 0 ? -20.0 : -15.0;
    INFO("d_fake = " << d);
    REQUIRE(mm[i] == Approx(-0.5 / (1.0 + std::exp(-d))).epsilon(1e-12));
    REQUIRE(ns[i] == Approx(-0.5 / (1.0 + std::exp(d))).epsilon(1e-12));
    // both push d_fake up, but the saturating one with a gradient ~1e-7 times smaller
    REQUIRE(mm[i] < 0);
    REQUIRE(std::abs(mm[i]) < 2e-7);
    REQUIRE(ns[i] < -0.49);
    REQUIRE(std::abs(mm[i]) < 1e-6 * std::abs(ns[i]));
  }
  // where D accepts the fakes (d_fake >> 0) the roles swap
  Tensor d_pos = from_vector<double>({15.0}).requires_grad_();
  double mm_pos = autograd::grad({nn::generator_loss(GanLoss::minimax, d_pos)}, {d_pos})[0].item();
  double ns_pos =
      autograd::grad({nn::generator_loss(GanLoss::non_saturating, d_pos)}, {d_pos})[0].item();
  REQUIRE(mm_pos == Approx(-1.0).epsilon(1e-6));
  REQUIRE(std::abs(ns_pos) < 1e-6);
}

// ---- errors ----

TEST_CASE("GAN losses reject bad shapes, empty, integer and mismatched inputs", "[gan_loss]") {
  Tensor ok = uniform({3}, -1, 1, kFloat64);
  for (GanLoss kind : kAllLosses) {
    INFO(nn::to_string(kind));
    REQUIRE_THROWS_NOVA(nn::discriminator_loss(kind, uniform({3, 2}, -1, 1, kFloat64), ok),
                        "d_real must be [n] or [n, 1]");
    REQUIRE_THROWS_NOVA(nn::discriminator_loss(kind, ok, uniform({3, 1, 1}, -1, 1, kFloat64)),
                        "d_fake must be [n] or [n, 1]");
    REQUIRE_THROWS_NOVA(nn::discriminator_loss(kind, scalar_tensor(1.0, kFloat64), ok),
                        "d_real must be [n] or [n, 1]");
    REQUIRE_THROWS_NOVA(nn::discriminator_loss(kind, zeros({0}, kFloat64), ok), "d_real is empty");
    REQUIRE_THROWS_NOVA(nn::discriminator_loss(kind, ok, zeros({0, 1}, kFloat64)), "d_fake is empty");
    REQUIRE_THROWS_NOVA(nn::discriminator_loss(kind, ok, uniform({3}, -1, 1, kFloat32)),
                        "dtype mismatch");
    REQUIRE_THROWS_NOVA(nn::discriminator_loss(kind, zeros({3}, kInt64), ok),
                        "expected a floating");
    REQUIRE_THROWS_NOVA(nn::discriminator_loss(kind, Tensor(), ok), "d_real");
    REQUIRE_THROWS_NOVA(nn::generator_loss(kind, uniform({2, 3}, -1, 1, kFloat64)),
                        "generator_loss: d_fake must be [n] or [n, 1]");
    REQUIRE_THROWS_NOVA(nn::generator_loss(kind, zeros({0}, kFloat64)), "d_fake is empty");
  }
  REQUIRE_THROWS_NOVA(nn::DiscriminatorLoss{}.total(), "DiscriminatorLoss::total");
}

// ---- weight clipping ----

TEST_CASE("clip_weights_ clamps every parameter to [-c, c] in place", "[gan_loss]") {
  Tensor w = from_vector<double>({-0.5, -0.01, 0.0, 0.003, 0.2}, {5}).requires_grad_();
  Tensor b = from_vector<float>({0.02f, -0.02f}).requires_grad_();
  Tensor w_view = w.narrow(0, 3, 2);  // shares w's storage
  nn::clip_weights_({w, b}, 0.01);
  REQUIRE(values(w) == std::vector<double>{-0.01, -0.01, 0.0, 0.003, 0.01});
  auto vb = values(b);
  REQUIRE(vb[0] == Approx(0.01));
  REQUIRE(vb[1] == Approx(-0.01));
  REQUIRE(values(w_view) == std::vector<double>{0.003, 0.01});  // same storage changed
  // still trainable leaves, nothing recorded
  REQUIRE(w.is_leaf());
  REQUIRE(w.requires_grad());
  REQUIRE(autograd::is_grad_enabled());
  REQUIRE_THROWS_NOVA(nn::clip_weights_({w}, -1.0), "c must be >= 0");
  REQUIRE_THROWS_NOVA(nn::clip_weights_({w, Tensor()}, 0.1), "parameter 1 is undefined");
  nn::clip_weights_({}, 0.1);  // nothing to do
}

// ---- WGAN-GP ----

TEST_CASE("gradient_penalty of a linear critic <a, x> + b is (||a|| - 1)^2", "[gan_loss][gp]") {
  for (double scale : {0.3, 1.0, 2.5}) {
    for (bool image : {false, true}) {
      Shape shape = image ? Shape{4, 2, 3} : Shape{5, 6};
      Tensor a = uniform({6}, -1, 1, kFloat64);
      a = a * (scale / l2(values(a)));  // ||a|| = scale
      Tensor real = randn(shape, kFloat64), fake = randn(shape, kFloat64);
      Generator gen(7);
      Tensor gp = nn::gradient_penalty([&](const Tensor& x) { return linear_critic(x, a, 0.3); },
                                       real, fake, gen);
      INFO("||a|| = " << scale << (image ? " on [n, 2, 3]" : " on [n, 6]"));
      REQUIRE(gp.dim() == 0);
      REQUIRE(gp.item() == close((scale - 1) * (scale - 1)));
    }
  }
}

TEST_CASE("gradient_penalty interpolates with one u ~ U(0, 1) per sample from the generator",
          "[gan_loss][gp]") {
  const int64_t n = 64;
  Tensor real = randn({n, 3}, kFloat64), fake = randn({n, 3}, kFloat64);
  Tensor seen;
  auto critic = [&](const Tensor& x) {
    seen = x.detach();
    return ops::sum(ops::square(x), {1});  // [n] output is accepted too
  };
  Generator gen(123);
  nn::gradient_penalty(critic, real, fake, gen);
  REQUIRE(gen.offset() > 0);  // it drew from the given generator
  auto r = values(real), f = values(fake), x = values(seen);
  std::vector<double> us;
  for (int64_t i = 0; i < n; ++i) {
    double u = (x[i * 3] - r[i * 3]) / (f[i * 3] - r[i * 3]);
    us.push_back(u);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    for (int j = 1; j < 3; ++j)  // the same u for every feature of the sample
      REQUIRE(x[i * 3 + j] == Approx(r[i * 3 + j] + u * (f[i * 3 + j] - r[i * 3 + j]))
                                    .epsilon(1e-10)
                                    .margin(1e-12));
  }
  // different samples get different u (not one u for the batch)
  REQUIRE(*std::max_element(us.begin(), us.end()) - *std::min_element(us.begin(), us.end()) > 0.5);
  // same seed, same penalty; the Generator advances between draws
  Generator g1(5), g2(5);
  double p1 = nn::gradient_penalty(critic, real, fake, g1).item();
  REQUIRE(nn::gradient_penalty(critic, real, fake, g2).item() == p1);
  REQUIRE(nn::gradient_penalty(critic, real, fake, g1).item() != p1);
}

TEST_CASE("gradient_penalty's gradient w.r.t. the critic's parameters matches finite differences",
          "[gan_loss][gp][grad]") {
  Mlp critic(3, 5);
  Tensor real = randn({4, 3}, kFloat64), fake = randn({4, 3}, kFloat64);
  auto penalty = [&] {
    Generator gen(42);  // the same interpolation points on every evaluation
    return nn::gradient_penalty(critic, real, fake, gen);
  };
  REQUIRE(penalty().item() > 0);
  REQUIRE_GRADCHECK(penalty, critic.params());
}

TEST_CASE("gradient_penalty treats real and fake as constants", "[gan_loss][gp]") {
  Mlp critic(2, 4);
  Tensor real = leaf({3, 2}), fake = leaf({3, 2});
  Generator gen(1);
  Tensor gp = nn::gradient_penalty(critic, real, fake, gen);
  auto g = autograd::grad({gp}, {real, fake, critic.w1}, {}, false, /*allow_unused=*/true);
  REQUIRE(!g[0].defined());
  REQUIRE(!g[1].defined());
  REQUIRE(g[2].defined());
}

TEST_CASE("gradient_penalty rejects bad arguments", "[gan_loss][gp]") {
  Generator gen(0);
  Tensor x = randn({3, 2}, kFloat64);
  auto critic = [](const Tensor& t) { return ops::sum(t, {1}); };
  REQUIRE_THROWS_NOVA(nn::gradient_penalty({}, x, x, gen), "critic is empty");
  REQUIRE_THROWS_NOVA(nn::gradient_penalty(critic, x, randn({4, 2}, kFloat64), gen),
                      "must have the same shape");
  REQUIRE_THROWS_NOVA(nn::gradient_penalty(critic, x, randn({3, 2}), gen), "dtype mismatch");
  REQUIRE_THROWS_NOVA(nn::gradient_penalty(critic, zeros({0, 2}, kFloat64), zeros({0, 2}, kFloat64), gen),
                      "n > 0");
  REQUIRE_THROWS_NOVA(nn::gradient_penalty([](const Tensor& t) { return t; }, x, x, gen),
                      "the critic must map 3 samples to [3] or [3, 1] scores, got [3, 2]");
  REQUIRE_THROWS_NOVA(
      nn::gradient_penalty([](const Tensor& t) { return zeros({t.size(0)}, kFloat64); }, x, x, gen),
      "does not require grad");
  {
    NoGradGuard no_grad;
    REQUIRE_THROWS_NOVA(nn::gradient_penalty(critic, x, x, gen), "NoGradGuard");
  }
}

// ---- GN-GAN and PGN-GAN ----

namespace {

using Normalizer = Tensor (*)(const Tensor&, const Tensor&);

/// PGN with its default denominator, ||1 - grad_x f|| (a plain function, so
/// it is a Normalizer like gradient_normalize).
Tensor pgn_default(const Tensor& f_x, const Tensor& x) { return nn::penalty_gradient_normalize(f_x, x); }
/// PGN with the denominator of its eqs. (10)-(14), ||grad_x (1 - f)||.
Tensor pgn_gradient(const Tensor& f_x, const Tensor& x) {
  return nn::penalty_gradient_normalize(f_x, x, nn::PgnDenominator::gradient);
}

/// Closed form of each normaliser for a linear f(x) = <a, x> + b (gradient a
/// for every sample).
double closed_form(bool pgn, double f, const std::vector<double>& a) {
  if (!pgn) return f / (l2(a) + std::abs(f));
  std::vector<double> one_minus_a;
  for (double v : a) one_minus_a.push_back(1.0 - v);
  return (1.0 - f) / (l2(one_minus_a) + std::abs(1.0 - f));
}

}  // namespace

TEST_CASE("gradient_normalize and penalty_gradient_normalize match their closed forms on a linear f",
          "[gan_loss][gn]") {
  for (bool pgn : {false, true}) {
    Normalizer normalize = pgn ? &pgn_default : &nn::gradient_normalize;
    for (bool column : {false, true}) {
      INFO((pgn ? "PGN" : "GN") << (column ? " f [n, 1]" : " f [n]"));
      Tensor x = randn({5, 2, 2}, kFloat64).requires_grad_();
      Tensor a = uniform({4}, -2, 2, kFloat64);
      Tensor f = linear_critic(x, a, -0.4);
      if (!column) f = ops::reshape(f, Shape{5});
      Tensor out = normalize(f, x);
      REQUIRE(out.shape() == f.shape());
      auto vf = values(f), vo = values(out), va = values(a);
      for (size_t i = 0; i < vf.size(); ++i) {
        INFO("sample " << i);
        REQUIRE(vo[i] == close(closed_form(pgn, vf[i], va)));
      }
    }
  }
}

TEST_CASE("gradient_normalize is bounded: |f_hat| < 1; PGN's |f_hat| <= 1", "[gan_loss][gn]") {
  Mlp critic(3, 8);
  // inputs spread out so that some hidden units saturate and the gradient is small next to |f|
  Tensor x = (randn({32, 3}, kFloat64) * 4.0).detach().requires_grad_();
  Tensor f = critic(x);
  for (double v : values(nn::gradient_normalize(f, x))) REQUIRE(std::abs(v) < 1.0);
  for (double v : values(nn::penalty_gradient_normalize(f, x))) REQUIRE(std::abs(v) <= 1.0);
}

TEST_CASE("GN and PGN normalise each sample by its own gradient", "[gan_loss][gn]") {
  Mlp critic(3, 6);
  Tensor x = randn({4, 3}, kFloat64).requires_grad_();
  for (bool pgn : {false, true}) {
    Normalizer normalize = pgn ? &pgn_default : &nn::gradient_normalize;
    auto batch = values(normalize(critic(x), x));
    for (int64_t i = 0; i < 4; ++i) {
      Tensor xi = x.detach().narrow(0, i, 1).clone().requires_grad_();
      INFO((pgn ? "PGN" : "GN") << " sample " << i);
      REQUIRE(batch[i] == close(normalize(critic(xi), xi).item()));
    }
  }
}

TEST_CASE("GN and PGN gradients w.r.t. the critic's parameters and x match finite differences",
          "[gan_loss][gn][grad]") {
  Mlp critic(3, 5);
  Tensor x = leaf({4, 3}, -1.5, 1.5);
  for (bool pgn : {false, true}) {
    INFO((pgn ? "PGN" : "GN"));
    Normalizer normalize = pgn ? &pgn_default : &nn::gradient_normalize;
    std::vector<Tensor> inputs = critic.params();
    inputs.push_back(x);  // the generator differentiates f_hat(G(z)) w.r.t. its input
    REQUIRE_GRADCHECK([&] { return normalize(critic(x), x); }, inputs);
    // and through a loss on top, as a training step uses it
    REQUIRE_GRADCHECK(
        [&] {
          Tensor f_hat = normalize(critic(x), x);
          return nn::discriminator_loss(GanLoss::hinge, f_hat.narrow(0, 0, 2), f_hat.narrow(0, 2, 2))
              .total();
        },
        critic.params());
  }
}

TEST_CASE("GN and PGN accept an x that is itself computed (a generator output)", "[gan_loss][gn]") {
  Mlp critic(2, 4);
  Tensor z = leaf({3, 2});
  for (bool pgn : {false, true}) {
    INFO((pgn ? "PGN" : "GN"));
    Normalizer normalize = pgn ? &pgn_default : &nn::gradient_normalize;
    REQUIRE_GRADCHECK(
        [&] {
          Tensor x = ops::tanh(z) * 1.5;  // stands in for G(z): not a leaf
          return normalize(critic(x), x);
        },
        {z});
  }
}

TEST_CASE("GN and PGN reject bad arguments", "[gan_loss][gn]") {
  Mlp critic(2, 3);
  Tensor x = randn({3, 2}, kFloat64).requires_grad_();
  Tensor f = critic(x);
  for (bool pgn : {false, true}) {
    Normalizer normalize = pgn ? &pgn_default : &nn::gradient_normalize;
    const char* name = pgn ? "penalty_gradient_normalize" : "gradient_normalize";
    INFO(name);
    Tensor plain = randn({3, 2}, kFloat64);
    REQUIRE_THROWS_NOVA(normalize(critic(plain), plain), "does not require grad");
    REQUIRE_THROWS_NOVA(normalize(ops::matmul(x, critic.w1.t()), x), "f_x must be [n] or [n, 1]");
    REQUIRE_THROWS_NOVA(normalize(f, randn({4, 2}, kFloat64).requires_grad_()), "n = 3 rows");
    Tensor other = randn({3, 2}, kFloat64).requires_grad_();
    REQUIRE_THROWS_NOVA(normalize(critic(other), x), "f_x does not depend on x");
    REQUIRE_THROWS_NOVA(normalize(zeros({3, 1}, kFloat64), x), "f_x does not require grad");
    REQUIRE_THROWS_NOVA(normalize(f, Tensor()), std::string(name) + ": x");
  }
}

TEST_CASE("parse_gan_objective reads each objective name into its losses and regulariser", "[gan_loss][objective]") {
  using nn::GanLoss;
  using R = nn::GanRegularizer;
  REQUIRE(nn::gan_objective_names() == std::vector<std::string>{"bce", "hinge", "wgan", "wgan-gp", "gn", "pgn"});
  struct Row {
    const char* name;
    GanLoss d, g;
    R reg;
  };
  for (Row row : {Row{"bce", GanLoss::minimax, GanLoss::minimax, R::none},
                  Row{"hinge", GanLoss::hinge, GanLoss::hinge, R::none},
                  Row{"wgan", GanLoss::wasserstein, GanLoss::wasserstein, R::weight_clipping},
                  Row{"wgan-gp", GanLoss::wasserstein, GanLoss::wasserstein, R::gradient_penalty},
                  Row{"gn", GanLoss::minimax, GanLoss::minimax, R::gradient_normalize},
                  Row{"pgn", GanLoss::minimax, GanLoss::minimax, R::penalty_gradient_normalize}}) {
    INFO(row.name);
    nn::GanObjective o = nn::parse_gan_objective(row.name);
    REQUIRE(o.name == row.name);
    REQUIRE(o.d_loss == row.d);
    REQUIRE(o.g_loss == row.g);
    REQUIRE(o.regularizer == row.reg);
    REQUIRE(o.normalizes_output() == (row.reg == R::gradient_normalize || row.reg == R::penalty_gradient_normalize));
  }
}

TEST_CASE("parse_gan_objective names what it parsed and lists the valid names", "[gan_loss][objective]") {
  REQUIRE_THROWS_NOVA(nn::parse_gan_objective("lsgan"),
                      "parse_gan_objective: name must be bce, hinge, wgan, wgan-gp, gn or pgn, got \"lsgan\"");
  REQUIRE_THROWS_NOVA(nn::parse_gan_objective("BCE", "trainer: --loss"),
                      "trainer: --loss must be bce, hinge, wgan, wgan-gp, gn or pgn, got \"BCE\"");
  REQUIRE_THROWS_NOVA(nn::parse_gan_objective(""), "got \"\"");
}

TEST_CASE("PGN's two denominators: ||1 - grad f|| (Algorithm 1, authors' code) and ||grad (1 - f)|| (eqs. 10-14)",
          "[gan_loss][gn]") {
  // linear f(x) = <a, x> + b: grad f = a for every sample
  Tensor x = randn({5, 4}, kFloat64).requires_grad_();
  Tensor a = uniform({4}, -0.1, 0.1, kFloat64);  // a small gradient, where the readings differ most
  Tensor f = linear_critic(x, a, 0.3);
  auto vf = values(f), va = values(a), code = values(pgn_default(f, x)), paper = values(pgn_gradient(f, x));
  std::vector<double> ones_minus_a;
  for (double v : va) ones_minus_a.push_back(1.0 - v);
  for (size_t i = 0; i < vf.size(); ++i) {
    INFO("sample " << i);
    REQUIRE(code[i] == close((1.0 - vf[i]) / (l2(ones_minus_a) + std::abs(1.0 - vf[i]))));
    REQUIRE(paper[i] == close((1.0 - vf[i]) / (l2(va) + std::abs(1.0 - vf[i]))));
    REQUIRE(std::abs(code[i] - paper[i]) > 0.1);  // |1 - a| is about sqrt(4) = 2, |a| below 0.2
  }
  // differentiable to second order in the critic's parameters and in x
  Mlp critic(3, 5);
  Tensor x2 = leaf({4, 3}, -1.5, 1.5);
  std::vector<Tensor> inputs = critic.params();
  inputs.push_back(x2);
  REQUIRE_GRADCHECK([&] { return pgn_gradient(critic(x2), x2); }, inputs);
  REQUIRE_GRADGRADCHECK([&] { return pgn_gradient(critic(x2), x2); }, inputs);
  REQUIRE_THROWS_NOVA(nn::penalty_gradient_normalize(critic(x2), x2, static_cast<nn::PgnDenominator>(7)),
                      "invalid PgnDenominator value 7");
  REQUIRE(nn::parse_pgn_denominator("gradient", "t") == nn::PgnDenominator::gradient);
  REQUIRE(nn::parse_pgn_denominator("ones-minus-gradient", "t") == nn::PgnDenominator::ones_minus_gradient);
  REQUIRE_THROWS_NOVA(nn::parse_pgn_denominator("grad", "trainer: --pgn-denominator"),
                      "trainer: --pgn-denominator must be ones-minus-gradient or gradient, got \"grad\"");
}

TEST_CASE("with_generator_loss: minimax or ns for the BCE objectives, minimax for wgan, none for hinge",
          "[gan_loss][objective]") {
  for (const std::string name : {"bce", "gn", "pgn"}) {
    INFO(name);
    REQUIRE(nn::parse_gan_objective(name).g_loss == GanLoss::minimax);  // the unrolled-GAN code's G
    REQUIRE(nn::with_generator_loss(nn::parse_gan_objective(name), "ns").g_loss == GanLoss::non_saturating);
    REQUIRE(nn::with_generator_loss(nn::parse_gan_objective(name), "minimax").g_loss == GanLoss::minimax);
  }
  REQUIRE(nn::with_generator_loss(nn::parse_gan_objective("wgan-gp"), "minimax").g_loss == GanLoss::wasserstein);
  REQUIRE_THROWS_NOVA(nn::with_generator_loss(nn::parse_gan_objective("wgan"), "ns", "t: --g-loss"),
                      "t: --g-loss: the generator loss of wgan is minimax (its only one), got \"ns\"");
  REQUIRE_THROWS_NOVA(nn::with_generator_loss(nn::parse_gan_objective("hinge"), "minimax"),
                      "the generator loss of hinge is not chosen (it has one)");
  REQUIRE_THROWS_NOVA(nn::with_generator_loss(nn::parse_gan_objective("bce"), "saturating"),
                      "the generator loss of bce is minimax or ns, got \"saturating\"");
}
