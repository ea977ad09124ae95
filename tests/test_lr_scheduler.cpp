// tests/test_lr_scheduler.cpp: each scheduler against its documented
// sequence of learning rates, written out by hand for ~10 epochs (epoch 0 is
// the rate right after construction, as in PyTorch).
#include <vector>

#include "optim/lr_scheduler.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Vec = std::vector<double>;

/// The lr of group `group` at epochs 0, 1, ..., expected.size() - 1.
template <typename Scheduler>
void check_sequence(optim::Optimizer& opt, Scheduler& sched, const Vec& expected, size_t group = 0) {
  for (size_t e = 0; e < expected.size(); ++e) {
    if (e > 0) sched.step();
    INFO("epoch " << e);
    REQUIRE(sched.last_epoch() == int64_t(e));
    REQUIRE(opt.param_groups()[group].lr == Approx(expected[e]).epsilon(1e-12).margin(1e-15));
    REQUIRE(sched.get_last_lr()[group] == opt.param_groups()[group].lr);
  }
}

Tensor param() { return zeros({2}, kFloat64).requires_grad_(); }

}  // namespace

TEST_CASE("StepLR multiplies by gamma every step_size epochs", "[sched]") {
  Tensor a = param(), b = param();
  optim::SGD opt({{{a}}, {{b}, 1.0}}, optim::SGDOptions{0.1});
  optim::StepLR sched(opt, 3, 0.5);
  REQUIRE(sched.base_lrs() == Vec{0.1, 1.0});
  check_sequence(opt, sched, {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125});
  // the second group follows from its own base lr
  REQUIRE(opt.param_groups()[1].lr == Approx(0.125));
}

TEST_CASE("StepLR's default gamma is 0.1", "[sched]") {
  Tensor a = param();
  optim::SGD opt({a}, {1.0});
  optim::StepLR sched(opt, 2);
  check_sequence(opt, sched, {1.0, 1.0, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 1e-4, 1e-4, 1e-5});
  REQUIRE_THROWS_NOVA(optim::StepLR(opt, 0), "StepLR: step_size must be > 0, got 0");
}

TEST_CASE("MultiStepLR multiplies by gamma at each milestone", "[sched]") {
  Tensor a = param();
  optim::SGD opt({a}, {0.8});
  optim::MultiStepLR sched(opt, {5, 2, 8}, 0.5);  // any order
  check_sequence(opt, sched, {0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1});
}

TEST_CASE("MultiStepLR counts a repeated milestone twice", "[sched]") {
  Tensor a = param();
  optim::SGD opt({a}, {1.0});
  optim::MultiStepLR sched(opt, {3, 3}, 0.1);
  check_sequence(opt, sched, {1.0, 1.0, 1.0, 0.01, 0.01, 0.01});
}

TEST_CASE("LinearLR moves the factor linearly from start to end over total_iters", "[sched]") {
  SECTION("defaults: 1/3 -> 1 over 5 epochs") {
    Tensor a = param();
    optim::Adam opt({a}, optim::AdamOptions{0.3});
    optim::LinearLR sched(opt);
    // 0.3 * (1/3 + (2/3) e / 5)
    check_sequence(opt, sched, {0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.3, 0.3, 0.3, 0.3});
  }
  SECTION("linear decay to zero (the thesis's GAN trainers)") {
    Tensor a = param();
    optim::Adam opt({a}, optim::AdamOptions{2e-4});
    optim::LinearLR sched(opt, 1.0, 0.0, 4);
    check_sequence(opt, sched, {2e-4, 1.5e-4, 1e-4, 0.5e-4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0});
  }
  Tensor a = param();
  optim::SGD opt({a}, {0.1});
  REQUIRE_THROWS_NOVA(optim::LinearLR(opt, 0.0), "LinearLR: start_factor must be in (0, 1], got 0");
  REQUIRE_THROWS_NOVA(optim::LinearLR(opt, 0.5, 1.5), "LinearLR: end_factor must be in [0, 1], got 1.5");
  REQUIRE_THROWS_NOVA(optim::LinearLR(opt, 0.5, 1.0, 0), "LinearLR: total_iters must be > 0, got 0");
}

TEST_CASE("ExponentialLR multiplies by gamma every epoch", "[sched]") {
  Tensor a = param();
  optim::SGD opt({a}, {2.0});
  optim::ExponentialLR sched(opt, 0.5);
  check_sequence(opt, sched, {2.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125,
                              0.00390625});
}

TEST_CASE("ReduceLROnPlateau (min mode) waits patience epochs, cools down, stops at min_lr", "[sched]") {
  Tensor a = param();
  optim::SGD opt({a}, {1.0});
  using R = optim::ReduceLROnPlateau;
  R sched(opt, R::Mode::Min, 0.5, /*patience*/ 2, 1e-4, R::ThresholdMode::Rel, /*cooldown*/ 1,
          /*min_lr*/ 0.2);
  // epoch:    1   2  3  4  5   6   7   8   9    10   11   12   13  14  15  16  17
  Vec metric = {10, 9, 9, 9, 9,  9,  9,  9,  9,   9,   9,   9,   9,  9,  9,  9,  9};
  Vec lr =     {1,  1, 1, 1, .5, .5, .5, .5, .25, .25, .25, .25, .2, .2, .2, .2, .2};
  // epoch 5: the 3rd bad epoch (> patience 2) halves the lr; epoch 6 is the
  // cooldown epoch and does not count; epochs 7, 8, 9 are bad again;
  // epoch 13 would go to 0.125 but min_lr holds it at 0.2
  for (size_t e = 0; e < metric.size(); ++e) {
    sched.step(metric[e]);
    INFO("epoch " << e + 1);
    REQUIRE(opt.param_groups()[0].lr == Approx(lr[e]));
    REQUIRE(sched.get_last_lr()[0] == opt.param_groups()[0].lr);
  }
  REQUIRE(sched.best() == 9);
  REQUIRE(sched.last_epoch() == 17);
}

TEST_CASE("ReduceLROnPlateau's relative threshold ignores tiny improvements", "[sched]") {
  Tensor a = param();
  optim::SGD opt({a}, {1.0});
  using R = optim::ReduceLROnPlateau;
  R sched(opt, R::Mode::Min, 0.1, /*patience*/ 1);
  sched.step(1.0);
  sched.step(0.99995);  // better than 1 by less than 1e-4 relative: a bad epoch
  REQUIRE(sched.num_bad_epochs() == 1);
  REQUIRE(sched.best() == 1.0);
  sched.step(0.9);  // a real improvement resets the count
  REQUIRE(sched.num_bad_epochs() == 0);
  sched.step(0.9);
  sched.step(0.9);
  REQUIRE(opt.param_groups()[0].lr == Approx(0.1));
}

TEST_CASE("ReduceLROnPlateau (max mode, absolute threshold) and default patience 10", "[sched]") {
  using R = optim::ReduceLROnPlateau;
  SECTION("max mode") {
    Tensor a = param();
    optim::SGD opt({a}, {1.0});
    R sched(opt, R::Mode::Max, 0.1, /*patience*/ 1, /*threshold*/ 0.5, R::ThresholdMode::Abs);
    // improved only when above best + 0.5: 1, 2, 2.6, 3.2 improve; 2.4, 3.3, 3.4 do not
    Vec metric = {1, 2, 2.4, 2.6, 3.2, 3.3, 3.4, 3.5, 3.6};
    Vec lr = {1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.01};
    for (size_t e = 0; e < metric.size(); ++e) {
      sched.step(metric[e]);
      INFO("epoch " << e + 1);
      REQUIRE(opt.param_groups()[0].lr == Approx(lr[e]));
    }
  }
  SECTION("defaults: the 11th epoch without improvement lowers the lr tenfold") {
    Tensor a = param();
    optim::SGD opt({a}, {0.5});
    R sched(opt);
    for (int e = 1; e <= 11; ++e) sched.step(5.0);  // 1 improvement, then 10 bad epochs
    REQUIRE(opt.param_groups()[0].lr == 0.5);
    sched.step(5.0);
    REQUIRE(opt.param_groups()[0].lr == Approx(0.05));
  }
  SECTION("per-group min_lr and argument checks") {
    Tensor a = param(), b = param();
    optim::SGD opt({{{a}}, {{b}, 0.1}}, optim::SGDOptions{1.0});
    R sched(opt, R::Mode::Min, 0.1, 0, 1e-4, R::ThresholdMode::Rel, 0, Vec{0.5, 0.0});
    sched.step(1.0);
    sched.step(1.0);
    REQUIRE(sched.get_last_lr()[0] == 0.5);  // 0.1 would be below min_lr 0.5
    REQUIRE(sched.get_last_lr()[1] == Approx(0.01));
    REQUIRE_THROWS_NOVA(R(opt, R::Mode::Min, 1.5), "ReduceLROnPlateau: factor must be in [0, 1), got 1.5");
    REQUIRE_THROWS_NOVA(R(opt, R::Mode::Min, 0.1, 0, 1e-4, R::ThresholdMode::Rel, 0, Vec{0.0}),
                        "ReduceLROnPlateau: expected 2 min_lrs (one per param group), got 1");
  }
}
