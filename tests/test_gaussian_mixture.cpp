// tests/test_gaussian_mixture.cpp: the 8-Gaussian (and 25-Gaussian grid)
// toy data and the MLPs of that experiment: centres where the thesis puts
// them, samples near their modes, shapes, initialisation, and that a few
// discriminator steps lower the BCE loss.
#include <cmath>
#include <set>

#include "datasets/gaussian_mixture.h"
#include "models/gaussian_mixture_gan.h"
#include "optim/optimizer.h"
#include "tests/test_util.h"

using namespace nova;
using nova::test::values;

TEST_CASE("the ring has 8 distinct centres at angle 2 pi k / 8 on the unit circle", "[gan8][data]") {
  auto ring = datasets::ring_of_gaussians();
  REQUIRE(ring.centres.shape() == Shape{8, 2});
  auto c = values(ring.centres);
  std::set<std::pair<long, long>> distinct;
  for (int k = 0; k < 8; ++k) {
    const double angle = 2 * M_PI * k / 8;
    REQUIRE(c[2 * k] == Approx(std::cos(angle)).margin(1e-6));
    REQUIRE(c[2 * k + 1] == Approx(std::sin(angle)).margin(1e-6));
    distinct.insert({std::lround(c[2 * k] * 1000), std::lround(c[2 * k + 1] * 1000)});
  }
  REQUIRE(distinct.size() == 8);  // the public toy's linspace bug would give 7
  REQUIRE(ring.std == 0.01);
}

TEST_CASE("the 25-Gaussian grid spans {-4, -2, 0, 2, 4}^2", "[gan8][data]") {
  auto grid = datasets::grid_of_gaussians();
  REQUIRE(grid.centres.shape() == Shape{25, 2});
  auto c = values(grid.centres);
  REQUIRE(c[0] == -4);
  REQUIRE(c[1] == -4);
  REQUIRE(c[2 * 12] == 0);  // the middle mode
  REQUIRE(c[2 * 24] == 4);
  REQUIRE(c[2 * 24 + 1] == 4);
}

TEST_CASE("samples fall near their modes and cover every mode evenly", "[gan8][data]") {
  auto ring = datasets::ring_of_gaussians(8, 2.0, 0.02);
  Generator gen(11);
  const int64_t n = 8000;
  Tensor x = ring.sample(n, gen);
  REQUIRE(x.shape() == Shape{n, 2});
  REQUIRE(x.dtype() == kFloat32);
  auto modes = ring.nearest_mode(x).to_vector<int64_t>();
  auto xv = values(x), cv = values(ring.centres);
  std::vector<int> counts(8, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t m = modes[i];
    ++counts[m];
    const double dx = xv[2 * i] - cv[2 * m], dy = xv[2 * i + 1] - cv[2 * m + 1];
    REQUIRE(std::sqrt(dx * dx + dy * dy) < 6 * 0.02);  // a 6-sigma radius
  }
  for (int c : counts) REQUIRE(c == Approx(n / 8.0).epsilon(0.1));
  Generator again(11);
  REQUIRE(values(ring.sample(n, again)) == xv);
}

TEST_CASE("bad mixture settings throw naming the function", "[gan8][data]") {
  REQUIRE_THROWS_NOVA(datasets::ring_of_gaussians(0), "ring_of_gaussians: need at least 1 mode");
  REQUIRE_THROWS_NOVA(datasets::grid_of_gaussians(5, -1.0), "grid_of_gaussians: spacing must be > 0");
  REQUIRE_THROWS_NOVA(datasets::ring_of_gaussians().nearest_mode(zeros({3, 3})), "points must be [n, 2]");
}

TEST_CASE("the mixture MLPs have the unrolled-GAN sizes and orthogonal weights", "[gan8][models]") {
  Generator gen(3);
  auto g = models::mixture_generator({}, &gen);
  auto d = models::mixture_discriminator({}, &gen);
  auto count = [](const nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
  };
  REQUIRE(count(*g) == 256 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2);
  REQUIRE(count(*d) == 2 * 128 + 128 + 128 * 128 + 128 + 128 * 1 + 1);
  REQUIRE((*g)(randn({5, 256})).shape() == Shape{5, 2});
  REQUIRE((*d)(randn({5, 2})).shape() == Shape{5, 1});
  // the square hidden weight: W W^T = gain^2 I
  Tensor w = g->named_parameters()[2].second;
  REQUIRE(w.shape() == Shape{128, 128});
  Tensor wwt = ops::matmul(w, w.t());
  REQUIRE(test::max_abs_diff(wwt, eye(128) * (1.4 * 1.4)) < 1e-4);
  for (const auto& [name, p] : d->named_parameters())
    if (p.dim() == 1) REQUIRE(ops::amax(ops::abs(p)).item() == 0.0);
}

TEST_CASE("discriminator training separates real from generated points", "[gan8][models]") {
  Generator gen(5);
  manual_seed(5);
  auto ring = datasets::ring_of_gaussians();
  auto g = models::mixture_generator({}, &gen);
  auto d = models::mixture_discriminator({}, &gen);
  optim::Adam opt(d->parameters(), optim::AdamOptions{1e-3, {0.5, 0.999}});
  Tensor fake = (*g)(randn({256, 256})).detach();
  auto loss = [&](const Tensor& real) {
    return ops::binary_cross_entropy_with_logits((*d)(real), ones({256, 1})) +
           ops::binary_cross_entropy_with_logits((*d)(fake), zeros({256, 1}));
  };
  Tensor real = ring.sample(256, gen);
  const double before = loss(real).item();
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    loss(real).backward();
    opt.step();
  }
  // seen: 1.41 -> 1.29; real and generated points overlap at the start, so
  // the first hundred steps move slowly
  REQUIRE(loss(real).item() < before - 0.08);
}
