// datasets/gaussian_mixture.cpp: see gaussian_mixture.h.
#include "datasets/gaussian_mixture.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"

namespace nova::datasets {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

GaussianMixture ring_of_gaussians(int64_t count, double radius, double std) {
  NOVA_CHECK(count >= 1, "ring_of_gaussians: need at least 1 mode, got {}", count);
  NOVA_CHECK(radius > 0 && std >= 0, "ring_of_gaussians: radius must be > 0 and std >= 0, got {} and {}",
             radius, std);
  std::vector<float> c(2 * count);
  for (int64_t k = 0; k < count; ++k) {
    const double angle = 2 * kPi * double(k) / double(count);
    c[2 * k] = float(radius * std::cos(angle));
    c[2 * k + 1] = float(radius * std::sin(angle));
  }
  return {from_vector(c, {count, 2}), std};
}

GaussianMixture grid_of_gaussians(int64_t side, double spacing, double std) {
  NOVA_CHECK(side >= 1, "grid_of_gaussians: need side >= 1, got {}", side);
  NOVA_CHECK(spacing > 0 && std >= 0, "grid_of_gaussians: spacing must be > 0 and std >= 0, got {} and {}",
             spacing, std);
  std::vector<float> c;
  const double mid = double(side - 1) / 2;
  for (int64_t i = 0; i < side; ++i)
    for (int64_t j = 0; j < side; ++j) {
      c.push_back(float(spacing * (double(i) - mid)));
      c.push_back(float(spacing * (double(j) - mid)));
    }
  return {from_vector(c, {side * side, 2}), std};
}

Tensor GaussianMixture::sample(int64_t n, Generator& gen) const {
  NOVA_CHECK(n >= 0, "GaussianMixture::sample: n must be >= 0, got {}", n);
  NoGradGuard no_grad;
  Tensor modes = randint(0, centres.size(0), {n}, kInt64, kCPU, &gen);
  Tensor noise = normal({n, 2}, 0.0, std, kFloat32, kCPU, &gen);
  return ops::index_select(centres, 0, modes) + noise;
}

Tensor GaussianMixture::nearest_mode(const Tensor& points) const {
  NOVA_CHECK(points.dim() == 2 && points.size(1) == 2,
             "GaussianMixture::nearest_mode: points must be [n, 2], got {}", points.shape().str());
  NoGradGuard no_grad;
  // squared distances [n, modes] by broadcasting [n, 1, 2] against [modes, 2]
  Tensor d = points.to(centres.dtype()).unsqueeze(1) - centres;
  return ops::argmin(ops::sum(d * d, {2}), 1);
}

}  // namespace nova::datasets
