// tests/test_flat_grad.cpp: the flat-vector helpers of
// optim/flat_parameters.h: flat_grad (the gradient of a loss over a
// parameter list as one vector: values, order, zeros for an unreached
// parameter, .grad untouched) and angle_between (degrees, the zero-vector
// convention, bad shapes).
#include <cmath>

#include "optim/flat_parameters.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

TEST_CASE("flat_grad lays out each parameter's gradient in order, zeros where unreached", "[optim][flat]") {
  Tensor w = leaf({2, 3}), unused = leaf({4}), b = leaf({2});
  Tensor a = uniform({2, 3}, -1, 1, kFloat64);
  // loss = sum(a * w) + 3 sum(b^2): d/dw = a, d/db = 6 b, unused: 0
  Tensor loss = ops::sum(a * w) + ops::sum(b * b) * 3.0;
  Tensor g = optim::flat_grad(loss, {w, unused, b});
  REQUIRE(g.shape() == Shape({12}));
  REQUIRE_FALSE(g.requires_grad());
  std::vector<double> got = values(g), va = values(a), vb = values(b.detach());
  for (size_t i = 0; i < 6; ++i) REQUIRE(got[i] == va[i]);
  for (size_t i = 6; i < 10; ++i) REQUIRE(got[i] == 0.0);
  for (size_t i = 0; i < 2; ++i) REQUIRE(got[10 + i] == Approx(6 * vb[i]).epsilon(1e-15));
  // .grad is left alone
  REQUIRE_FALSE(w.grad().defined());
  REQUIRE_FALSE(b.grad().defined());
}

TEST_CASE("flat_grad refuses a non-scalar loss and an empty parameter list", "[optim][flat]") {
  Tensor w = leaf({3});
  REQUIRE_THROWS_NOVA(optim::flat_grad(w * 2.0, {w}), "flat_grad: loss must be a scalar, got shape [3]");
  REQUIRE_THROWS_NOVA(optim::flat_grad(ops::sum(w), {}), "flat_grad: got an empty parameter list");
}

TEST_CASE("angle_between gives degrees: 0, 45, 90, 135, 180, and 90 with a zero vector", "[optim][flat]") {
  auto vec = [](std::vector<double> v) { return from_vector(v, {int64_t(v.size())}, kFloat64); };
  const Tensor x = vec({2, 0, 0});
  REQUIRE(optim::angle_between(x, vec({5, 0, 0})) == Approx(0.0).margin(1e-12));
  REQUIRE(optim::angle_between(x, vec({1, 1, 0})) == Approx(45.0).epsilon(1e-12));
  REQUIRE(optim::angle_between(x, vec({0, 0, 3})) == Approx(90.0).epsilon(1e-12));
  REQUIRE(optim::angle_between(x, vec({-1, 1, 0})) == Approx(135.0).epsilon(1e-12));
  REQUIRE(optim::angle_between(x, vec({-7, 0, 0})) == Approx(180.0).epsilon(1e-12));
  REQUIRE(optim::angle_between(x, vec({0, 0, 0})) == 90.0);
  // float32 vectors work too, and the angle is symmetric
  Tensor p = vec({1, 2, 3}).to(kFloat32), q = vec({3, -1, 2}).to(kFloat32);
  const double want = std::acos(7.0 / 14.0) * 180.0 / M_PI;  // <p,q> = 7, |p|^2 = |q|^2 = 14
  REQUIRE(optim::angle_between(p, q) == Approx(want).epsilon(1e-6));
  REQUIRE(optim::angle_between(q, p) == optim::angle_between(p, q));
}

TEST_CASE("angle_between refuses vectors that are not flat or differ in length", "[optim][flat]") {
  REQUIRE_THROWS_NOVA(optim::angle_between(zeros({2, 2}), zeros({2, 2})),
                      "angle_between: expected two flat 1-D vectors of one length, got [2, 2] and [2, 2]");
  REQUIRE_THROWS_NOVA(optim::angle_between(zeros({3}), zeros({4})), "got [3] and [4]");
}
