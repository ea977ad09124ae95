// tests/test_image_metrics_cuda.cpp: FID and Inception Score computed on
// cuda:0 (cuSOLVER's syevd for the square roots) equal the CPU's to 1e-9
// relative: the same float64 formulas, differing only in summation order
// and the eigensolver.
#include <cmath>

#include "datasets/image_metrics.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

TEST_CASE("cuda FID and Inception Score equal the CPU's", "[cuda][image_metrics]") {
  Tensor a = randn({500, 16}, kFloat64), b = randn({400, 16}, kFloat64) * 1.5 + 0.3;
  const double cpu = datasets::frechet_distance(a, b);
  const double gpu_fid = datasets::frechet_distance(a.to(gpu()), b.to(gpu()));
  INFO("cpu " << cpu << " cuda " << gpu_fid);
  REQUIRE(std::abs(cpu - gpu_fid) <= 1e-9 * std::abs(cpu));
  Tensor logits = randn({300, 10}, kFloat64);
  Tensor p = ops::softmax(logits, 1);
  auto ic = datasets::inception_score(p, 3), ig = datasets::inception_score(p.to(gpu()), 3);
  REQUIRE(std::abs(ic.mean - ig.mean) <= 1e-9 * ic.mean);
  REQUIRE(std::abs(ic.std - ig.std) <= 1e-9 * ic.mean);
}
