// tests/test_image_metrics.cpp: FID and Inception Score against closed forms:
// FID of Gaussians with diagonal (commuting) covariances, and of 2x2
// non-commuting ones, where tr((S1^1/2 S2 S1^1/2)^1/2) =
// sqrt(tr(S1 S2) + 2 sqrt(det(S1 S2))); feature statistics against a
// hand-computed mean and covariance; IS of one-hot, uniform and two-class
// probabilities; bad input.
#include <cmath>

#include "datasets/image_metrics.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using datasets::FeatureStatistics;

namespace {

FeatureStatistics stats(std::vector<double> mean, std::vector<double> cov) {
  const int64_t d = int64_t(mean.size());
  return {from_vector<double>(mean, {d}), from_vector<double>(cov, {d, d}), 100};
}

}  // namespace

TEST_CASE("FID of a distribution with itself is zero", "[image_metrics]") {
  Tensor f = randn({200, 6}, kFloat64);
  REQUIRE(std::abs(datasets::frechet_distance(f, f)) < 1e-10);
}

TEST_CASE("FID of Gaussians with diagonal covariances has the closed form", "[image_metrics]") {
  // ||mu1 - mu2||^2 + sum (sqrt a_i - sqrt b_i)^2
  auto a = stats({1, 2, 3}, {4, 0, 0, 0, 9, 0, 0, 0, 0.25});
  auto b = stats({0, 2, 5}, {1, 0, 0, 0, 16, 0, 0, 0, 1});
  const double expected = (1 + 0 + 4) + (1 + 1 + 0.25);
  REQUIRE(std::abs(datasets::frechet_distance(a, b) - expected) < 1e-12);
}

TEST_CASE("FID of Gaussians with non-commuting 2x2 covariances has the closed form",
          "[image_metrics]") {
  const double s1[4] = {2, 0.5, 0.5, 1}, s2[4] = {1, -0.3, -0.3, 3};
  auto a = stats({0.5, -1}, {s1[0], s1[1], s1[2], s1[3]});
  auto b = stats({0, 0}, {s2[0], s2[1], s2[2], s2[3]});
  // S1 S2 and its trace and determinant
  const double p00 = s1[0] * s2[0] + s1[1] * s2[2], p11 = s1[2] * s2[1] + s1[3] * s2[3];
  const double det = (s1[0] * s1[3] - s1[1] * s1[2]) * (s2[0] * s2[3] - s2[1] * s2[2]);
  const double cross = std::sqrt(p00 + p11 + 2 * std::sqrt(det));
  const double expected = (0.25 + 1) + (2 + 1) + (1 + 3) - 2 * cross;
  INFO("expected " << expected);
  REQUIRE(std::abs(datasets::frechet_distance(a, b) - expected) < 1e-12);
  // symmetric in its arguments, as a distance
  REQUIRE(std::abs(datasets::frechet_distance(b, a) - expected) < 1e-12);
}

TEST_CASE("feature statistics are the mean and the unbiased covariance", "[image_metrics]") {
  // rows (1, 2), (3, 6), (5, 4): mean (3, 4); deviations (-2,-2), (0, 2), (2, 0)
  auto s = datasets::feature_statistics(from_vector<float>({1, 2, 3, 6, 5, 4}, {3, 2}));
  REQUIRE(s.count == 3);
  REQUIRE(s.mean.dtype() == kFloat64);
  REQUIRE(max_abs_diff(s.mean, from_vector<double>({3, 4}, {2})) < 1e-15);
  // sums of products: xx 8, xy 4, yy 8; divided by N - 1 = 2
  REQUIRE(max_abs_diff(s.covariance, from_vector<double>({4, 2, 2, 4}, {2, 2})) < 1e-15);
}

TEST_CASE("FID of samples approaches the FID of their Gaussians", "[image_metrics]") {
  // N(0, I) against N(1, 4 I) in 4 dims: 4 * 1 + 4 * (1 - 2)^2 = 8
  Tensor a = randn({20000, 4}, kFloat64), b = randn({20000, 4}, kFloat64) * 2.0 + 1.0;
  REQUIRE(std::abs(datasets::frechet_distance(a, b) - 8.0) < 0.3);
}

TEST_CASE("Inception Score has its closed form on simple probabilities", "[image_metrics]") {
  // one-hot, every class equally often: KL = log C, score C
  const int64_t c = 5;
  std::vector<double> one_hot(size_t(50 * c), 0.0);
  for (int64_t i = 0; i < 50; ++i) one_hot[size_t(i * c + i % c)] = 1;
  auto is = datasets::inception_score(from_vector<double>(one_hot, {50, c}), 10);
  REQUIRE(std::abs(is.mean - double(c)) < 1e-12);
  REQUIRE(is.std < 1e-12);
  // the same distribution for every image: score 1
  auto flat = datasets::inception_score(ones({40, 8}, kFloat64) * (1.0 / 8), 4);
  REQUIRE(std::abs(flat.mean - 1) < 1e-12);
  // two classes, rows alternating (0.9, 0.1) and (0.1, 0.9): p(y) = (1/2, 1/2)
  std::vector<double> two;
  for (int i = 0; i < 20; ++i) {
    two.push_back(i % 2 ? 0.1 : 0.9);
    two.push_back(i % 2 ? 0.9 : 0.1);
  }
  auto t = datasets::inception_score(from_vector<double>(two, {20, 2}), 1);
  REQUIRE(std::abs(t.mean - std::exp(0.9 * std::log(1.8) + 0.1 * std::log(0.2))) < 1e-12);
}

TEST_CASE("Inception Score's splits give a mean and a spread", "[image_metrics]") {
  // first half one-hot over 4 classes (score 4), second half uniform (score 1)
  std::vector<double> p;
  for (int i = 0; i < 8; ++i)
    for (int k = 0; k < 4; ++k) p.push_back(i < 4 ? (k == i ? 1.0 : 0.0) : 0.25);
  auto is = datasets::inception_score(from_vector<double>(p, {8, 4}), 2);
  REQUIRE(std::abs(is.mean - 2.5) < 1e-12);
  REQUIRE(std::abs(is.std - 1.5) < 1e-12);
}

TEST_CASE("image metrics refuse bad input", "[image_metrics]") {
  REQUIRE_THROWS_NOVA(datasets::feature_statistics(randn({1, 3})), "feature_statistics: need at least 2");
  REQUIRE_THROWS_NOVA(datasets::feature_statistics(randn({3})), "feature_statistics: features must be [N, D], got [3]");
  REQUIRE_THROWS_NOVA(datasets::frechet_distance(randn({5, 3}), randn({5, 4})),
                      "frechet_distance: features must be [N_1, D] and [N_2, D] with one D, got [5, 3] and [5, 4]");
  REQUIRE_THROWS_NOVA(datasets::inception_score(randn({4, 3}), 2), "inception_score: rows must be probabilities");
  REQUIRE_THROWS_NOVA(datasets::inception_score(ones({4, 2}) * 0.5, 5), "inception_score: splits must be in [1, N = 4], got 5");
}
