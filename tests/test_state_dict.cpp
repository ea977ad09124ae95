// tests/test_state_dict.cpp: the state_dict of everything a trainer carries
// between steps (core/state_dict.h, Generator, the optimizers, the thesis
// optimizers, the schedulers). Each round trip goes through a safetensors
// file and claims bit-identical continuation: k steps, save, load into
// objects built afresh, m more steps equals k + m steps straight. Mismatched
// states are refused by key and leave the target unchanged.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/random.h"
#include "nn/checkpoint.h"
#include "optim/adaptive_weighting.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "optim/self_correcting.h"
#include "tests/test_util.h"

using namespace nova;
using nova::test::require_identical;
using nova::test::TempDir;

namespace {

/// A state written to a safetensors file and read back: every round trip
/// below goes through the bytes a checkpoint holds.
StateDict through_file(const StateDict& state) {
  TempDir dir;
  nn::save_checkpoint(dir.file("state.safetensors"), state);
  return nn::load_checkpoint(dir.file("state.safetensors"));
}

/// Two parameters (a matrix and a vector), drawn from `seed`.
std::vector<Tensor> make_params(uint64_t seed) {
  Generator g(seed);
  return {randn({3, 4}, kFloat32, kCPU, &g).requires_grad_(), randn({4}, kFloat32, kCPU, &g).requires_grad_()};
}

/// The gradient of step t for parameter i: the same numbers in every run.
Tensor grad_for(int64_t t, size_t i, const Tensor& p) {
  Generator g(uint64_t(1000 * t) + i);
  return randn(p.shape(), p.dtype(), kCPU, &g);
}

/// Steps first .. last of the optimizer on the fixed gradients.
void run_steps(optim::Optimizer& opt, const std::vector<Tensor>& params, int64_t first, int64_t last) {
  for (int64_t t = first; t <= last; ++t) {
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grad_for(t, i, params[i]));
    opt.step();
  }
}

StateDict params_state(const std::vector<Tensor>& params) {
  StateDict out;
  for (size_t i = 0; i < params.size(); ++i) out.insert(std::to_string(i), params[i].detach());
  return out;
}

/// Copies the values of `state` (as params_state wrote them) into params.
void load_params(const std::vector<Tensor>& params, const StateDict& state) {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor p = params[i].detach();
    p.copy_(state.at(std::to_string(i)));
  }
}

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

struct OptimizerCase {
  const char* name;
  MakeOptimizer make;
};

std::vector<OptimizerCase> optimizer_cases() {
  using namespace optim;
  return {
      {"SGD momentum, two groups", [](std::vector<Tensor> p) -> std::unique_ptr<Optimizer> {
         return std::make_unique<SGD>(std::vector<ParamGroup>{{{p[0]}}, {{p[1]}, 0.01, {{"momentum", 0.5}}}},
                                      SGDOptions{0.1, 0.9});
       }},
      {"SGD nesterov", [](std::vector<Tensor> p) -> std::unique_ptr<Optimizer> {
         return std::make_unique<SGD>(p, SGDOptions{0.1, 0.9, 0.0, 1e-3, true});
       }},
      {"Adam amsgrad", [](std::vector<Tensor> p) -> std::unique_ptr<Optimizer> {
         return std::make_unique<Adam>(p, AdamOptions{1e-2, {0.5, 0.999}, 1e-8, 0.0, true});
       }},
      {"AdamW", [](std::vector<Tensor> p) -> std::unique_ptr<Optimizer> {
         return std::make_unique<AdamW>(p, AdamWOptions{1e-2});
       }},
      {"RMSprop centered with momentum", [](std::vector<Tensor> p) -> std::unique_ptr<Optimizer> {
         return std::make_unique<RMSprop>(p, RMSpropOptions{1e-2, 0.99, 1e-8, 0.0, 0.9, true});
       }},
      {"Adagrad", [](std::vector<Tensor> p) -> std::unique_ptr<Optimizer> {
         return std::make_unique<Adagrad>(p, AdagradOptions{1e-1, 1e-3, 0.0, 0.1});
       }},
  };
}

}  // namespace

// ---- core/state_dict.h ----

TEST_CASE("integers in a state survive a file bit for bit, beyond 2^53 and bit-cast from uint64",
          "[state_dict]") {
  const int64_t big = (int64_t(1) << 62) + 1;  // not a double
  const uint64_t seed = 0xFEDCBA9876543210ULL;  // above 2^63
  StateDict s = through_file({{"big", int64_scalar(big)}, {"seed", int64_scalar(int64_t(seed))},
                              {"lr", float64_scalar(0.1)}});
  REQUIRE(read_int64(s, "big", "test") == big);
  REQUIRE(uint64_t(read_int64(s, "seed", "test")) == seed);
  REQUIRE(read_float64(s, "lr", "test") == 0.1);
  REQUIRE_THROWS_NOVA(read_int64(s, "lr", "test"), "test: 'lr' must be a 0-d int64 tensor, got float64 []");
  REQUIRE_THROWS_NOVA(read_int64(s, "none", "test"), "test: missing key 'none'");
  REQUIRE_THROWS_NOVA(check_known_keys(s, {"big", "lr"}, "test"), "test: unexpected keys 'seed'");
}

TEST_CASE("sub_state takes back what insert_prefixed nested", "[state_dict]") {
  StateDict outer;
  insert_prefixed(&outer, "opt", {{"a", int64_scalar(1)}, {"b.c", int64_scalar(2)}});
  outer.insert("optimizer.x", int64_scalar(3));  // shares the letters, not the prefix
  REQUIRE(outer.keys() == std::vector<std::string>{"opt.a", "opt.b.c", "optimizer.x"});
  REQUIRE(sub_state(outer, "opt").keys() == std::vector<std::string>{"a", "b.c"});
}

// ---- Generator ----

TEST_CASE("a generator restored from its state draws the numbers the original would have", "[state_dict][random]") {
  Generator g(0xFEDCBA9876543210ULL);
  g.set_offset((uint64_t(1) << 60) + 3);
  randn({7}, kFloat32, kCPU, &g);  // an odd count: the next draw still starts on a fresh block
  StateDict saved = through_file(g.state_dict());
  Tensor expected = randn({5, 3}, kFloat64, kCPU, &g);
  Tensor expected_u = rand({9}, kFloat32, kCPU, &g);

  Generator h(1);
  h.load_state_dict(saved);
  REQUIRE(h.seed() == 0xFEDCBA9876543210ULL);
  require_identical({{"n", expected}, {"u", expected_u}},
                    {{"n", randn({5, 3}, kFloat64, kCPU, &h)}, {"u", rand({9}, kFloat32, kCPU, &h)}});
}

TEST_CASE("a generator refuses a state with a missing, extra or mistyped key, and keeps its own",
          "[state_dict][random]") {
  Generator g(5);
  g.set_offset(17);
  REQUIRE_THROWS_NOVA(g.load_state_dict({{"seed", int64_scalar(1)}}),
                      "Generator::load_state_dict: missing key 'offset'");
  REQUIRE_THROWS_NOVA(g.load_state_dict({{"seed", int64_scalar(1)}, {"offset", float64_scalar(2)}}),
                      "'offset' must be a 0-d int64 tensor, got float64 []");
  REQUIRE_THROWS_NOVA(
      g.load_state_dict({{"seed", int64_scalar(1)}, {"offset", int64_scalar(2)}, {"cached", int64_scalar(0)}}),
      "unexpected keys 'cached'");
  REQUIRE(g.seed() == 5);
  REQUIRE(g.offset() == 17);
}

// ---- optimizers ----

TEST_CASE("an optimizer resumed from its state continues bit for bit", "[state_dict][optim]") {
  for (const OptimizerCase& c : optimizer_cases()) {
    INFO(c.name);
    // straight: 6 steps
    std::vector<Tensor> straight = make_params(7);
    auto opt_straight = c.make(straight);
    run_steps(*opt_straight, straight, 1, 6);

    // stopped after 3, saved, loaded into fresh tensors and a fresh optimizer
    std::vector<Tensor> first = make_params(7);
    auto opt_first = c.make(first);
    run_steps(*opt_first, first, 1, 3);
    StateDict opt_file = through_file(opt_first->state_dict());
    StateDict params_file = through_file(params_state(first));

    std::vector<Tensor> resumed = make_params(99);  // other values: the file must overwrite them
    auto opt_resumed = c.make(resumed);
    load_params(resumed, params_file);
    opt_resumed->load_state_dict(opt_file);
    require_identical(opt_resumed->state_dict(), opt_first->state_dict());
    run_steps(*opt_resumed, resumed, 4, 6);

    require_identical(params_state(resumed), params_state(straight));
    require_identical(opt_resumed->state_dict(), opt_straight->state_dict());
  }
}

TEST_CASE("an optimizer's state restores each group's lr and options", "[state_dict][optim]") {
  std::vector<Tensor> p = make_params(1);
  optim::SGD a(std::vector<optim::ParamGroup>{{{p[0]}}, {{p[1]}, 0.01}}, optim::SGDOptions{0.1, 0.9});
  a.param_groups()[1].lr = 0.005;  // as a scheduler would
  a.param_groups()[0].options["momentum"] = 0.8;
  std::vector<Tensor> q = make_params(1);
  optim::SGD b(std::vector<optim::ParamGroup>{{{q[0]}}, {{q[1]}, 0.01}}, optim::SGDOptions{0.1, 0.9});
  b.load_state_dict(through_file(a.state_dict()));
  REQUIRE(b.param_groups()[1].lr == 0.005);
  REQUIRE(b.param_groups()[0].option("momentum") == 0.8);
  REQUIRE(!b.has_state(q[0]));  // no step yet: no state
}

TEST_CASE("an optimizer refuses a state that does not fit, naming the key, and keeps its own",
          "[state_dict][optim]") {
  std::vector<Tensor> p = make_params(3);
  optim::Adam adam(p, optim::AdamOptions{1e-2});
  run_steps(adam, p, 1, 2);
  const StateDict before = through_file(adam.state_dict());
  auto unchanged = [&] { require_identical(through_file(adam.state_dict()), before); };

  SECTION("a parameter of another shape") {
    Generator g(1);
    std::vector<Tensor> other = {randn({4, 3}, kFloat32, kCPU, &g).requires_grad_(),
                                 p[1].detach().clone().requires_grad_()};
    optim::Adam o(other, optim::AdamOptions{1e-2});
    run_steps(o, other, 1, 1);
    REQUIRE_THROWS_NOVA(adam.load_state_dict(o.state_dict()),
                        "Adam::load_state_dict: 'state.0.exp_avg': the state has float32 [4, 3], parameter 0 "
                        "is float32 [3, 4]");
  }
  SECTION("another optimizer's options") {
    optim::SGD sgd(make_params(3), optim::SGDOptions{0.1, 0.9});
    REQUIRE_THROWS_NOVA(adam.load_state_dict(sgd.state_dict()),
                        "Adam::load_state_dict: missing key 'param_groups.0.amsgrad'");
  }
  SECTION("more param groups") {
    std::vector<Tensor> q = make_params(3);
    optim::Adam two(std::vector<optim::ParamGroup>{{{q[0]}}, {{q[1]}}}, optim::AdamOptions{1e-2});
    REQUIRE_THROWS_NOVA(adam.load_state_dict(two.state_dict()), "Adam::load_state_dict: 'param_groups.0.params' "
                                                                "must have 2 values, got [1]");
  }
  SECTION("an option out of range") {
    StateDict bad;
    for (const auto& [key, t] : before) bad.insert(key, key == "param_groups.0.beta1" ? float64_scalar(1.5) : t);
    REQUIRE_THROWS_NOVA(adam.load_state_dict(bad), "param group 0 of the state: Adam: invalid beta parameter");
  }
  SECTION("a buffer without a step, or an unknown key") {
    StateDict no_step, extra;
    for (const auto& [key, t] : before)
      if (key != "state.1.step") no_step.insert(key, t);
    REQUIRE_THROWS_NOVA(adam.load_state_dict(no_step), "the state of parameter 1 has no 'state.1.step'");
    for (const auto& [key, t] : before) extra.insert(key, t);
    extra.insert("momentum", int64_scalar(0));
    REQUIRE_THROWS_NOVA(adam.load_state_dict(extra), "Adam::load_state_dict: unexpected key 'momentum'");
  }
  unchanged();
}

// ---- the thesis optimizers ----

TEST_CASE("AdaptiveWeighting resumed from its state continues bit for bit, case counts included",
          "[state_dict][aw]") {
  // g_r, g_f and the scores of step t: the scores walk through the case table
  auto step = [](optim::AdaptiveWeighting& aw, int64_t t) {
    Generator g{uint64_t(t)};
    Tensor g_r = randn({16}, kFloat32, kCPU, &g), g_f = randn({16}, kFloat32, kCPU, &g);
    const double s[][2] = {{0.3, 0.6}, {0.9, 0.2}, {0.6, 0.6}, {0.2, 0.1}, {0.8, 0.85}};
    aw.step(g_r, g_f, s[t % 5][0], s[t % 5][1]);
  };
  auto make = [](const std::vector<Tensor>& p) {
    return std::make_unique<optim::AdaptiveWeighting>(p, optim::make_aw_inner_adam(p, 1e-2));
  };
  std::vector<Tensor> straight = make_params(2), first = make_params(2), resumed = make_params(50);
  auto aw_straight = make(straight), aw_first = make(first), aw_resumed = make(resumed);
  for (int64_t t = 1; t <= 10; ++t) step(*aw_straight, t);
  for (int64_t t = 1; t <= 5; ++t) step(*aw_first, t);
  load_params(resumed, through_file(params_state(first)));
  aw_resumed->load_state_dict(through_file(aw_first->state_dict()));
  REQUIRE(aw_resumed->steps() == 5);
  for (int64_t t = 6; t <= 10; ++t) step(*aw_resumed, t);

  require_identical(params_state(resumed), params_state(straight));
  require_identical(aw_resumed->state_dict(), aw_straight->state_dict());
  REQUIRE(aw_resumed->case_counts() == aw_straight->case_counts());
  REQUIRE(aw_straight->case_counts()[5] > 0);
  REQUIRE(aw_straight->case_counts()[5] < 10);  // more than one case was taken
}

TEST_CASE("AdaptiveWeighting refuses a state whose inner optimizer does not fit", "[state_dict][aw]") {
  std::vector<Tensor> p = make_params(2);
  optim::AdaptiveWeighting aw(p, optim::make_aw_inner_adam(p, 1e-2));
  std::vector<Tensor> q = make_params(2);
  optim::AdaptiveWeighting sgd_inner(q, std::make_unique<optim::SGD>(q, optim::SGDOptions{0.1}));
  REQUIRE_THROWS_NOVA(aw.load_state_dict(sgd_inner.state_dict()),
                      "AdaptiveWeighting::load_state_dict: inner optimizer: Adam::load_state_dict: missing key");
  REQUIRE_THROWS_NOVA(aw.load_state_dict({{"steps", int64_scalar(1)}}),
                      "AdaptiveWeighting::load_state_dict: missing key 'case_counts'");
}

TEST_CASE("SelfCorrecting resumed from its state continues bit for bit, counts included", "[state_dict][sc]") {
  auto step = [](optim::SelfCorrecting& sc, int64_t t) {
    Generator g{uint64_t(t)};
    Tensor c = randn({16}, kFloat32, kCPU, &g), e = randn({16}, kFloat32, kCPU, &g),
           n = randn({16}, kFloat32, kCPU, &g);
    sc.step(c, e, t % 2 ? n : Tensor());  // SC3 and SC2 steps
  };
  auto make = [](const std::vector<Tensor>& p) {
    return std::make_unique<optim::SelfCorrecting>(p, optim::make_aw_inner_adam(p, 1e-2));
  };
  std::vector<Tensor> straight = make_params(4), first = make_params(4), resumed = make_params(40);
  auto sc_straight = make(straight), sc_first = make(first), sc_resumed = make(resumed);
  for (int64_t t = 1; t <= 8; ++t) step(*sc_straight, t);
  for (int64_t t = 1; t <= 4; ++t) step(*sc_first, t);
  load_params(resumed, through_file(params_state(first)));
  sc_resumed->load_state_dict(through_file(sc_first->state_dict()));
  for (int64_t t = 5; t <= 8; ++t) step(*sc_resumed, t);

  require_identical(params_state(resumed), params_state(straight));
  require_identical(sc_resumed->state_dict(), sc_straight->state_dict());
  REQUIRE(sc_resumed->counts().steps == 8);
  REQUIRE(sc_resumed->counts().sc3_steps == 4);
}

// ---- schedulers ----

TEST_CASE("an epoch scheduler resumed from its state sets the same rates", "[state_dict][lr_scheduler]") {
  std::vector<Tensor> p = make_params(1), q = make_params(1), r = make_params(1);
  optim::SGD a(p, optim::SGDOptions{1.0}), b(q, optim::SGDOptions{1.0}), c(r, optim::SGDOptions{1.0});
  optim::StepLR straight(a, 2, 0.5), first(b, 2, 0.5);
  for (int i = 0; i < 5; ++i) straight.step();
  for (int i = 0; i < 3; ++i) first.step();
  StateDict opt_file = through_file(b.state_dict()), sched_file = through_file(first.state_dict());
  optim::StepLR resumed(c, 2, 0.5);
  c.load_state_dict(opt_file);
  resumed.load_state_dict(sched_file);
  REQUIRE(resumed.last_epoch() == 3);
  for (int i = 0; i < 2; ++i) resumed.step();
  REQUIRE(resumed.last_epoch() == straight.last_epoch());
  REQUIRE(resumed.get_last_lr() == straight.get_last_lr());
  REQUIRE(c.param_groups()[0].lr == a.param_groups()[0].lr);

  optim::SGD two(std::vector<optim::ParamGroup>{{{make_params(1)[0]}}, {{make_params(1)[1]}}}, optim::SGDOptions{1.0});
  optim::StepLR other(two, 2, 0.5);
  REQUIRE_THROWS_NOVA(other.load_state_dict(sched_file),
                      "LRScheduler::load_state_dict: 'base_lrs' must have 2 values, got [1]");
}

TEST_CASE("ReduceLROnPlateau resumed from its state reduces at the same epochs", "[state_dict][lr_scheduler]") {
  const std::vector<double> metrics = {1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 0.99, 0.5, 0.6, 0.7, 0.8};
  auto make = [](optim::Optimizer& o) {
    return optim::ReduceLROnPlateau(o, optim::ReduceLROnPlateau::Mode::Min, 0.5, 1, 1e-4,
                                    optim::ReduceLROnPlateau::ThresholdMode::Rel, 1);
  };
  std::vector<Tensor> p = make_params(1), q = make_params(1), r = make_params(1);
  optim::SGD a(p, optim::SGDOptions{1.0}), b(q, optim::SGDOptions{1.0}), c(r, optim::SGDOptions{1.0});
  auto straight = make(a), first = make(b), resumed = make(c);
  for (double m : metrics) straight.step(m);
  for (size_t i = 0; i < 5; ++i) first.step(metrics[i]);
  c.load_state_dict(through_file(b.state_dict()));
  resumed.load_state_dict(through_file(first.state_dict()));
  for (size_t i = 5; i < metrics.size(); ++i) resumed.step(metrics[i]);
  REQUIRE(resumed.get_last_lr() == straight.get_last_lr());
  REQUIRE(resumed.best() == straight.best());
  REQUIRE(resumed.num_bad_epochs() == straight.num_bad_epochs());
  REQUIRE(resumed.in_cooldown() == straight.in_cooldown());
  REQUIRE(resumed.last_epoch() == straight.last_epoch());
  REQUIRE(a.param_groups()[0].lr < 0.5);  // it did reduce
}
