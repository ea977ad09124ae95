// tests/test_init.cpp: nn::init, the parameter initializers: gains and fans
// as PyTorch defines them, bounds and empirical spreads of the random ones,
// orthogonality of orthogonal_, and the deterministic fills.
#include <cmath>

#include "nn/init.h"
#include "tests/test_util.h"

using namespace nova;
namespace init = nova::nn::init;
using nova::test::max_abs_diff;

namespace {

/// Largest |x| over a tensor's values.
double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

/// Root mean square of a tensor's values (its std when the mean is 0).
double rms(const Tensor& t) { return std::sqrt(t.to(kFloat64).pow(2.0).mean().item()); }

}  // namespace

TEST_CASE("calculate_gain matches PyTorch's table", "[init]") {
  REQUIRE(init::calculate_gain("linear") == 1.0);
  REQUIRE(init::calculate_gain("conv2d") == 1.0);
  REQUIRE(init::calculate_gain("conv_transpose3d") == 1.0);
  REQUIRE(init::calculate_gain("sigmoid") == 1.0);
  REQUIRE(init::calculate_gain("tanh") == Approx(5.0 / 3.0));
  REQUIRE(init::calculate_gain("relu") == Approx(std::sqrt(2.0)));
  REQUIRE(init::calculate_gain("leaky_relu") == Approx(std::sqrt(2.0 / (1.0 + 0.01 * 0.01))));
  REQUIRE(init::calculate_gain("leaky_relu", 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  REQUIRE(init::calculate_gain("leaky_relu", std::sqrt(5.0)) == Approx(std::sqrt(1.0 / 3.0)));
  REQUIRE(init::calculate_gain("selu") == 0.75);
  REQUIRE_THROWS_NOVA(init::calculate_gain("swish"), "calculate_gain: unknown nonlinearity \"swish\"");
}

TEST_CASE("fan_in is dim 1 and fan_out dim 0, times the receptive field", "[init]") {
  auto [in2, out2] = init::calculate_fan_in_and_fan_out(zeros({7, 3}));
  REQUIRE(in2 == 3);
  REQUIRE(out2 == 7);
  auto [in4, out4] = init::calculate_fan_in_and_fan_out(zeros({16, 8, 3, 5}));
  REQUIRE(in4 == 8 * 15);
  REQUIRE(out4 == 16 * 15);
  REQUIRE_THROWS_NOVA(init::calculate_fan_in_and_fan_out(zeros({5})), "at least 2 dims, got shape [5]");
}

TEST_CASE("xavier_uniform_ stays within its bound and has the Glorot spread", "[init]") {
  Tensor w = empty({300, 500});
  double gain = 1.5;
  init::xavier_uniform_(w, gain);
  double a = gain * std::sqrt(6.0 / 800.0);
  REQUIRE(max_abs(w) <= a);
  REQUIRE(max_abs(w) > 0.99 * a);  // and reaches it
  REQUIRE(rms(w) == Approx(a / std::sqrt(3.0)).epsilon(0.02));
}

TEST_CASE("xavier_normal_ has std gain * sqrt(2 / (fan_in + fan_out))", "[init]") {
  Tensor w = empty({300, 500}, kFloat64);
  init::xavier_normal_(w, 2.0);
  REQUIRE(rms(w) == Approx(2.0 * std::sqrt(2.0 / 800.0)).epsilon(0.02));
  REQUIRE(std::abs(w.mean().item()) < 0.01 * rms(w));
}

TEST_CASE("kaiming_uniform_ stays within gain * sqrt(3 / fan) for both modes", "[init]") {
  Tensor w = empty({64, 32, 3, 3});  // a conv weight: fan_in 288, fan_out 576
  SECTION("fan_in, relu") {
    init::kaiming_uniform_(w, 0.0, "fan_in", "relu");
    double bound = std::sqrt(2.0) * std::sqrt(3.0 / 288.0);
    REQUIRE(max_abs(w) <= bound);
    REQUIRE(rms(w) == Approx(bound / std::sqrt(3.0)).epsilon(0.02));
  }
  SECTION("fan_out, leaky_relu with slope 0.2") {
    init::kaiming_uniform_(w, 0.2, "fan_out");
    double bound = std::sqrt(2.0 / 1.04) * std::sqrt(3.0 / 576.0);
    REQUIRE(max_abs(w) <= bound);
    REQUIRE(rms(w) == Approx(bound / std::sqrt(3.0)).epsilon(0.02));
  }
  REQUIRE_THROWS_NOVA(init::kaiming_uniform_(w, 0.0, "fan_avg"),
                      "kaiming_uniform_: mode must be \"fan_in\" or \"fan_out\", got \"fan_avg\"");
}

TEST_CASE("kaiming_normal_ has std gain / sqrt(fan)", "[init]") {
  Tensor w = empty({400, 250});
  init::kaiming_normal_(w, 0.0, "fan_in", "relu");
  REQUIRE(rms(w) == Approx(std::sqrt(2.0 / 250.0)).epsilon(0.02));
  init::kaiming_normal_(w, 0.0, "fan_out", "tanh");
  REQUIRE(rms(w) == Approx(5.0 / 3.0 / std::sqrt(400.0)).epsilon(0.02));
}

TEST_CASE("uniform_ and normal_ fill with the asked distribution", "[init]") {
  Tensor u = empty({20000});
  init::uniform_(u, -2.0, 3.0);
  auto v = u.to_vector<float>();
  REQUIRE(*std::min_element(v.begin(), v.end()) >= -2.0f);
  REQUIRE(*std::max_element(v.begin(), v.end()) < 3.0f);
  REQUIRE(u.mean().item() == Approx(0.5).margin(0.05));

  Tensor n = empty({20000}, kFloat64);
  init::normal_(n, 1.0, 0.5);
  REQUIRE(n.mean().item() == Approx(1.0).margin(0.02));
  REQUIRE(rms(n - 1.0) == Approx(0.5).epsilon(0.02));
  REQUIRE_THROWS_NOVA(init::uniform_(empty({3}, kInt64)), "uniform_: expected a floating tensor");
}

TEST_CASE("orthogonal_ gives orthonormal rows or columns, scaled by gain", "[init]") {
  struct Case {
    Shape shape;
    double gain;
  };
  for (const Case& c : {Case{{5, 8}, 1.0}, Case{{8, 5}, 1.0}, Case{{6, 6}, 2.0},
                        Case{{40, 100}, 0.5}, Case{{100, 40}, 1.0}, Case{{6, 2, 3}, 1.0}}) {
    Tensor w = empty(c.shape);  // float32
    init::orthogonal_(w, c.gain);
    Tensor m = w.reshape({c.shape[0], -1});
    bool wide = m.size(0) <= m.size(1);
    Tensor gram = wide ? m.matmul(m.t()) : m.t().matmul(m);
    Tensor expected = eye(gram.size(0)) * (c.gain * c.gain);
    INFO("shape " << c.shape.str() << " gain " << c.gain);
    REQUIRE(max_abs_diff(gram, expected) < 1e-5 * c.gain * c.gain * 4);
  }
}

TEST_CASE("orthogonal_ is reproducible from a Generator and differs across seeds", "[init]") {
  Generator g1(7), g2(7), g3(8);
  Tensor a = empty({4, 6}), b = empty({4, 6}), c = empty({4, 6});
  init::orthogonal_(a, 1.0, &g1);
  init::orthogonal_(b, 1.0, &g2);
  init::orthogonal_(c, 1.0, &g3);
  REQUIRE(max_abs_diff(a, b) == 0.0);
  REQUIRE(max_abs_diff(a, c) > 0.01);
  REQUIRE_THROWS_NOVA(init::orthogonal_(empty({4})), "orthogonal_: expected a tensor with at least 2 dims");
}

TEST_CASE("constant_, zeros_, ones_ and eye_ fill exactly, even through views", "[init]") {
  Tensor t = randn({3, 4});
  init::constant_(t, 2.5);
  for (float v : t.to_vector<float>()) REQUIRE(v == 2.5f);
  init::zeros_(t);
  REQUIRE(t.abs().sum().item() == 0.0);
  init::ones_(t.t());  // a transposed view writes through to t
  REQUIRE(t.sum().item() == 12.0);
  init::zeros_(t.select(1, 2));
  REQUIRE(t.sum().item() == 9.0);

  Tensor r = randn({2, 3});
  init::eye_(r);
  REQUIRE(r.to_vector<float>() == std::vector<float>{1, 0, 0, 0, 1, 0});
  REQUIRE_THROWS_NOVA(init::eye_(empty({2, 2, 2})), "eye_: expected a 2-D tensor");
}

TEST_CASE("initializers fill a parameter that requires grad, keeping it a leaf", "[init]") {
  Tensor w = empty({8, 4}).requires_grad_();
  Tensor same = init::xavier_uniform_(w);
  REQUIRE(same.impl() == w.impl());
  REQUIRE(w.requires_grad());
  REQUIRE(w.is_leaf());
  REQUIRE(w.abs().sum().item() > 0);
}
