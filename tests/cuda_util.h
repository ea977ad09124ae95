// tests/cuda_util.h: helpers for the CPU/CUDA parity tests (nova_cuda_tests).
// A parity test runs one op on the CPU and on cuda:0 from the same inputs and
// requires the results to agree within a bound stated per dtype: float32
// within 1e-5 relative, float64 within 1e-12 (the CUDA backend issue's bounds).
#pragma once

#include <cmath>

#include "tests/test_util.h"

namespace nova::test {

inline Device gpu() { return Device::cuda(0); }

/// Relative tolerance for parity in `dtype` (absolute floor: the same value).
inline double parity_tolerance(DType dtype) { return dtype == kFloat64 ? 1e-12 : 1e-5; }

/// REQUIREs cpu_result and cuda_result (moved to the CPU) to agree elementwise:
/// |a - b| <= tol * max(1, |a|), NaN matching NaN and an infinity itself.
/// Reports the worst index.
inline void require_parity(const Tensor& cpu_result, const Tensor& cuda_result, double tol) {
  REQUIRE(cuda_result.is_cuda());
  REQUIRE(cpu_result.shape() == cuda_result.shape());
  REQUIRE(cpu_result.dtype() == cuda_result.dtype());
  auto a = cpu_result.to_vector<double>();
  auto b = cuda_result.to(kCPU).to_vector<double>();
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) continue;  // also equal infinities
    double err = std::abs(a[i] - b[i]) / std::max(1.0, std::abs(a[i]));
    if (!(err <= worst)) {
      worst = std::isnan(err) ? INFINITY : err;
      worst_i = i;
    }
  }
  INFO("worst element " << worst_i << ": cpu " << (a.empty() ? 0 : a[worst_i]) << " vs cuda "
                        << (b.empty() ? 0 : b[worst_i]) << " (relative error " << worst
                        << ", bound " << tol << ")");
  REQUIRE(worst <= tol);
}

inline void require_parity(const Tensor& cpu_result, const Tensor& cuda_result) {
  require_parity(cpu_result, cuda_result, parity_tolerance(cpu_result.dtype()));
}

/// Odd sizes the parity tests sweep (the list, plus empty).
inline std::vector<int64_t> odd_sizes() { return {0, 1, 7, 1023, 65537}; }

}  // namespace nova::test
