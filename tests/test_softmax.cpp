// tests/test_softmax.cpp: softmax and log_softmax along any dim, against a
// float64 reference loop and hand-computed values; stability for large
// inputs; strided inputs; gradients by finite differences (first and second
// order); bad input.
#include <cmath>

#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// softmax (or log_softmax) of x along dim by the definition, in float64,
/// with the max subtracted as the kernel does.
Tensor reference_softmax(const Tensor& x, int dim, bool take_log) {
  const auto v = x.to_vector<double>();
  const int64_t n = x.size(dim);
  int64_t inner = 1;
  for (int d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  const int64_t outer = x.numel() / (n * inner);
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t j) { return (o * n + j) * inner + i; };
      double m = -INFINITY, total = 0;
      for (int64_t j = 0; j < n; ++j) m = std::max(m, v[at(j)]);
      for (int64_t j = 0; j < n; ++j) total += std::exp(v[at(j)] - m);
      for (int64_t j = 0; j < n; ++j)
        out[at(j)] = take_log ? v[at(j)] - m - std::log(total) : std::exp(v[at(j)] - m) / total;
    }
  return from_vector(out, x.shape(), kFloat64);
}

}  // namespace

TEST_CASE("softmax rows are positive and sum to 1", "[softmax]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    Tensor x = randn({4, 7}, dtype) * 3.0;
    for (int64_t dim : {0, 1, -1}) {
      Tensor y = ops::softmax(x, dim);
      REQUIRE(y.shape() == x.shape());
      REQUIRE(y.dtype() == dtype);
      REQUIRE(ops::sum(ops::lt(y, 0.0).to(kFloat64)).item() == 0.0);
      Tensor sums = ops::sum(y, {dim});
      REQUIRE(max_abs_diff(sums.to(kFloat64), ones(sums.shape(), kFloat64)) <
              (dtype == kFloat64 ? 1e-14 : 1e-6));
    }
  }
}

TEST_CASE("softmax and log_softmax of [1, 2, 3] equal the hand-computed values", "[softmax]") {
  Tensor x = from_vector<double>({1, 2, 3});
  // e^k / (e + e^2 + e^3); log(e + e^2 + e^3) = 3.40760596444438
  std::vector<double> p = {0.09003057317038046, 0.24472847105479764, 0.6652409557748219};
  auto y = ops::softmax(x, 0).to_vector<double>();
  auto ly = ops::log_softmax(x, 0).to_vector<double>();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(y[i] == Approx(p[i]).epsilon(1e-14));
    REQUIRE(ly[i] == Approx(i + 1 - 3.40760596444438).epsilon(1e-14));
  }
  // a 0-d input is a row of one element
  REQUIRE(ops::softmax(scalar_tensor(5.0), 0).item() == 1.0);
  REQUIRE(ops::log_softmax(scalar_tensor(5.0), -1).item() == 0.0);
}

TEST_CASE("softmax and log_softmax do not overflow on large inputs", "[softmax]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    Tensor big = from_vector({1000.0, 1001.0, 1002.0}, {3}, dtype);
    Tensor small = from_vector({0.0, 1.0, 2.0}, {3}, dtype);
    REQUIRE(max_abs_diff(ops::softmax(big, 0), ops::softmax(small, 0)) < 1e-6);
    REQUIRE(max_abs_diff(ops::log_softmax(big, 0), ops::log_softmax(small, 0)) < 1e-4);
    // where softmax underflows to 0, log_softmax stays finite and exact
    Tensor far = from_vector({-1000.0, 0.0}, {2}, dtype);
    REQUIRE(ops::softmax(far, 0).to_vector<double>() == std::vector<double>{0.0, 1.0});
    auto lf = ops::log_softmax(far, 0).to_vector<double>();
    REQUIRE(lf[0] == -1000.0);
    REQUIRE(lf[1] == 0.0);
  }
}

TEST_CASE("softmax and log_softmax match a float64 loop along every dim of a 3-D tensor",
          "[softmax]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = randn({3, 4, 5}, dtype) * 2.0;
    for (int64_t dim : {0, 1, 2, -1, -2, -3}) {
      INFO(dtype_name(dtype) << " dim " << dim);
      const int d = dim < 0 ? int(dim + 3) : int(dim);
      const double tol = dtype == kFloat64 ? 1e-14 : 1e-6;
      REQUIRE(max_abs_diff(ops::softmax(x, dim).to(kFloat64), reference_softmax(x, d, false)) < tol);
      REQUIRE(max_abs_diff(ops::log_softmax(x, dim).to(kFloat64), reference_softmax(x, d, true)) <
              tol * 10);
    }
  }
}

TEST_CASE("softmax reads transposed, sliced and expanded inputs", "[softmax]") {
  Tensor base = randn({5, 6}, kFloat64);
  Tensor xt = base.t();                          // [6, 5], column-major
  Tensor xs = base.slice(1, 0, 6, 2);            // [5, 3], every other column
  Tensor xe = randn({1, 6}, kFloat64).expand({4, 6});  // stride 0 over rows
  Tensor xp = randn({2, 3, 4}, kFloat64).permute({2, 0, 1});  // [4, 2, 3]
  for (const Tensor& x : {xt, xs, xe, xp}) {
    REQUIRE_FALSE(x.is_contiguous());
    for (int d = 0; d < x.dim(); ++d) {
      INFO("shape " << x.shape().str() << " dim " << d);
      REQUIRE(max_abs_diff(ops::softmax(x, d), reference_softmax(x, d, false)) < 1e-14);
      REQUIRE(max_abs_diff(ops::log_softmax(x, d), reference_softmax(x, d, true)) < 1e-13);
    }
  }
}

TEST_CASE("log_softmax is the log of softmax", "[softmax]") {
  Tensor x = randn({6, 9}, kFloat64);
  REQUIRE(max_abs_diff(ops::log_softmax(x, 1), ops::log(ops::softmax(x, 1))) < 1e-14);
}

TEST_CASE("softmax handles rows large enough to run in parallel", "[softmax]") {
  Tensor x = randn({300, 257}, kFloat32);
  for (int dim : {0, 1}) {
    INFO("dim " << dim);
    REQUIRE(max_abs_diff(ops::softmax(x, dim).to(kFloat64), reference_softmax(x, dim, false)) < 1e-6);
    REQUIRE(max_abs_diff(ops::log_softmax(x, dim).to(kFloat64), reference_softmax(x, dim, true)) <
            1e-5);
  }
}

TEST_CASE("softmax grads match finite differences", "[softmax][grad]") {
  Tensor x = leaf({3, 4, 5}, -2.0, 2.0);
  for (int64_t dim : {0, 1, -1}) {
    INFO("dim " << dim);
    REQUIRE_GRADCHECK([&] { return ops::softmax(x, dim); }, {x});
    REQUIRE_GRADCHECK([&] { return ops::log_softmax(x, dim); }, {x});
  }
  // a transposed view and an expanded one
  Tensor m = leaf({4, 6}, -2.0, 2.0);
  REQUIRE_GRADCHECK([&] { return ops::softmax(m.t(), 1); }, {m});
  REQUIRE_GRADCHECK([&] { return ops::log_softmax(m.t(), 0); }, {m});
  Tensor r = leaf({1, 5}, -2.0, 2.0);
  REQUIRE_GRADCHECK([&] { return ops::softmax(r.expand({3, 5}), 1); }, {r});
  REQUIRE_GRADCHECK([&] { return ops::log_softmax(r.expand({3, 5}), 0); }, {r});
}

TEST_CASE("softmax second derivatives match finite differences", "[softmax][grad]") {
  Tensor x = leaf({3, 4}, -2.0, 2.0);
  for (int64_t dim : {0, 1}) {
    INFO("dim " << dim);
    auto r = gradgradcheck([&] { return ops::softmax(x, dim); }, {x});
    INFO(r.report);
    REQUIRE(r.ok);
    auto rl = gradgradcheck([&] { return ops::log_softmax(x, dim); }, {x});
    INFO(rl.report);
    REQUIRE(rl.ok);
  }
  Tensor x3 = leaf({2, 3, 4}, -2.0, 2.0);
  auto r3 = gradgradcheck([&] { return ops::softmax(x3.transpose(0, 2), 1); }, {x3});
  INFO(r3.report);
  REQUIRE(r3.ok);
}

TEST_CASE("softmax rejects integer input and a dim out of range", "[softmax]") {
  REQUIRE_THROWS_NOVA(ops::softmax(arange(6), 0), "softmax: expected a floating tensor (float32 or float64), got int64 [6]");
  REQUIRE_THROWS_NOVA(ops::log_softmax(arange(6), 0), "log_softmax: expected a floating tensor");
  REQUIRE_THROWS_NOVA(ops::softmax(randn({2, 3}), 2), "softmax: dim 2 out of range for a 2-d tensor");
  REQUIRE_THROWS_NOVA(ops::log_softmax(randn({2, 3}), -3), "log_softmax: dim -3 out of range");
  REQUIRE_THROWS_NOVA(ops::softmax(scalar_tensor(1.0), 1), "softmax: dim 1 out of range for a 0-d tensor");
}
