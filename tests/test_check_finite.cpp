// tests/test_check_finite.cpp: optim/check_finite.h, the trainers' guard
// against NaN and infinite losses and gradients: the messages name the step
// and the tensor, every position and dtype is seen (the first element, the
// last, a strided view), finite extremes pass, and FiniteCheck stops or
// warns once as asked.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "nn/nn.h"
#include "optim/check_finite.h"
#include "tests/test_util.h"

using namespace nova;
using optim::FiniteCheck;
using optim::OnNonFinite;

namespace {

/// A small two-layer net with a gradient on every parameter.
std::shared_ptr<nn::Sequential> net_with_grads() {
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Tanh>(),
                                              std::make_shared<nn::Linear>(4, 1));
  ops::sum((*net)(randn({5, 3}))).backward();
  return net;
}

/// Puts `value` at flat position `at` of p's gradient.
void poison(const Tensor& p, int64_t at, double value) {
  std::vector<double> g = p.grad().to(kFloat64).to_vector<double>();
  g[size_t(at)] = value;
  p.set_grad(from_vector(g, p.shape(), p.dtype(), p.device()));
}

}  // namespace

TEST_CASE("nonfinite_value names the step, the scalar and what it is", "[optim][finite]") {
  REQUIRE(optim::nonfinite_value(17, "discriminator loss", 0.69).empty());
  REQUIRE(optim::nonfinite_value(17, "discriminator loss", std::numeric_limits<double>::max()).empty());
  REQUIRE(optim::nonfinite_value(17, "discriminator loss", NAN) == "step 17: discriminator loss is nan");
  REQUIRE(optim::nonfinite_value(3, "generator loss", INFINITY) == "step 3: generator loss is inf");
  REQUIRE(optim::nonfinite_value(3, "generator loss", -INFINITY) == "step 3: generator loss is -inf");
}

TEST_CASE("nonfinite_tensor finds a NaN or inf at any position, in both dtypes and in views", "[optim][finite]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t at : {int64_t(0), int64_t(17), int64_t(59)}) {
      for (double bad : {double(NAN), double(INFINITY), -double(INFINITY)}) {
        std::vector<double> v = randn({60}, kFloat64).to_vector<double>();
        v[size_t(at)] = bad;
        Tensor t = from_vector(v, {6, 10}, dtype, kCPU);
        INFO(dtype_name(dtype) << " at " << at << " value " << bad);
        REQUIRE(optim::nonfinite_tensor(9, "x", t) == (std::isnan(bad) ? "step 9: x has nan" : "step 9: x has inf"));
        // a transposed view reads the same elements through strides
        REQUIRE_FALSE(optim::nonfinite_tensor(9, "x", t.t()).empty());
      }
    }
    INFO(dtype_name(dtype));
    REQUIRE(optim::nonfinite_tensor(9, "x", randn({6, 10}, dtype)).empty());
    REQUIRE(optim::nonfinite_tensor(9, "x", full({4}, dtype == kFloat32 ? 3e38 : 1e300, dtype)).empty());
    REQUIRE(optim::nonfinite_tensor(9, "x", zeros({0}, dtype)).empty());
  }
  // NaN wins over inf: the message says nan when both are there
  REQUIRE(optim::nonfinite_tensor(1, "x", from_vector(std::vector<double>{INFINITY, NAN, 1.0})) ==
          "step 1: x has nan");
}

TEST_CASE("nonfinite_grad names the first parameter whose gradient went bad", "[optim][finite]") {
  auto net = net_with_grads();
  const optim::NamedParameters params = net->named_parameters();
  REQUIRE(params.size() == 4);
  REQUIRE(optim::nonfinite_grad(5, params, "D.").empty());

  poison(params[2].second, 3, INFINITY);  // 2.weight
  REQUIRE(optim::nonfinite_grad(5, params, "D.") == "step 5: gradient of D.2.weight has inf");
  poison(params[1].second, 0, NAN);  // 0.bias comes first
  REQUIRE(optim::nonfinite_grad(5, params, "D.") == "step 5: gradient of D.0.bias has nan");

  // parameters without a gradient are skipped, not an error
  params[1].second.set_grad(Tensor());
  params[2].second.set_grad(Tensor());
  REQUIRE(optim::nonfinite_grad(6, params).empty());
  for (const auto& [name, p] : params) p.set_grad(Tensor());
  REQUIRE(optim::nonfinite_grad(6, params).empty());
}

TEST_CASE("FiniteCheck stops on the first non-finite number with that message", "[optim][finite]") {
  FiniteCheck check(OnNonFinite::stop);
  auto net = net_with_grads();
  check.value(1, "loss", 0.5);
  check.grads(1, net->named_parameters(), "G.");
  REQUIRE_THROWS_WITH(check.value(2, "generator loss", NAN), "step 2: generator loss is nan");
  poison(net->named_parameters()[0].second, 11, -INFINITY);
  REQUIRE_THROWS_WITH(check.grads(4, net->named_parameters(), "G."), "step 4: gradient of G.0.weight has inf");
}

TEST_CASE("FiniteCheck under warn reports the first one once and counts the steps", "[optim][finite]") {
  std::vector<std::string> warnings;
  FiniteCheck check(OnNonFinite::warn, [&](const std::string& m) { warnings.push_back(m); });
  auto net = net_with_grads();
  check.value(1, "loss", 0.5);
  REQUIRE(check.bad_steps() == 0);
  check.value(2, "loss", NAN);
  poison(net->named_parameters()[3].second, 0, NAN);
  check.grads(2, net->named_parameters());  // the same step: counted once
  check.value(3, "loss", INFINITY);
  check.grads(3, net->named_parameters());
  REQUIRE(warnings == std::vector<std::string>{"step 2: loss is nan"});
  REQUIRE(check.bad_steps() == 2);
}
