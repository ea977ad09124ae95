// tests/test_util.h: helpers shared by the test files.
#pragma once

#include <catch2/catch.hpp>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"

namespace nova::test {

/// Fresh random float64 leaf with requires_grad, values in [lo, hi).
inline Tensor leaf(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  return uniform(shape, lo, hi, kFloat64).requires_grad_();
}

/// Largest |a - b| over all elements (same shapes required).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

/// REQUIREs that gradcheck passes, printing its report otherwise.
#define REQUIRE_GRADCHECK(fn, inputs)                 \
  do {                                                \
    auto gc_result_ = ::nova::gradcheck(fn, inputs);  \
    INFO(gc_result_.report);                          \
    REQUIRE(gc_result_.ok);                           \
  } while (0)

/// Expects `expr` to throw nova::Error whose message contains `text`.
#define REQUIRE_THROWS_NOVA(expr, text) \
  REQUIRE_THROWS_WITH(expr, Catch::Matchers::Contains(text))

}  // namespace nova::test
