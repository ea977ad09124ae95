// tests/test_mixture_metrics.cpp: the mode-coverage metrics of the
// 8-Gaussian experiment on point sets built by hand, where the right answer
// is known: points exactly on centres, points just inside and just outside
// the 3-std bound, a collapsed generator, the coverage threshold at its
// boundary, NaN points, and samples from the mixture itself.
#include <cmath>

#include "datasets/mixture_metrics.h"
#include "tests/test_util.h"

using namespace nova;
using datasets::MixtureMetricsOptions;

namespace {

/// Points [n, 2] from (x, y) pairs.
Tensor points(const std::vector<std::pair<double, double>>& xy, DType dtype = kFloat64) {
  std::vector<double> v;
  for (auto [x, y] : xy) {
    v.push_back(x);
    v.push_back(y);
  }
  return from_vector(v, {int64_t(xy.size()), 2}, dtype);
}

/// `count` copies of (x, y) appended to xy.
void repeat(std::vector<std::pair<double, double>>& xy, double x, double y, int count) {
  for (int i = 0; i < count; ++i) xy.push_back({x, y});
}

}  // namespace

TEST_CASE("points on every centre are all high quality and cover every mode", "[mixture_metrics]") {
  auto ring = datasets::ring_of_gaussians();  // 8 modes, std 0.01
  std::vector<std::pair<double, double>> xy;
  for (int k = 0; k < 8; ++k) repeat(xy, std::cos(2 * M_PI * k / 8), std::sin(2 * M_PI * k / 8), 25);
  auto m = datasets::mixture_metrics(ring, points(xy));
  REQUIRE(m.samples == 200);
  REQUIRE(m.high_quality == 200);
  REQUIRE(m.high_quality_percent == Approx(100.0));
  REQUIRE(m.modes == 8);
  REQUIRE(m.modes_covered == 8);
  for (int64_t count : m.high_quality_per_mode) REQUIRE(count == 25);
  REQUIRE(m.summary() == "modes 8/8, high-quality 100.0%");
}

TEST_CASE("the 3-std bound is a Euclidean distance: inside counts, outside does not", "[mixture_metrics]") {
  auto ring = datasets::ring_of_gaussians();  // bound 3 * 0.01 = 0.03 around (1, 0)
  // inside on each axis and on a diagonal, outside on each axis and on a
  // diagonal whose coordinates (0.025, 0.025) are each inside 0.03 but whose
  // distance 0.0354 is not
  auto p = points({{1.029, 0}, {1, -0.029}, {1.02, 0.02},
                   {1.031, 0}, {1, 0.031}, {1.025, 0.025}});
  auto m = datasets::mixture_metrics(ring, p);
  REQUIRE(m.high_quality == 3);
  REQUIRE(m.high_quality_per_mode[0] == 3);
  REQUIRE(m.high_quality_percent == Approx(50.0));

  MixtureMetricsOptions wide;
  wide.std_multiple = 4;  // bound 0.04: all six are inside
  REQUIRE(datasets::mixture_metrics(ring, p, wide).high_quality == 6);
}

TEST_CASE("a collapsed generator covers one mode; points between modes count for none", "[mixture_metrics]") {
  auto ring = datasets::ring_of_gaussians();
  std::vector<std::pair<double, double>> xy;
  repeat(xy, 0.0, 1.0, 300);                   // mode 2 (angle pi/2)
  repeat(xy, 0.0, 0.0, 100);                   // the origin: far from every centre
  repeat(xy, std::cos(M_PI / 8), std::sin(M_PI / 8), 100);  // half-way between modes 0 and 1
  auto m = datasets::mixture_metrics(ring, points(xy));
  REQUIRE(m.samples == 500);
  REQUIRE(m.high_quality == 300);
  REQUIRE(m.high_quality_percent == Approx(60.0));
  REQUIRE(m.modes_covered == 1);
  REQUIRE(m.high_quality_per_mode == std::vector<int64_t>{0, 0, 300, 0, 0, 0, 0, 0});
}

TEST_CASE("a mode is covered from min_count high-quality samples on, not one fewer", "[mixture_metrics]") {
  auto ring = datasets::ring_of_gaussians();
  std::vector<std::pair<double, double>> xy;
  repeat(xy, 1.0, 0.0, 20);    // mode 0: exactly the default threshold
  repeat(xy, -1.0, 0.0, 19);   // mode 4: one short
  auto m = datasets::mixture_metrics(ring, points(xy));
  REQUIRE(m.options.min_count == 20);
  REQUIRE(m.modes_covered == 1);

  MixtureMetricsOptions loose;
  loose.min_count = 1;  // the loosest reading: one sample is enough
  REQUIRE(datasets::mixture_metrics(ring, points(xy), loose).modes_covered == 2);
  MixtureMetricsOptions strict;
  strict.min_count = 21;
  REQUIRE(datasets::mixture_metrics(ring, points(xy), strict).modes_covered == 0);
}

TEST_CASE("NaN and infinite points are never high quality", "[mixture_metrics]") {
  auto ring = datasets::ring_of_gaussians();
  auto p = points({{NAN, 0}, {1, NAN}, {INFINITY, 0}, {1, 0}}, kFloat32);
  auto m = datasets::mixture_metrics(ring, p);
  REQUIRE(m.samples == 4);
  REQUIRE(m.high_quality == 1);
  REQUIRE(m.high_quality_per_mode[0] == 1);
}

TEST_CASE("samples of the mixture itself are ~99% high quality and cover all modes", "[mixture_metrics]") {
  // within 3 std of a 2-D isotropic Gaussian: P(chi^2_2 <= 9) = 1 - e^-4.5 = 0.9889
  for (auto mixture : {datasets::ring_of_gaussians(), datasets::grid_of_gaussians()}) {
    Generator gen(7);
    auto m = datasets::mixture_metrics(mixture, mixture.sample(10000, gen));
    INFO(m.summary());
    REQUIRE(m.high_quality_percent == Approx(98.89).margin(0.4));
    REQUIRE(m.modes_covered == mixture.centres.size(0));
  }
}

TEST_CASE("the grid assigns each point to its nearest of 25 centres", "[mixture_metrics]") {
  auto grid = datasets::grid_of_gaussians();  // centres on {-4..4}^2 step 2, std 0.05
  // bound 3 * 0.05 = 0.15: (4.1, 4) and (0.1, 0) are inside, (2, -2.16) just
  // outside, (1, 1) is as far as a point can be from every centre
  auto m = datasets::mixture_metrics(grid, points({{-4, -4}, {4.1, 4}, {0.1, 0}, {2, -2.16}, {1, 1}}));
  REQUIRE(m.high_quality == 3);
  REQUIRE(m.high_quality_per_mode[0] == 1);   // (-4, -4)
  REQUIRE(m.high_quality_per_mode[24] == 1);  // (4, 4)
  REQUIRE(m.high_quality_per_mode[12] == 1);  // (0, 0)
}

TEST_CASE("mixture_metrics rejects bad shapes, dtypes and thresholds", "[mixture_metrics]") {
  auto ring = datasets::ring_of_gaussians();
  REQUIRE_THROWS_NOVA(datasets::mixture_metrics(ring, zeros({5, 3})), "points must be [n, 2], got [5, 3]");
  REQUIRE_THROWS_NOVA(datasets::mixture_metrics(ring, zeros({10})), "points must be [n, 2]");
  REQUIRE_THROWS_NOVA(datasets::mixture_metrics(ring, zeros({4, 2}, kInt64)), "mixture_metrics");
  MixtureMetricsOptions bad;
  bad.std_multiple = 0;
  REQUIRE_THROWS_NOVA(datasets::mixture_metrics(ring, zeros({4, 2}), bad), "std_multiple must be > 0");
  auto point_mass = datasets::ring_of_gaussians(8, 1.0, 0.0);
  REQUIRE_THROWS_NOVA(datasets::mixture_metrics(point_mass, zeros({4, 2})), "std must be > 0");
  // an empty point set is valid: nothing is covered
  auto empty = datasets::mixture_metrics(ring, zeros({0, 2}));
  REQUIRE(empty.modes_covered == 0);
  REQUIRE(empty.high_quality_percent == 0);
}
