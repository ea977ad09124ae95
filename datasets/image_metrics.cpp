// datasets/image_metrics.cpp: FID and Inception Score with nova ops, so they
// run on the device the features are on (see image_metrics.h for the
// formulas). No graph is recorded: metrics are never differentiated.
#include "datasets/image_metrics.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"

namespace nova::datasets {

namespace {

/// The symmetric square root V diag(sqrt(max(w, 0))) V^T of a symmetric
/// positive semidefinite matrix.
Tensor psd_sqrt(const Tensor& s) {
  auto e = ops::eigh(s);
  Tensor root = ops::sqrt(ops::clamp(e.values, 0.0, INFINITY));
  return ops::matmul(e.vectors * root.unsqueeze(0), e.vectors.transpose(0, 1));
}

Tensor trace(const Tensor& s) {
  return ops::sum(s * eye(s.size(0), s.size(1), s.dtype(), s.device()));
}

void check_covariance(const Tensor& c, const char* which) {
  NOVA_CHECK(c.defined() && c.dim() == 2 && c.size(0) == c.size(1),
             "frechet_distance: covariance {} must be [D, D], got {}", which,
             c.defined() ? c.shape().str() : "an undefined tensor");
}

}  // namespace

FeatureStatistics feature_statistics(const Tensor& features) {
  NOVA_CHECK(features.defined() && features.dim() == 2,
             "feature_statistics: features must be [N, D], got {}",
             features.defined() ? features.shape().str() : "an undefined tensor");
  NOVA_CHECK(is_floating(features.dtype()), "feature_statistics: features must be floating, got {}",
             dtype_name(features.dtype()));
  NOVA_CHECK(features.size(0) >= 2, "feature_statistics: need at least 2 feature vectors, got {}",
             features.size(0));
  NoGradGuard no_grad;
  Tensor x = features.to(kFloat64);
  FeatureStatistics s;
  s.count = x.size(0);
  s.mean = ops::mean(x, {0});
  Tensor centred = x - s.mean.unsqueeze(0);
  s.covariance = ops::matmul(centred.transpose(0, 1), centred) * (1.0 / double(s.count - 1));
  return s;
}

double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
  check_covariance(a.covariance, "a");
  check_covariance(b.covariance, "b");
  const int64_t d = a.covariance.size(0);
  NOVA_CHECK(b.covariance.size(0) == d && a.mean.defined() && b.mean.defined() &&
                 a.mean.shape() == Shape{d} && b.mean.shape() == Shape{d},
             "frechet_distance: means and covariances must share one D: means {} and {}, "
             "covariances {} and {}",
             a.mean.defined() ? a.mean.shape().str() : "undefined",
             b.mean.defined() ? b.mean.shape().str() : "undefined", a.covariance.shape().str(),
             b.covariance.shape().str());
  NOVA_CHECK(a.covariance.device() == b.covariance.device(),
             "frechet_distance: statistics on different devices ({}, {})",
             a.covariance.device().str(), b.covariance.device().str());
  NoGradGuard no_grad;
  Tensor s1 = a.covariance.to(kFloat64), s2 = b.covariance.to(kFloat64);
  Tensor diff = a.mean.to(kFloat64) - b.mean.to(kFloat64);
  Tensor root1 = psd_sqrt(s1);
  Tensor m = ops::matmul(ops::matmul(root1, s2), root1);
  m = (m + m.transpose(0, 1)) * 0.5;  // symmetric up to rounding; eigh reads one triangle
  Tensor cross = ops::sum(ops::sqrt(ops::clamp(ops::eigh(m).values, 0.0, INFINITY)));
  Tensor fid = ops::sum(diff * diff) + trace(s1) + trace(s2) - cross * 2.0;
  return fid.item();
}

double frechet_distance(const Tensor& features_a, const Tensor& features_b) {
  NOVA_CHECK(features_a.defined() && features_b.defined() && features_a.dim() == 2 &&
                 features_b.dim() == 2 && features_a.size(1) == features_b.size(1),
             "frechet_distance: features must be [N_1, D] and [N_2, D] with one D, got {} and {}",
             features_a.defined() ? features_a.shape().str() : "undefined",
             features_b.defined() ? features_b.shape().str() : "undefined");
  return frechet_distance(feature_statistics(features_a), feature_statistics(features_b));
}

InceptionScore inception_score(const Tensor& probabilities, int64_t splits) {
  const Tensor& p0 = probabilities;
  NOVA_CHECK(p0.defined() && p0.dim() == 2 && p0.size(1) >= 1,
             "inception_score: probabilities must be [N, C], got {}",
             p0.defined() ? p0.shape().str() : "an undefined tensor");
  NOVA_CHECK(is_floating(p0.dtype()), "inception_score: probabilities must be floating, got {}",
             dtype_name(p0.dtype()));
  NOVA_CHECK(splits >= 1 && splits <= p0.size(0),
             "inception_score: splits must be in [1, N = {}], got {}", p0.size(0), splits);
  NoGradGuard no_grad;
  Tensor p = p0.to(kFloat64);
  const double lowest = ops::amin(p).item(), row_error = ops::amax(ops::abs(ops::sum(p, {1}) - 1.0)).item();
  NOVA_CHECK(lowest >= 0 && row_error <= 1e-3,
             "inception_score: rows must be probabilities (>= 0, summing to 1 within 1e-3); "
             "smallest entry {:.3g}, largest |row sum - 1| {:.3g} (pass softmax(logits))",
             lowest, row_error);
  // 0 log 0 = 0: the clamp keeps log finite, and the factor p = 0 zeroes it
  constexpr double kTiny = 1e-300;
  const int64_t rows = p.size(0) / splits;
  std::vector<double> scores;
  for (int64_t k = 0; k < splits; ++k) {
    Tensor part = p.slice(0, k * rows, (k + 1) * rows);
    Tensor marginal = ops::mean(part, {0}, /*keepdim=*/true);  // p(y) of this part
    Tensor kl = part * (ops::log(ops::clamp(part, kTiny, INFINITY)) -
                        ops::log(ops::clamp(marginal, kTiny, INFINITY)));
    scores.push_back(std::exp(ops::mean(ops::sum(kl, {1})).item()));
  }
  InceptionScore is;
  for (double s : scores) is.mean += s / double(splits);
  for (double s : scores) is.std += (s - is.mean) * (s - is.mean) / double(splits);
  is.std = std::sqrt(is.std);
  return is;
}

}  // namespace nova::datasets
