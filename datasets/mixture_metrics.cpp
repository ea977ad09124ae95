// datasets/mixture_metrics.cpp: see mixture_metrics.h. Plain loops in double
// over a CPU copy: evaluation runs on a few thousand points once per
// snapshot, so clarity wins over speed here.
#include "datasets/mixture_metrics.h"

#include <cmath>
#include <limits>

#include "core/autograd.h"

namespace nova::datasets {

std::string MixtureMetrics::summary() const {
  return fmt::format("modes {}/{}, high-quality {:.1f}%", modes_covered, modes, high_quality_percent);
}

MixtureMetrics mixture_metrics(const GaussianMixture& mixture, const Tensor& points,
                               const MixtureMetricsOptions& options) {
  check_defined("mixture_metrics", points, "points");
  NOVA_CHECK(points.dim() == 2 && points.size(1) == 2, "mixture_metrics: points must be [n, 2], got {}",
             points.shape().str());
  check_floating("mixture_metrics", points);
  NOVA_CHECK(mixture.centres.defined() && mixture.centres.dim() == 2 && mixture.centres.size(1) == 2 &&
                 mixture.centres.size(0) >= 1,
             "mixture_metrics: the mixture needs centres [modes >= 1, 2]");
  NOVA_CHECK(mixture.std > 0, "mixture_metrics: the mixture's std must be > 0 (the distance bound is a "
                              "multiple of it), got {}", mixture.std);
  NOVA_CHECK(options.std_multiple > 0 && options.min_count >= 0,
             "mixture_metrics: std_multiple must be > 0 and min_count >= 0, got {} and {}",
             options.std_multiple, options.min_count);

  NoGradGuard no_grad;
  const std::vector<double> p = points.detach().to(kCPU).to(kFloat64).contiguous().to_vector<double>();
  const std::vector<double> c = mixture.centres.to(kCPU).to(kFloat64).contiguous().to_vector<double>();
  const int64_t n = points.size(0), modes = mixture.centres.size(0);
  // compare squared distances: no sqrt per point and per mode
  const double bound = options.std_multiple * mixture.std, bound2 = bound * bound;

  MixtureMetrics m;
  m.samples = n;
  m.modes = modes;
  m.options = options;
  m.high_quality_per_mode.assign(size_t(modes), 0);
  for (int64_t i = 0; i < n; ++i) {
    const double x = p[2 * i], y = p[2 * i + 1];
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    int64_t nearest = 0;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < modes; ++k) {
      const double dx = x - c[2 * k], dy = y - c[2 * k + 1], d2 = dx * dx + dy * dy;
      if (d2 < best) {
        best = d2;
        nearest = k;
      }
    }
    if (best <= bound2) {
      ++m.high_quality;
      ++m.high_quality_per_mode[size_t(nearest)];
    }
  }
  for (int64_t count : m.high_quality_per_mode)
    if (count >= options.min_count) ++m.modes_covered;
  m.high_quality_percent = n > 0 ? 100.0 * double(m.high_quality) / double(n) : 0.0;
  return m;
}

}  // namespace nova::datasets
