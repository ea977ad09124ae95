// tests/test_optim.cpp: the optimizer-step ops and the optimizers of optim/.
//
// Each optimizer runs 3 steps on f(w) = (w0 - 3)^2 + 10 (w1 + 1)^2 (float64,
// gradients by backward) or on fixed given gradients, and is compared after
// every step with the published update rule written out here in plain
// doubles. Also: per-group options, skipped parameters, zero_grad, argument
// errors, convergence, gradient clipping and FlatParameters.
#include <cmath>
#include <vector>

#include "core/optim.h"
#include "optim/clip_grad.h"
#include "optim/flat_parameters.h"
#include "optim/optimizer.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Vec = std::vector<double>;

/// f(w) = (w0 - 3)^2 + 10 (w1 + 1)^2 as nova ops, for backward.
Tensor quadratic(const Tensor& w) {
  Tensor target = from_vector(Vec{3.0, -1.0});
  Tensor weight = from_vector(Vec{1.0, 10.0});
  return ops::sum(weight * ops::square(w - target));
}

/// Its gradient in plain doubles.
Vec quadratic_grad(const Vec& w) { return {2 * (w[0] - 3), 20 * (w[1] + 1)}; }

const Vec kStart = {0.5, 0.25};

/// Runs `steps` optimizer steps on the quadratic and, after each, one step
/// of `reference` (which updates its copy of w from the same gradient) and
/// compares.
template <typename Reference>
void check_against_reference(optim::Optimizer& opt, const Tensor& w, Reference reference,
                             int steps = 3) {
  Vec w_ref = w.to_vector<double>();
  for (int t = 1; t <= steps; ++t) {
    opt.zero_grad();
    quadratic(w).backward();
    Vec g = quadratic_grad(w_ref);
    opt.step();
    reference(w_ref, g, t);
    Vec got = w.to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("step " << t << " element " << i << ": got " << got[i] << ", expected " << w_ref[i]);
      REQUIRE(std::abs(got[i] - w_ref[i]) <= 1e-12 * (1 + std::abs(w_ref[i])));
    }
  }
}

/// Same with fixed gradients (set directly as .grad) instead of backward.
template <typename Reference>
void check_with_given_grads(optim::Optimizer& opt, const Tensor& w, const std::vector<Vec>& grads,
                            Reference reference) {
  Vec w_ref = w.to_vector<double>();
  for (size_t t = 0; t < grads.size(); ++t) {
    w.set_grad(from_vector(grads[t]));
    opt.step();
    reference(w_ref, grads[t], int(t) + 1);
    Vec got = w.to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("step " << t + 1 << " element " << i << ": got " << got[i] << ", expected " << w_ref[i]);
      REQUIRE(std::abs(got[i] - w_ref[i]) <= 1e-12 * (1 + std::abs(w_ref[i])));
    }
  }
}

Tensor start_leaf() { return from_vector(kStart).requires_grad_(); }

// ---- the published rules, in plain doubles ----

struct SgdRef {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  Vec buf = Vec(2, 0.0);
  void operator()(Vec& w, Vec g, int t) {
    for (size_t i = 0; i < w.size(); ++i) {
      if (weight_decay != 0) g[i] += weight_decay * w[i];
      if (momentum != 0) {
        buf[i] = t == 1 ? g[i] : momentum * buf[i] + (1 - dampening) * g[i];
        g[i] = nesterov ? g[i] + momentum * buf[i] : buf[i];
      }
      w[i] -= lr * g[i];
    }
  }
};

struct AdamRef {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, decoupled;
  Vec m = Vec(2, 0.0), v = Vec(2, 0.0), v_max = Vec(2, 0.0);
  void operator()(Vec& w, Vec g, int t) {
    for (size_t i = 0; i < w.size(); ++i) {
      if (decoupled) w[i] -= lr * weight_decay * w[i];
      else if (weight_decay != 0) g[i] += weight_decay * w[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      double m_hat = m[i] / (1 - std::pow(beta1, t));
      double v_hat;
      if (amsgrad) {
        v_max[i] = std::max(v_max[i], v[i]);
        v_hat = v_max[i] / (1 - std::pow(beta2, t));
      } else {
        v_hat = v[i] / (1 - std::pow(beta2, t));
      }
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

struct RmspropRef {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered;
  Vec v = Vec(2, 0.0), g_ave = Vec(2, 0.0), buf = Vec(2, 0.0);
  void operator()(Vec& w, Vec g, int) {
    for (size_t i = 0; i < w.size(); ++i) {
      if (weight_decay != 0) g[i] += weight_decay * w[i];
      v[i] = alpha * v[i] + (1 - alpha) * g[i] * g[i];
      double v_tilde = v[i];
      if (centered) {
        g_ave[i] = alpha * g_ave[i] + (1 - alpha) * g[i];
        v_tilde -= g_ave[i] * g_ave[i];
      }
      if (momentum > 0) {
        buf[i] = momentum * buf[i] + g[i] / (std::sqrt(v_tilde) + eps);
        w[i] -= lr * buf[i];
      } else {
        w[i] -= lr * g[i] / (std::sqrt(v_tilde) + eps);
      }
    }
  }
};

struct AdagradRef {
  double lr, lr_decay, weight_decay, eps;
  Vec sum;
  void operator()(Vec& w, Vec g, int t) {
    double clr = lr / (1 + (t - 1) * lr_decay);
    for (size_t i = 0; i < w.size(); ++i) {
      if (weight_decay != 0) g[i] += weight_decay * w[i];
      sum[i] += g[i] * g[i];
      w[i] -= clr * g[i] / (std::sqrt(sum[i]) + eps);
    }
  }
};

}  // namespace

// ---- SGD ----

TEST_CASE("SGD follows its update rule for every option combination", "[optim]") {
  struct Case { const char* name; optim::SGDOptions options; };
  std::vector<Case> cases = {
      {"plain", {0.05}},
      {"momentum", {0.05, 0.9}},
      {"momentum + dampening", {0.05, 0.9, 0.3}},
      {"nesterov", {0.05, 0.9, 0.0, 0.0, true}},
      {"weight decay", {0.05, 0.0, 0.0, 0.1}},
      {"everything", {0.02, 0.8, 0.0, 0.05, true}},
  };
  for (const auto& c : cases) {
    INFO("SGD " << c.name);
    Tensor w = start_leaf();
    optim::SGD opt({w}, c.options);
    const auto& o = c.options;
    check_against_reference(opt, w, SgdRef{o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov});
  }
}

TEST_CASE("SGD with momentum gives the hand-computed values", "[optim]") {
  // w0 starts at 0, lr 0.1, momentum 0.9: g1 = -6, b1 = -6, w0 = 0.6;
  // g2 = 2 (0.6 - 3) = -4.8, b2 = 0.9 (-6) - 4.8 = -10.2, w0 = 0.6 + 1.02 = 1.62
  Tensor w = from_vector(Vec{0.0, -1.0}).requires_grad_();
  optim::SGD opt({w}, {0.1, 0.9});
  for (int t = 0; t < 2; ++t) {
    opt.zero_grad();
    quadratic(w).backward();
    opt.step();
  }
  REQUIRE(w.to_vector<double>()[0] == Approx(1.62).epsilon(1e-14));
  REQUIRE(w.to_vector<double>()[1] == -1.0);  // at its minimum: zero gradient
  REQUIRE(opt.state(w).buffers.at("momentum_buffer").to_vector<double>()[0] == Approx(-10.2));
}

// ---- Adam, AdamW ----

TEST_CASE("Adam follows its update rule with and without weight decay", "[optim]") {
  struct Case { const char* name; optim::AdamOptions options; };
  std::vector<Case> cases = {
      {"defaults", {}},
      {"lr 0.1", {0.1}},
      {"weight decay", {0.1, {0.8, 0.9}, 1e-8, 0.2}},
      {"amsgrad", {0.1, {0.9, 0.999}, 1e-6, 0.0, true}},
      {"amsgrad + weight decay", {0.05, {0.5, 0.6}, 1e-8, 0.1, true}},
  };
  for (const auto& c : cases) {
    INFO("Adam " << c.name);
    Tensor w = start_leaf();
    optim::Adam opt({w}, c.options);
    const auto& o = c.options;
    check_against_reference(opt, w, AdamRef{o.lr, o.betas.first, o.betas.second, o.eps,
                                            o.weight_decay, o.amsgrad, false});
  }
}

TEST_CASE("Adam with amsgrad keeps the largest second moment", "[optim]") {
  // shrinking gradients with a short beta2 memory make v_t fall, so amsgrad
  // (which divides by max v) must take smaller steps than plain Adam
  std::vector<Vec> grads = {{1.0, -2.0}, {0.1, 0.5}, {0.01, -0.1}};
  optim::AdamOptions o{0.1, {0.9, 0.5}, 1e-8, 0.0, true};
  Tensor w = start_leaf();
  optim::Adam opt({w}, o);
  check_with_given_grads(opt, w, grads, AdamRef{0.1, 0.9, 0.5, 1e-8, 0.0, true, false});

  Tensor w_plain = start_leaf();
  optim::Adam plain({w_plain}, optim::AdamOptions{0.1, {0.9, 0.5}});
  for (const auto& g : grads) {
    w_plain.set_grad(from_vector(g));
    plain.step();
  }
  REQUIRE(max_abs_diff(w, w_plain) > 1e-3);
  Vec v = opt.state(w).buffers.at("exp_avg_sq").to_vector<double>();
  Vec v_max = opt.state(w).buffers.at("max_exp_avg_sq").to_vector<double>();
  REQUIRE(v_max[0] > v[0]);
}

TEST_CASE("AdamW decays the weights before the Adam step, default weight_decay 1e-2", "[optim]") {
  SECTION("defaults") {
    Tensor w = start_leaf();
    optim::AdamW opt({w}, optim::AdamWOptions{0.1});
    REQUIRE(opt.param_groups()[0].option("weight_decay") == 1e-2);
    check_against_reference(opt, w, AdamRef{0.1, 0.9, 0.999, 1e-8, 1e-2, false, true});
  }
  SECTION("large decay and amsgrad") {
    Tensor w = start_leaf();
    optim::AdamW opt({w}, optim::AdamWOptions{0.1, {0.7, 0.8}, 1e-8, 0.5, true});
    check_against_reference(opt, w, AdamRef{0.1, 0.7, 0.8, 1e-8, 0.5, true, true});
  }
  SECTION("differs from Adam's L2 decay") {
    Tensor a = start_leaf(), b = start_leaf();
    optim::Adam adam({a}, optim::AdamOptions{0.1, {0.9, 0.999}, 1e-8, 0.5});
    optim::AdamW adamw({b}, optim::AdamWOptions{0.1, {0.9, 0.999}, 1e-8, 0.5});
    for (int t = 0; t < 3; ++t) {
      for (auto* opt : std::vector<optim::Optimizer*>{&adam, &adamw}) opt->zero_grad();
      quadratic(a).backward();
      quadratic(b).backward();
      adam.step();
      adamw.step();
    }
    REQUIRE(max_abs_diff(a, b) > 1e-3);
  }
}

// ---- RMSprop ----

TEST_CASE("RMSprop follows its update rule: plain, centered, momentum", "[optim]") {
  struct Case { const char* name; optim::RMSpropOptions options; };
  std::vector<Case> cases = {
      {"defaults", {}},
      {"plain", {0.01, 0.9}},
      {"centered", {0.01, 0.9, 1e-8, 0.0, 0.0, true}},
      {"momentum", {0.01, 0.9, 1e-8, 0.0, 0.5}},
      {"centered + momentum + weight decay", {0.01, 0.8, 1e-6, 0.1, 0.7, true}},
  };
  for (const auto& c : cases) {
    INFO("RMSprop " << c.name);
    Tensor w = start_leaf();
    optim::RMSprop opt({w}, c.options);
    const auto& o = c.options;
    check_against_reference(opt, w, RmspropRef{o.lr, o.alpha, o.eps, o.weight_decay, o.momentum,
                                               o.centered});
  }
}

// ---- Adagrad ----

TEST_CASE("Adagrad follows its update rule with lr_decay", "[optim]") {
  struct Case { const char* name; optim::AdagradOptions options; };
  std::vector<Case> cases = {
      {"defaults", {}},
      {"lr_decay", {0.5, 0.3}},
      {"lr_decay + weight decay + initial accumulator", {0.5, 0.3, 0.1, 0.4, 1e-10}},
  };
  for (const auto& c : cases) {
    INFO("Adagrad " << c.name);
    Tensor w = start_leaf();
    optim::Adagrad opt({w}, c.options);
    const auto& o = c.options;
    AdagradRef ref{o.lr, o.lr_decay, o.weight_decay, o.eps, Vec(2, o.initial_accumulator_value)};
    check_against_reference(opt, w, ref);
  }
}

// ---- groups, skipping, zero_grad ----

TEST_CASE("param groups have their own lr and may override options", "[optim]") {
  // one coordinate per group: w0 with the defaults, w1 with its own lr and momentum
  Tensor w0 = from_vector(Vec{0.5}).requires_grad_();
  Tensor w1 = from_vector(Vec{0.25}).requires_grad_();
  optim::SGD opt({{{w0}}, {{w1}, 0.01, {{"momentum", 0.5}}}}, optim::SGDOptions{0.1, 0.9});
  REQUIRE(opt.param_groups().size() == 2);
  REQUIRE(opt.param_groups()[0].lr == 0.1);
  REQUIRE(opt.param_groups()[0].option("momentum") == 0.9);
  REQUIRE(opt.param_groups()[1].lr == 0.01);
  REQUIRE(opt.param_groups()[1].option("momentum") == 0.5);
  REQUIRE(opt.param_groups()[1].option("dampening") == 0.0);  // from the defaults

  SgdRef ref0{0.1, 0.9, 0, 0, false, Vec(1)}, ref1{0.01, 0.5, 0, 0, false, Vec(1)};
  Vec a = {0.5}, b = {0.25};
  for (int t = 1; t <= 3; ++t) {
    opt.zero_grad();
    (ops::square(w0 - 3.0) + 10.0 * ops::square(w1 + 1.0)).sum().backward();
    opt.step();
    ref0(a, {2 * (a[0] - 3)}, t);
    ref1(b, {20 * (b[0] + 1)}, t);
    REQUIRE(w0.to_vector<double>()[0] == Approx(a[0]).epsilon(1e-13));
    REQUIRE(w1.to_vector<double>()[0] == Approx(b[0]).epsilon(1e-13));
  }

  SECTION("add_param_group takes the defaults too") {
    Tensor w2 = from_vector(Vec{1.0}).requires_grad_();
    opt.add_param_group({{w2}});
    REQUIRE(opt.param_groups()[2].lr == 0.1);
    REQUIRE(opt.param_groups()[2].option("momentum") == 0.9);
  }
}

TEST_CASE("parameters without a gradient are skipped", "[optim]") {
  Tensor used = start_leaf();
  Tensor unused = from_vector(Vec{7.0, 8.0}).requires_grad_();
  optim::Adam opt({used, unused}, optim::AdamOptions{0.1});
  quadratic(used).backward();
  opt.step();
  REQUIRE(unused.to_vector<double>() == Vec{7.0, 8.0});
  REQUIRE_FALSE(opt.has_state(unused));
  REQUIRE(opt.has_state(used));
  REQUIRE(opt.state(used).step == 1);
  REQUIRE(max_abs_diff(used, from_vector(kStart)) > 0.05);
}

TEST_CASE("zero_grad sets grads to none or fills them with zeros in place", "[optim]") {
  Tensor w = start_leaf();
  optim::SGD opt({w}, {0.1});
  quadratic(w).backward();
  REQUIRE(w.grad().defined());

  SECTION("set_to_none (the default)") {
    opt.zero_grad();
    REQUIRE_FALSE(w.grad().defined());
    opt.step();  // nothing to do: no grad
    REQUIRE(w.to_vector<double>() == kStart);
  }
  SECTION("zeros, same memory") {
    Tensor before = w.grad();
    opt.zero_grad(false);
    REQUIRE(w.grad().defined());
    REQUIRE(w.grad().storage() == before.storage());
    REQUIRE(w.grad().to_vector<double>() == Vec{0.0, 0.0});
    quadratic(w).backward();
    REQUIRE(w.grad().to_vector<double>() == quadratic_grad(kStart));
  }
}

// ---- errors ----

TEST_CASE("bad hyper-parameters throw naming the optimizer and the value", "[optim]") {
  Tensor w = start_leaf();
  REQUIRE_THROWS_NOVA(optim::SGD({w}, {-0.1}), "SGD: invalid learning rate: -0.1");
  REQUIRE_THROWS_NOVA(optim::SGD({w}, optim::SGDOptions{}), "SGD: lr is required");
  REQUIRE_THROWS_NOVA(optim::SGD({w}, {0.1, -0.5}), "SGD: invalid momentum value: -0.5");
  REQUIRE_THROWS_NOVA(optim::SGD({w}, {0.1, 0.0, 0.0, 0.0, true}), "SGD: nesterov momentum requires");
  REQUIRE_THROWS_NOVA(optim::SGD({w}, {0.1, 0.9, 0.1, 0.0, true}), "dampening 0.1");
  REQUIRE_THROWS_NOVA(optim::SGD({w}, {0.1, 0.0, 0.0, -1.0}), "SGD: invalid weight_decay value: -1");
  REQUIRE_THROWS_NOVA(optim::Adam({w}, optim::AdamOptions{-1e-3}), "Adam: invalid learning rate: -0.001");
  REQUIRE_THROWS_NOVA(optim::Adam({w}, optim::AdamOptions{1e-3, {1.0, 0.999}}),
                      "Adam: invalid beta parameter at index 0: 1");
  REQUIRE_THROWS_NOVA(optim::Adam({w}, optim::AdamOptions{1e-3, {0.9, -0.1}}),
                      "Adam: invalid beta parameter at index 1: -0.1");
  REQUIRE_THROWS_NOVA(optim::AdamW({w}, optim::AdamWOptions{1e-3, {0.9, 0.999}, -1e-8}),
                      "AdamW: invalid epsilon value: -1e-08");
  REQUIRE_THROWS_NOVA(optim::RMSprop({w}, optim::RMSpropOptions{0.01, -0.5}),
                      "RMSprop: invalid alpha value: -0.5");
  REQUIRE_THROWS_NOVA(optim::RMSprop({w}, optim::RMSpropOptions{0.01, 0.99, 1e-8, 0.0, -0.9}),
                      "RMSprop: invalid momentum value: -0.9");
  REQUIRE_THROWS_NOVA(optim::Adagrad({w}, optim::AdagradOptions{0.01, -1.0}),
                      "Adagrad: invalid lr_decay value: -1");
  REQUIRE_THROWS_NOVA(optim::Adagrad({w}, optim::AdagradOptions{0.01, 0.0, 0.0, -0.5}),
                      "Adagrad: invalid initial_accumulator_value: -0.5");
}

TEST_CASE("bad parameter lists and group options throw", "[optim]") {
  Tensor w = start_leaf();
  REQUIRE_THROWS_NOVA(optim::Adam(std::vector<Tensor>{}), "Adam: got an empty parameter list");
  REQUIRE_THROWS_NOVA(optim::Adam({w, w}), "more than one place");
  REQUIRE_THROWS_NOVA(optim::Adam({w * 2.0}), "Adam: can't optimize a non-leaf tensor");
  REQUIRE_THROWS_NOVA(optim::Adam({arange(3)}), "Adam: can only optimize floating tensors");
  REQUIRE_THROWS_NOVA(optim::SGD({{{w}, 0.1, {{"momentun", 0.9}}}}, optim::SGDOptions{0.1}),
                      "SGD: unknown option 'momentun'");
  optim::SGD opt({w}, {0.1});
  REQUIRE_THROWS_NOVA(opt.add_param_group({{w}}), "more than one place");
  Tensor v = start_leaf();
  REQUIRE_THROWS_NOVA(opt.add_param_group({{v}, -1.0}), "SGD: invalid learning rate: -1");
  REQUIRE(opt.param_groups().size() == 1);  // a refused group is not added
}

// ---- convergence ----

TEST_CASE("a few hundred Adam steps drive the quadratic to its minimum", "[optim]") {
  Tensor w = from_vector(Vec{-2.0, 4.0}).requires_grad_();
  optim::Adam opt({w}, optim::AdamOptions{0.05});
  double first = quadratic(w).item();
  for (int t = 0; t < 600; ++t) {
    opt.zero_grad();
    quadratic(w).backward();
    opt.step();
  }
  Vec got = w.to_vector<double>();
  INFO("w = " << got[0] << ", " << got[1]);
  REQUIRE(std::abs(got[0] - 3.0) < 1e-3);
  REQUIRE(std::abs(got[1] + 1.0) < 1e-3);
  REQUIRE(quadratic(w).item() < 1e-6 * first);
}

// ---- the step ops directly ----

TEST_CASE("step ops check shapes, dtypes, contiguity and grad mode", "[optim]") {
  Tensor p = zeros({2, 3}, kFloat64), g = ones({2, 3}, kFloat64), buf = zeros({2, 3}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::sgd_step(p, ones({3, 2}, kFloat64), buf, 0.1, 0.9, 0, 0, false, true),
                      "sgd_step: grad has shape [3, 2], param has shape [2, 3]");
  REQUIRE_THROWS_NOVA(ops::sgd_step(p, ones({2, 3}), buf, 0.1, 0, 0, 0, false, true),
                      "sgd_step: grad is float32, param is float64");
  REQUIRE_THROWS_NOVA(ops::sgd_step(p, g, Tensor(), 0.1, 0.9, 0, 0, false, true),
                      "sgd_step: momentum_buffer is undefined");
  Tensor pt = zeros({3, 2}, kFloat64).t();
  REQUIRE_THROWS_NOVA(ops::sgd_step(pt, g, buf, 0.1, 0, 0, 0, false, true),
                      "sgd_step: param must be contiguous");
  REQUIRE_THROWS_NOVA(ops::adam_step(p, g, buf, zeros({2, 3}, kFloat64), Tensor(), 0, 0.1, 0.9,
                                     0.999, 1e-8, 0, false, false),
                      "adam_step: step counts from 1, got 0");
  REQUIRE_THROWS_NOVA(ops::adam_step(p, g, buf, zeros({2}, kFloat64), Tensor(), 1, 0.1, 0.9,
                                     0.999, 1e-8, 0, false, false),
                      "adam_step: exp_avg_sq has shape [2]");
  REQUIRE_THROWS_NOVA(ops::adam_step(p, g, buf, buf, Tensor(), 1, 0.1, 0.9, 0.999, 1e-8, 0.1,
                                     true, true),
                      "adamw_step: max_exp_avg_sq is undefined");
  REQUIRE_THROWS_NOVA(ops::rmsprop_step(p, g, buf, Tensor(), Tensor(), 0.1, 0.9, 1e-8, 0, 0, true),
                      "rmsprop_step: grad_avg is undefined");
  REQUIRE_THROWS_NOVA(ops::adagrad_step(arange(6).reshape({2, 3}), g, buf, 1, 0.1, 0, 0, 1e-10),
                      "adagrad_step: expected a floating tensor");
  Tensor leaf_p = zeros({2, 3}, kFloat64).requires_grad_();
  REQUIRE_THROWS_NOVA(ops::sgd_step(leaf_p, g, buf, 0.1, 0, 0, 0, false, true),
                      "wrap the step in NoGradGuard");
  NoGradGuard no_grad;
  ops::sgd_step(leaf_p, g, buf, 0.1, 0, 0, 0, false, true);
  REQUIRE(leaf_p.to_vector<double>() == Vec(6, -0.1));
}

TEST_CASE("step ops agree in float32 and float64 and on large (threaded) tensors", "[optim]") {
  // 100000 elements is above the kernels' parallel grain
  const int64_t n = 100000;
  Tensor p64 = uniform({n}, -1, 1, kFloat64), g64 = uniform({n}, -1, 1, kFloat64);
  Tensor p32 = p64.to(kFloat32), g32 = g64.to(kFloat32);
  Tensor m64 = zeros({n}, kFloat64), v64 = zeros({n}, kFloat64);
  Tensor m32 = zeros({n}), v32 = zeros({n});
  Vec p_ref = p64.to_vector<double>(), g = g64.to_vector<double>();
  AdamRef ref{1e-2, 0.9, 0.999, 1e-8, 0.1, false, true, Vec(n), Vec(n), Vec(n)};
  for (int t = 1; t <= 3; ++t) {
    ops::adam_step(p64, g64, m64, v64, Tensor(), t, 1e-2, 0.9, 0.999, 1e-8, 0.1, true, false);
    ops::adam_step(p32, g32, m32, v32, Tensor(), t, 1e-2, 0.9, 0.999, 1e-8, 0.1, true, false);
    ref(p_ref, g, t);
  }
  REQUIRE(max_abs_diff(p64, from_vector(p_ref)) < 1e-14);
  REQUIRE(max_abs_diff(p32.to(kFloat64), p64) < 1e-6);
}

// ---- clipping ----

TEST_CASE("clip_grad_norm_ returns the total norm and scales grads above max_norm", "[optim][clip]") {
  Tensor a = zeros({2}, kFloat64).requires_grad_(), b = zeros({1}, kFloat64).requires_grad_();
  Tensor no_grad = zeros({3}, kFloat64).requires_grad_();
  auto set = [&] {
    a.set_grad(from_vector(Vec{3.0, -4.0}));
    b.set_grad(from_vector(Vec{12.0}));
  };
  SECTION("2-norm, clipped") {
    set();
    double total = optim::clip_grad_norm_({a, b, no_grad}, 1.0);
    REQUIRE(total == Approx(13.0));  // sqrt(9 + 16 + 144)
    const double f = 1.0 / (13.0 + 1e-6);
    REQUIRE(a.grad().to_vector<double>()[0] == Approx(3.0 * f).epsilon(1e-14));
    REQUIRE(a.grad().to_vector<double>()[1] == Approx(-4.0 * f).epsilon(1e-14));
    REQUIRE(b.grad().to_vector<double>()[0] == Approx(12.0 * f).epsilon(1e-14));
    REQUIRE_FALSE(no_grad.grad().defined());
  }
  SECTION("below max_norm: unchanged") {
    set();
    REQUIRE(optim::clip_grad_norm_({a, b}, 20.0) == Approx(13.0));
    REQUIRE(a.grad().to_vector<double>() == Vec{3.0, -4.0});
  }
  SECTION("1-norm and inf-norm") {
    set();
    REQUIRE(optim::clip_grad_norm_({a, b}, 100.0, 1.0) == Approx(19.0));
    double total = optim::clip_grad_norm_({a, b}, 6.0, INFINITY);
    REQUIRE(total == 12.0);
    REQUIRE(b.grad().to_vector<double>()[0] == Approx(12.0 * 6.0 / (12.0 + 1e-6)));
    REQUIRE(a.grad().to_vector<double>()[1] == Approx(-4.0 * 6.0 / (12.0 + 1e-6)));
  }
  SECTION("3-norm") {
    set();
    double expected = std::pow(27.0 + 64.0 + 1728.0, 1.0 / 3);
    REQUIRE(optim::clip_grad_norm_({a, b}, 100.0, 3.0) == Approx(expected).epsilon(1e-14));
  }
  SECTION("non-finite totals throw on request") {
    a.set_grad(from_vector(Vec{NAN, 1.0}));
    REQUIRE_THROWS_NOVA(optim::clip_grad_norm_({a}, 1.0, 2.0, true), "clip_grad_norm_: the total norm");
    REQUIRE(std::isnan(optim::clip_grad_norm_({a}, 1.0, INFINITY)));
  }
  REQUIRE_THROWS_NOVA(optim::clip_grad_norm_({a}, 1.0, 0.0), "clip_grad_norm_: norm_type must be > 0");
}

TEST_CASE("global_norm of order infinity is exactly max |x|, and NaN when any element is", "[optim][clip]") {
  // the contiguous rows go through an integer max of the bits: check it
  // against the plain max at lengths around the vector width, and strided
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t n : {1, 7, 8, 9, 33, 1000}) {
      Tensor t = randn({n, 3}, dtype) * 100.0;
      for (const Tensor& x : {t, t.t()}) {
        INFO(dtype_name(dtype) << " n " << n << (x.is_contiguous() ? " contiguous" : " strided"));
        double want = 0;
        for (double v : x.to(kFloat64).to_vector<double>()) want = std::max(want, std::abs(v));
        REQUIRE(ops::global_norm({x}, INFINITY) == want);
      }
      std::vector<double> v = t.to(kFloat64).to_vector<double>();
      for (double bad : {double(NAN), double(INFINITY), -double(INFINITY)}) {
        std::vector<double> w = v;
        w.back() = bad;
        Tensor x = from_vector(w, {n, 3}, dtype, kCPU);
        INFO(dtype_name(dtype) << " n " << n << " last " << bad);
        const double norm = ops::global_norm({x}, INFINITY);
        if (std::isnan(bad)) REQUIRE(std::isnan(norm));
        else REQUIRE(norm == INFINITY);
      }
    }
    REQUIRE(ops::global_norm({from_vector(Vec{-0.0, 0.0, -0.0}, {3}, dtype, kCPU)}, INFINITY) == 0.0);
    REQUIRE(ops::global_norm({from_vector(Vec{-1e-40, 0.0}, {2}, dtype, kCPU)}, INFINITY) ==
            std::abs(from_vector(Vec{-1e-40}, {1}, dtype, kCPU).to(kFloat64).item()));  // subnormal in float32
  }
}

TEST_CASE("clip_grad_value_ clamps every gradient value", "[optim][clip]") {
  Tensor a = zeros({2, 2}, kFloat64).requires_grad_();
  a.set_grad(from_vector(Vec{-3.0, 0.5, 2.0, -0.25}, {2, 2}));
  optim::clip_grad_value_({a}, 1.0);
  REQUIRE(a.grad().to_vector<double>() == Vec{-1.0, 0.5, 1.0, -0.25});
  REQUIRE_THROWS_NOVA(optim::clip_grad_value_({a}, -1.0), "clip_grad_value_: clip_value must be >= 0");
}

// ---- FlatParameters ----

namespace {
/// A small two-parameter model: loss = sum(tanh(x W) * c) + sum(b^2)
Tensor flat_model_loss(const Tensor& W, const Tensor& b) {
  Tensor x = from_vector(Vec{0.5, -1.0, 2.0}, {1, 3});
  Tensor c = from_vector(Vec{1.0, -2.0}, {1, 2});
  return ops::sum(ops::tanh(ops::matmul(x, W) + b) * c) + ops::sum(ops::square(b));
}
}  // namespace

TEST_CASE("FlatParameters puts params and grads in one buffer each", "[optim][flat]") {
  Tensor W = uniform({3, 2}, -1, 1, kFloat64).requires_grad_();
  Tensor b = uniform({2}, -1, 1, kFloat64).requires_grad_();
  // reference gradients without flattening
  Tensor W_ref = W.detach().clone().requires_grad_(), b_ref = b.detach().clone().requires_grad_();
  flat_model_loss(W_ref, b_ref).backward();
  Vec values = W.to_vector<double>();
  for (double v : b.to_vector<double>()) values.push_back(v);

  optim::FlatParameters flat({W, b});
  REQUIRE(flat.numel() == 8);
  REQUIRE(flat.offsets() == std::vector<int64_t>{0, 6});
  REQUIRE(flat.data().to_vector<double>() == values);
  REQUIRE(W.storage() == flat.data().storage());
  REQUIRE(b.storage() == flat.data().storage());
  REQUIRE(W.shape() == Shape{3, 2});
  REQUIRE(W.is_contiguous());
  REQUIRE(flat.grad().to_vector<double>() == Vec(8, 0.0));

  SECTION("backward fills grad() with the same values as without flattening") {
    flat_model_loss(W, b).backward();
    REQUIRE(W.grad().storage() == flat.grad().storage());
    REQUIRE(max_abs_diff(flat.grad().narrow(0, 0, 6).view({3, 2}), W_ref.grad()) < 1e-15);
    REQUIRE(max_abs_diff(flat.grad().narrow(0, 6, 2), b_ref.grad()) < 1e-15);
    // a second backward accumulates into the same buffer
    flat_model_loss(W, b).backward();
    REQUIRE(max_abs_diff(flat.grad().narrow(0, 6, 2), b_ref.grad() * 2.0) < 1e-15);
  }
  SECTION("an optimizer step on the params changes data()") {
    optim::SGD opt({W, b}, {0.5});
    flat_model_loss(W, b).backward();
    opt.step();
    Vec expected = values, grads = W_ref.grad().to_vector<double>();
    for (double v : b_ref.grad().to_vector<double>()) grads.push_back(v);
    for (size_t i = 0; i < expected.size(); ++i) expected[i] -= 0.5 * grads[i];
    REQUIRE(max_abs_diff(flat.data(), from_vector(expected)) < 1e-15);
  }
  SECTION("one fused step over data() equals per-parameter steps") {
    Tensor W2 = W.detach().clone().requires_grad_(), b2 = b.detach().clone().requires_grad_();
    optim::Adam fused({flat.data()}, optim::AdamOptions{0.1});
    optim::Adam separate({W2, b2}, optim::AdamOptions{0.1});
    for (int t = 0; t < 3; ++t) {
      flat.zero_grad();
      separate.zero_grad();
      flat_model_loss(W, b).backward();
      flat_model_loss(W2, b2).backward();
      fused.step();
      separate.step();
    }
    REQUIRE(max_abs_diff(W, W2) < 1e-15);
    REQUIRE(max_abs_diff(b, b2) < 1e-15);
  }
  SECTION("zero_grad keeps the views, and re-attaches replaced ones") {
    flat_model_loss(W, b).backward();
    flat.zero_grad();
    REQUIRE(flat.grad().to_vector<double>() == Vec(8, 0.0));
    REQUIRE(W.grad().storage() == flat.grad().storage());
    optim::SGD opt({W, b}, {0.1});
    opt.zero_grad();  // set_to_none drops the views ...
    REQUIRE_FALSE(W.grad().defined());
    flat.zero_grad();  // ... and flat.zero_grad brings them back
    REQUIRE(W.grad().storage() == flat.grad().storage());
    REQUIRE(flat.data().grad().storage() == flat.grad().storage());
    flat_model_loss(W, b).backward();
    REQUIRE(max_abs_diff(flat.grad().narrow(0, 6, 2), b_ref.grad()) < 1e-15);
  }
}

TEST_CASE("FlatParameters refuses mixed dtypes, non-leaves and repeats", "[optim][flat]") {
  Tensor a = zeros({2}, kFloat64).requires_grad_(), b = zeros({2}).requires_grad_();
  REQUIRE_THROWS_NOVA(optim::FlatParameters({a, b}), "FlatParameters: all parameters need one dtype");
  REQUIRE_THROWS_NOVA(optim::FlatParameters({a, a}), "FlatParameters: parameter 1 (shape [2]) is listed twice");
  REQUIRE_THROWS_NOVA(optim::FlatParameters({a * 2.0}), "FlatParameters: parameter 0 (shape [2]) is not a leaf");
  REQUIRE_THROWS_NOVA(optim::FlatParameters({}), "FlatParameters: got an empty parameter list");
}

TEST_CASE("backward_into sets the gradients of the given parameters only, replacing them", "[optim]") {
  Tensor a = uniform({3}, -1, 1, kFloat64).requires_grad_();
  Tensor b = uniform({3}, -1, 1, kFloat64).requires_grad_();
  Tensor unused = uniform({2}, -1, 1, kFloat64).requires_grad_();
  a.set_grad(full({3}, 100.0, kFloat64));  // replaced, not accumulated into
  // loss = sum(a * b): d/da = b, d/db = a; only a is asked for
  optim::backward_into(ops::sum(a * b), {a, unused});
  REQUIRE(a.grad().to_vector<double>() == b.detach().to_vector<double>());
  REQUIRE_FALSE(unused.grad().defined());  // not reached: none
  REQUIRE_FALSE(b.grad().defined());       // not asked for: never computed
  REQUIRE_THROWS_NOVA(optim::backward_into(a * 2.0, {a}), "backward_into: loss must be a scalar");
}
