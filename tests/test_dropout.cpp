// tests/test_dropout.cpp: dropout: identity in eval and at p = 0, keep rate
// and 1 / (1 - p) scaling in training, reproducible masks, gradient = mask.
#include <cmath>

#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

TEST_CASE("dropout is the identity in eval and at p = 0", "[dropout]") {
  Tensor x = randn({3, 4});
  Tensor e = ops::dropout(x, 0.5, false);
  Tensor z = ops::dropout(x, 0.0, true);
  REQUIRE(e.to_vector<float>() == x.to_vector<float>());
  REQUIRE(z.to_vector<float>() == x.to_vector<float>());
}

TEST_CASE("dropout keeps about 1 - p of the elements, scaled by 1 / (1 - p)", "[dropout]") {
  Generator gen(1234);
  const double p = 0.3;
  Tensor x = ones({100000}, kFloat64);
  auto v = ops::dropout(x, p, true, &gen).to_vector<double>();
  int64_t kept = 0, misscaled = 0;
  for (double y : v) {
    if (y == 0.0) continue;
    ++kept;
    if (std::abs(y - 1.0 / (1.0 - p)) > 1e-12) ++misscaled;
  }
  REQUIRE(misscaled == 0);
  // the keep rate's standard deviation is sqrt(0.21 / 1e5) = 0.0014: 0.01 is 7 sigma
  REQUIRE(std::abs(double(kept) / 1e5 - (1.0 - p)) < 0.01);
}

TEST_CASE("dropout with p = 1 gives zeros", "[dropout]") {
  Tensor x = randn({5});
  for (float y : ops::dropout(x, 1.0, true).to_vector<float>()) REQUIRE(y == 0.0f);
}

TEST_CASE("dropout draws the same mask from the same seed", "[dropout]") {
  Tensor x = randn({64, 8});
  Generator a(7), b(7), c(8);
  auto ya = ops::dropout(x, 0.5, true, &a).to_vector<float>();
  auto yb = ops::dropout(x, 0.5, true, &b).to_vector<float>();
  auto yc = ops::dropout(x, 0.5, true, &c).to_vector<float>();
  REQUIRE(ya == yb);
  REQUIRE(ya != yc);
  // the generator advanced: a second draw differs from the first
  REQUIRE(ops::dropout(x, 0.5, true, &a).to_vector<float>() != ya);
}

TEST_CASE("dropout gradient is the scaled mask", "[dropout][grad]") {
  Generator gen(99);
  Tensor x = leaf({6, 5}, 0.5, 1.5);  // positive: y != 0 exactly where kept
  Tensor y = ops::dropout(x, 0.4, true, &gen);
  ops::sum(y).backward();
  auto yv = y.to_vector<double>(), g = x.grad().to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) REQUIRE(g[i] == (yv[i] != 0.0 ? 1.0 / 0.6 : 0.0));
}

TEST_CASE("dropout grads match finite differences with a fixed mask", "[dropout][grad]") {
  Generator gen;
  Tensor base = leaf({5, 4});
  // reseeding inside fn makes every evaluation draw the same mask
  auto fn = [&] {
    gen.manual_seed(2024);
    return ops::dropout(base.t(), 0.3, true, &gen);
  };
  REQUIRE_GRADCHECK(fn, (std::vector<Tensor>{base}));
}

TEST_CASE("dropout rejects p outside [0, 1] and integer inputs", "[dropout][errors]") {
  Tensor x = randn({3});
  REQUIRE_THROWS_NOVA(ops::dropout(x, 1.5, true), "dropout: probability p must be in [0, 1], got 1.5");
  REQUIRE_THROWS_NOVA(ops::dropout(x, -0.1, true), "dropout: probability p");
  REQUIRE_THROWS_NOVA(ops::dropout(arange(3), 0.5, true), "dropout");
}
