// tests/test_autograd.cpp: the engine: chain rule, accumulation, graph reuse,
// grad() vs backward(), NoGradGuard, and higher-order gradients checked by
// finite differences (the WGAN-GP gradient penalty on a small MLP).
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

TEST_CASE("backward applies the chain rule", "[autograd]") {
  Tensor x = from_vector<double>({1.0, -2.0, 0.5}).requires_grad_();
  Tensor y = ops::sum(x * x + x * 3.0);  // dy/dx = 2x + 3
  y.backward();
  REQUIRE(x.grad().to_vector<double>() == std::vector<double>{5.0, -1.0, 4.0});
}

TEST_CASE("a diamond graph sums both paths", "[autograd]") {
  Tensor x = scalar_tensor(1.5, kFloat64).requires_grad_();
  Tensor a = x * 2.0, b = x * 3.0;
  (a * b).backward();  // d(6 x^2)/dx = 12 x
  REQUIRE(x.grad().item() == Approx(18.0));
}

TEST_CASE("gradients accumulate over backward calls until zeroed", "[autograd]") {
  Tensor x = scalar_tensor(2.0, kFloat64).requires_grad_();
  (x * x).backward();
  (x * x).backward();
  REQUIRE(x.grad().item() == 8.0);
  x.set_grad(Tensor());
  (x * 5.0).backward();
  REQUIRE(x.grad().item() == 5.0);
}

TEST_CASE("a second backward through a freed graph throws unless retained", "[autograd]") {
  Tensor x = scalar_tensor(3.0, kFloat64).requires_grad_();
  Tensor y = ops::exp(x) * x;
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  REQUIRE(x.grad().item() == Approx(2 * (std::exp(3.0) * 4.0)));
  REQUIRE_THROWS_NOVA(y.backward(), "retain_graph");
}

TEST_CASE("a non-scalar output needs an explicit gradient", "[autograd]") {
  Tensor x = ones({3}, kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  REQUIRE_THROWS_NOVA(y.backward(), "a gradient is needed for a non-scalar output");
  y.backward(from_vector<double>({1, 2, 3}));
  REQUIRE(x.grad().to_vector<double>() == std::vector<double>{2, 4, 6});
}

TEST_CASE("grad returns gradients without touching .grad", "[autograd]") {
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  Tensor w = from_vector<double>({3, 4}).requires_grad_();
  Tensor y = ops::sum(x * w);
  auto g = autograd::grad({y}, {x});
  REQUIRE(g[0].to_vector<double>() == std::vector<double>{3, 4});
  REQUIRE_FALSE(x.grad().defined());
  REQUIRE_FALSE(w.grad().defined());
  REQUIRE_FALSE(g[0].requires_grad());
}

TEST_CASE("grad of an intermediate tensor is the gradient arriving at it", "[autograd]") {
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  Tensor h = x * 2.0;
  Tensor y = ops::sum(h * h);
  auto g = autograd::grad({y}, {h});
  REQUIRE(g[0].to_vector<double>() == std::vector<double>{4, 8});
}

TEST_CASE("grad with an unreachable input throws unless allow_unused", "[autograd]") {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  Tensor z = ones({2}, kFloat64).requires_grad_();
  Tensor y = ops::sum(x);
  REQUIRE_THROWS_NOVA(autograd::grad({y}, {z}, {}, false, false, true), "not reached");
  auto g = autograd::grad({y}, {z}, {}, false, true);
  REQUIRE_FALSE(g[0].defined());
}

TEST_CASE("NoGradGuard records nothing; detach cuts the graph", "[autograd]") {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  {
    NoGradGuard guard;
    REQUIRE_FALSE((x * 2.0).requires_grad());
  }
  REQUIRE((x * 2.0).requires_grad());
  Tensor d = (x * 2.0).detach();
  REQUIRE_FALSE(d.requires_grad());
  REQUIRE(d.is_leaf());
  REQUIRE_THROWS_NOVA(ops::sum(d).backward(), "does not require grad");
}

TEST_CASE("broadcast inputs receive gradients of their own shape", "[autograd]") {
  Tensor a = ones({3, 1}, kFloat64).requires_grad_();
  Tensor b = ones({4}, kFloat64).requires_grad_();
  ops::sum(a * b * 2.0).backward();
  REQUIRE(a.grad().shape() == Shape{3, 1});
  REQUIRE(b.grad().shape() == Shape{4});
  REQUIRE(a.grad().to_vector<double>() == std::vector<double>{8, 8, 8});
  REQUIRE(b.grad().to_vector<double>() == std::vector<double>{6, 6, 6, 6});
}

TEST_CASE("a float32 leaf used through to(float64) gets a float32 gradient", "[autograd]") {
  Tensor x = ones({2}, kFloat32).requires_grad_();
  ops::sum(x.to(kFloat64) * 3.0).backward();
  REQUIRE(x.grad().dtype() == kFloat32);
  REQUIRE(x.grad().to_vector<float>() == std::vector<float>{3, 3});
}

TEST_CASE("a long chain of ops backpropagates without recursion", "[autograd]") {
  Tensor x = scalar_tensor(1.0, kFloat64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = y * 1.0001;
  y.backward();
  REQUIRE(x.grad().item() == Approx(std::pow(1.0001, 10000)));
}

TEST_CASE("in-place changes of a tensor that requires grad are refused", "[autograd]") {
  Tensor x = ones({2}).requires_grad_();
  REQUIRE_THROWS_NOVA(x.fill_(0), "NoGradGuard");
  NoGradGuard guard;
  x.fill_(2);
  REQUIRE(x.to_vector<float>() == std::vector<float>{2, 2});
}

TEST_CASE("create_graph gives second derivatives", "[autograd][higher-order]") {
  Tensor x = scalar_tensor(2.0, kFloat64).requires_grad_();
  Tensor y = x * x * x;
  auto g = autograd::grad({y}, {x}, {}, /*create_graph=*/true);
  REQUIRE(g[0].item() == Approx(12.0));  // 3 x^2
  REQUIRE(g[0].requires_grad());
  auto gg = autograd::grad({g[0]}, {x});
  REQUIRE(gg[0].item() == Approx(12.0));  // 6 x
}

TEST_CASE("backward with create_graph leaves differentiable .grad", "[autograd][higher-order]") {
  Tensor x = scalar_tensor(0.5, kFloat64).requires_grad_();
  ops::sin(x).backward(Tensor(), false, /*create_graph=*/true);
  Tensor g = x.grad();  // cos(x)
  REQUIRE(g.requires_grad());
  x.set_grad(Tensor());
  g.backward();  // d cos(x) / dx = -sin(x)
  REQUIRE(x.grad().item() == Approx(-std::sin(0.5)));
}

namespace {
/// A 2-layer tanh MLP critic f(x) = w2 . tanh(W1 x + b1) + b2 on rows of x.
Tensor critic(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2, const Tensor& b2) {
  return ops::matmul(ops::tanh(ops::matmul(x, w1.t()) + b1), w2) + b2;
}
}  // namespace

TEST_CASE("the gradient of a gradient penalty matches finite differences", "[autograd][higher-order]") {
  // WGAN-GP style: P(theta) = mean_i (||d f(x_i) / d x_i||^2 - 1)^2, and we
  // check dP/dtheta, which needs d/dtheta of an input gradient.
  Tensor x = uniform({4, 3}, -1, 1, kFloat64).requires_grad_();
  Tensor w1 = leaf({5, 3}), b1 = leaf({5}), w2 = leaf({5}), b2 = leaf({});
  auto penalty = [&] {
    Tensor f = critic(x, w1, b1, w2, b2);
    Tensor gx = autograd::grad({ops::sum(f)}, {x}, {}, /*create_graph=*/true)[0];
    Tensor norms = ops::sum(gx * gx, {1});
    return ops::mean((norms - 1.0) * (norms - 1.0));
  };
  REQUIRE_GRADCHECK(penalty, (std::vector<Tensor>{w1, b1, w2, b2}));
}

TEST_CASE("gradgradcheck passes for a smooth composite", "[autograd][higher-order]") {
  Tensor a = leaf({3, 2}), b = leaf({2});
  auto fn = [&] { return ops::tanh(a * b) * ops::exp(a); };
  auto r = gradgradcheck(fn, {a, b});
  INFO(r.report);
  REQUIRE(r.ok);
}

TEST_CASE("gradcheck catches a wrong gradient", "[autograd]") {
  // a deliberately wrong backward: the checker must be able to fail
  Tensor x = leaf({3});
  auto wrong = [&] {
    Tensor y = ops::unary_kernel(UnaryKind::Square, x);
    autograd::record("bad_square", {x}, y, [](const autograd::BackwardCtx& c) {
      return autograd::Grads{c.grad * 3.0};
    });
    return y;
  };
  auto r = gradcheck(wrong, {x});
  REQUIRE_FALSE(r.ok);
  REQUIRE_THAT(r.report, Catch::Matchers::Contains("gradient mismatch at input 0"));
}

TEST_CASE("a node may return no gradient for a leaf it did not read", "[autograd]") {
  // a sequence node takes every parameter of a cell, some of which a step
  // never reads (nn/orthogonal_rnn.cpp): the leaf keeps no .grad
  Tensor x = leaf({3}), unused = leaf({2});
  Tensor y = ops::unary_kernel(UnaryKind::Square, x);
  autograd::record("square_ignoring_second", {x, unused}, y, [x](const autograd::BackwardCtx& c) {
    return autograd::Grads{c.grad * 2.0 * x, Tensor()};
  });
  ops::sum(y).backward();
  CHECK(x.grad().defined());
  CHECK_FALSE(unused.grad().defined());
}
