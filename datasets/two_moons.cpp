// datasets/two_moons.cpp: see two_moons.h.
#include "datasets/two_moons.h"

#include <cmath>

#include "core/ops.h"

namespace nova::datasets {

Classification two_moons(int64_t n, double noise, Generator& gen) {
  NOVA_CHECK(n >= 2, "two_moons: need at least 2 points, got {}", n);
  NOVA_CHECK(noise >= 0, "two_moons: noise must be >= 0, got {}", noise);
  constexpr double kPi = 3.14159265358979323846;
  const int64_t n0 = (n + 1) / 2;
  auto t = uniform({n}, 0.0, kPi, kFloat64, kCPU, &gen).to_vector<double>();
  auto eps = normal({n, 2}, 0.0, noise, kFloat64, kCPU, &gen).to_vector<double>();
  auto order = randperm(n, kCPU, &gen).to_vector<int64_t>();
  std::vector<float> xs(2 * n);
  std::vector<int64_t> ys(n);
  for (int64_t i = 0; i < n; ++i) {
    const bool upper = i < n0;
    const double px = upper ? std::cos(t[i]) : 1.0 - std::cos(t[i]);
    const double py = upper ? std::sin(t[i]) : 0.5 - std::sin(t[i]);
    const int64_t row = order[i];
    xs[2 * row] = float(px + eps[2 * i]);
    xs[2 * row + 1] = float(py + eps[2 * i + 1]);
    ys[row] = upper ? 0 : 1;
  }
  return {from_vector(xs, {n, 2}), from_vector(ys)};
}

}  // namespace nova::datasets
