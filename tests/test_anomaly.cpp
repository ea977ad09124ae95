// tests/test_anomaly.cpp: anomaly mode (core/autograd.h, AnomalyGuard): a
// NaN made on purpose in a 3-layer model's backward is reported naming the
// op, the input, the shapes, the op's number and the user scope
// (profile::Scope) it was recorded in; a non-finite forward output likewise;
// nothing is checked with the mode off; the guard restores the mode.
#include "core/autograd.h"
#include "core/ops.h"
#include "core/profile.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Three layers; the middle one goes through sqrt(h^2 * mask), whose
/// backward is g * 0.5 / sqrt: where the mask is 0 the forward gives an
/// exact 0, and where the last layer's weight is 0 too the gradient g is 0,
/// so the backward computes 0 / 0 = NaN (finite forward, NaN backward).
struct ThreeLayers {
  nn::Linear l1{3, 4}, l2{4, 4}, l3{4, 1};
  Tensor forward(const Tensor& x, const Tensor& mask) {
    Tensor h = ops::tanh(l1.forward(x));
    {
      profile::Scope scope("layer 2");
      h = ops::sqrt(ops::square(l2.forward(h)) * mask);
    }
    return l3.forward(h);
  }
};

}  // namespace

TEST_CASE("anomaly mode names the op, input, shapes, number and scope of a NaN in the backward", "[anomaly]") {
  ThreeLayers net;
  Tensor x = uniform({2, 3}, -1, 1);
  Tensor mask = ones({2, 4});
  mask.narrow(1, 1, 1).fill_(0.0);  // column 1 of layer 2's output is 0 after the mask
  {
    NoGradGuard no_grad;
    net.l3.weight.narrow(1, 1, 1).fill_(0.0);  // and nothing flows back into it
  }
  // off (the default): the NaN flows into the weights' gradients unnoticed
  REQUIRE_FALSE(autograd::is_anomaly_enabled());
  {
    Tensor loss = ops::sum(net.forward(x, mask));
    loss.backward();
    REQUIRE(std::isnan(ops::sum(net.l1.weight.grad()).item()));
  }
  autograd::AnomalyGuard guard;
  REQUIRE(autograd::is_anomaly_enabled());
  std::string message;
  {
    profile::Scope outer("train step");
    Tensor loss = ops::sum(net.forward(x, mask));
    try {
      loss.backward();
    } catch (const Error& e) {
      message = e.what();
    }
  }
  INFO(message);
  REQUIRE(message.find("anomaly mode: the backward of 'sqrt'") != std::string::npos);
  REQUIRE(message.find("for its input 0 (shape [2, 4])") != std::string::npos);
  REQUIRE(message.find("2 NaN and 0 infinite values among 8") != std::string::npos);
  REQUIRE(message.find("recorded in scope 'train step/layer 2'") != std::string::npos);
  // linear, tanh (layer 1), linear, square, mul, sqrt: the sixth op recorded
  REQUIRE(message.find("op #6 since anomaly mode came on") != std::string::npos);
  REQUIRE(message.find("the gradient it received (shape [2, 4]) had only finite values") != std::string::npos);
}

TEST_CASE("anomaly mode stops at the forward op whose output is not finite", "[anomaly]") {
  Tensor w = uniform({3}, 0.5, 1).requires_grad_();
  Tensor z = zeros({3});
  {
    autograd::AnomalyGuard guard;
    REQUIRE_THROWS_WITH(ops::log(w * z),
                        Catch::Matchers::Contains("anomaly mode: the forward of 'log'") &&
                            Catch::Matchers::Contains("output of shape [3] with 0 NaN and 3 infinite") &&
                            Catch::Matchers::Contains("outside every profile::Scope"));
    autograd::AnomalyGuard off(false);
    REQUIRE_NOTHROW(ops::log(w * z));  // off inside on: nothing checked
  }
  REQUIRE_FALSE(autograd::is_anomaly_enabled());  // the guards restored the default
  REQUIRE_NOTHROW(ops::log(w * z));
}

TEST_CASE("profile::Scope nests and unwinds", "[anomaly]") {
  REQUIRE(profile::current_scope().empty());
  {
    profile::Scope a("D step");
    {
      profile::Scope b("forward");
      REQUIRE(profile::current_scope() == "D step/forward");
    }
    REQUIRE(profile::current_scope() == "D step");
  }
  REQUIRE(profile::current_scope().empty());
}
