// tests/test_batch_norm2d.cpp: BatchNorm2d and ConditionalBatchNorm2d:
// per-channel statistics over N, H and W against a float64 loop, running
// statistics, eval mode, the per-class gain and bias picked by label (and
// given directly, BigGAN's way), gradients by finite differences, and errors.
#include "nn/normalization.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// (x - mean_c) / sqrt(var_c + eps) per channel c over N, H, W (biased var), by loops.
std::vector<double> normalised_by_loops(const Tensor& x, double eps) {
  auto v = values(x);
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  std::vector<double> out(v.size());
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) mean += v[(i * c + ch) * hw + p];
    mean /= double(n * hw);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) var += std::pow(v[(i * c + ch) * hw + p] - mean, 2);
    var /= double(n * hw);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p)
        out[(i * c + ch) * hw + p] = (v[(i * c + ch) * hw + p] - mean) / std::sqrt(var + eps);
  }
  return out;
}

}  // namespace

TEST_CASE("BatchNorm2d normalises each channel over N, H and W", "[batch_norm2d]") {
  nn::BatchNorm2d bn(3);
  bn.to(kFloat64);
  Tensor x = randn({4, 3, 5, 6}, kFloat64) * 2.0 + 1.0;
  Tensor y = bn.forward(x);
  REQUIRE(max_abs_diff(y, from_vector<double>(normalised_by_loops(x, 1e-5), x.shape())) < 1e-12);
  // running statistics moved 10% of the way to the batch ones (mean ~ 1)
  REQUIRE(ops::amax(ops::abs(bn.running_mean - ops::mean(x, {0, 2, 3}) * 0.1)).item() < 1e-12);
  bn.eval();
  Tensor z = bn.forward(x);  // now with the running statistics: not zero mean
  REQUIRE(std::abs(ops::mean(z).item()) > 0.1);
  REQUIRE_THROWS_NOVA(bn.forward(randn({4, 3}, kFloat64)), "BatchNorm2d: expected input [N, 3, H, W], got [4, 3]");
  REQUIRE_THROWS_NOVA(bn.forward(randn({4, 2, 2, 2}, kFloat64)), "BatchNorm2d: expected input [N, 3, H, W], got [4, 2, 2, 2]");
}

TEST_CASE("ConditionalBatchNorm2d applies each sample's class gain and bias", "[batch_norm2d]") {
  nn::ConditionalBatchNorm2d cbn(2, 3);
  cbn.to(kFloat64);
  REQUIRE(cbn.parameters().size() == 2);  // gamma, beta; the inner BN has no affine
  NoGradGuard no_grad;
  cbn.gamma.copy_(from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2}));
  cbn.beta.copy_(from_vector<double>({0, 0, 10, 20, -1, -2}, {3, 2}));
  Tensor x = randn({3, 2, 2, 2}, kFloat64);
  Tensor labels = from_vector<int64_t>({2, 0, 1}, {3});
  Tensor y = cbn.forward(x, labels);
  auto xhat = normalised_by_loops(x, 1e-5);
  auto yv = values(y);
  const double gain[3][2] = {{5, 6}, {1, 2}, {3, 4}}, bias[3][2] = {{-1, -2}, {0, 0}, {10, 20}};
  for (int n = 0; n < 3; ++n)
    for (int c = 0; c < 2; ++c)
      for (int p = 0; p < 4; ++p) {
        const size_t i = size_t((n * 2 + c) * 4 + p);
        REQUIRE(std::abs(yv[i] - (xhat[i] * gain[n][c] + bias[n][c])) < 1e-12);
      }
  // the same through forward(x, gain, bias)
  Tensor g = from_vector<double>({5, 6, 1, 2, 3, 4}, {3, 2}), b = from_vector<double>({-1, -2, 0, 0, 10, 20}, {3, 2});
  REQUIRE(max_abs_diff(cbn.forward(x, g, b), y) < 1e-12);
}

TEST_CASE("ConditionalBatchNorm2d grads match finite differences", "[batch_norm2d][grad]") {
  nn::ConditionalBatchNorm2d cbn(3, 4);
  cbn.to(kFloat64);
  {
    NoGradGuard no_grad;
    cbn.gamma.copy_(uniform({4, 3}, 0.5, 1.5, kFloat64));
    cbn.beta.copy_(uniform({4, 3}, -1.0, 1.0, kFloat64));
  }
  Tensor x = leaf({5, 3, 2, 3});
  Tensor labels = from_vector<int64_t>({0, 3, 3, 1, 0}, {5});
  REQUIRE(gradcheck([&] { return cbn.forward(x, labels); }, {x, cbn.gamma, cbn.beta}));
  REQUIRE(gradgradcheck([&] { return cbn.forward(x, labels); }, {x, cbn.gamma}));
}

TEST_CASE("ConditionalBatchNorm2d refuses bad labels, gains and inputs", "[batch_norm2d]") {
  nn::ConditionalBatchNorm2d cbn(2, 3);
  Tensor x = randn({4, 2, 3, 3});
  REQUIRE_THROWS_NOVA(cbn.forward(x, from_vector<int64_t>({0, 1}, {2})),
                      "ConditionalBatchNorm2d: labels must be [N] for input [4, 2, 3, 3], got [2]");
  REQUIRE_THROWS_NOVA(cbn.forward(x, ones({4, 3}), zeros({4, 3})),
                      "ConditionalBatchNorm2d: gain and bias must be [4, 2] for input [4, 2, 3, 3], got [4, 3] and [4, 3]");
  REQUIRE_THROWS_NOVA(cbn.forward(randn({4, 2}), ones({4, 2}), zeros({4, 2})),
                      "ConditionalBatchNorm2d: expected input [N, 2, H, W], got [4, 2]");
  nn::ConditionalBatchNorm2d plain(2, 0);
  REQUIRE(plain.parameters().empty());
  REQUIRE_THROWS_NOVA(plain.forward(x, from_vector<int64_t>({0, 1, 0, 1}, {4})),
                      "ConditionalBatchNorm2d: built with num_classes = 0");
}
