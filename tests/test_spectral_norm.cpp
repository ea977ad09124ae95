// tests/test_spectral_norm.cpp: spectral normalisation on Linear: the power
// iteration finds the largest singular value (checked against eigh of
// W W^T), the normalised weight then has spectral norm 1, training updates u
// and v while eval leaves them, the gradient through sigma is exact (first
// and second order, by finite differences, u and v held fixed as PyTorch
// holds them), and the state_dict carries PyTorch's names.
#include <cmath>

#include "core/linalg.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Largest singular value of a 2-D w, from the eigenvalues of w w^T.
double largest_singular_value(const Tensor& w) {
  NoGradGuard no_grad;
  Tensor w64 = w.detach().to(kFloat64);
  return std::sqrt(ops::amax(ops::eigh(ops::matmul(w64, w64.transpose(0, 1))).values).item());
}

}  // namespace

TEST_CASE("spectral norm's power iteration finds the largest singular value", "[spectral_norm]") {
  nn::Linear fc(7, 5, true, nn::SpectralNormOptions::on());
  fc.to(kFloat64);
  Tensor x = randn({3, 7}, kFloat64);
  for (int i = 0; i < 100; ++i) fc.forward(x);
  const double expected = largest_singular_value(fc.spectral_norm.weight_orig);
  INFO("sigma " << fc.spectral_norm.sigma().item() << " expected " << expected);
  REQUIRE(std::abs(fc.spectral_norm.sigma().item() - expected) < 1e-9 * expected);
  REQUIRE(std::abs(largest_singular_value(fc.weight) - 1.0) < 1e-9);
  // the layer computes x W^T + b with the normalised W
  Tensor y = fc.forward(x);
  REQUIRE(max_abs_diff(y, ops::matmul(x, fc.weight.transpose(0, 1)) + fc.bias) < 1e-12);
}

TEST_CASE("spectral norm updates u and v in training only", "[spectral_norm]") {
  nn::Linear fc(4, 6, false, nn::SpectralNormOptions::on());
  Tensor x = randn({2, 4});
  Tensor u0 = fc.spectral_norm.u.clone();
  fc.forward(x);
  REQUIRE(max_abs_diff(fc.spectral_norm.u, u0) > 1e-3);  // one power step moved it
  REQUIRE(std::abs(ops::norm(fc.spectral_norm.u).item() - 1.0) < 1e-5);
  fc.eval();
  Tensor u1 = fc.spectral_norm.u.clone(), v1 = fc.spectral_norm.v.clone();
  Tensor y1 = fc.forward(x), y2 = fc.forward(x);
  REQUIRE(max_abs_diff(fc.spectral_norm.u, u1) == 0);
  REQUIRE(max_abs_diff(fc.spectral_norm.v, v1) == 0);
  REQUIRE(max_abs_diff(y1, y2) == 0);
}

TEST_CASE("spectral norm's gradient through sigma matches finite differences", "[spectral_norm][grad]") {
  nn::Linear fc(5, 3, true, nn::SpectralNormOptions::on(3));
  fc.to(kFloat64);
  Tensor x = randn({4, 5}, kFloat64);
  fc.forward(x);  // a few power steps so u, v are not random
  fc.eval();      // now u and v stay fixed, as autograd sees them
  std::vector<Tensor> inputs{fc.spectral_norm.weight_orig, fc.bias};
  REQUIRE(gradcheck([&] { return fc.forward(x); }, inputs));
  REQUIRE(gradgradcheck([&] { return ops::tanh(fc.forward(x)); }, inputs));
}

TEST_CASE("spectral norm registers weight_orig, weight_u and weight_v", "[spectral_norm]") {
  nn::Linear fc(4, 6, true, nn::SpectralNormOptions::on());
  auto state = fc.state_dict();
  REQUIRE(state.contains("weight_orig"));
  REQUIRE(state.contains("weight_u"));
  REQUIRE(state.contains("weight_v"));
  REQUIRE_FALSE(state.contains("weight"));
  REQUIRE(state.at("weight_u").shape() == Shape{6});
  REQUIRE(state.at("weight_v").shape() == Shape{4});
  REQUIRE(fc.parameters().size() == 2);  // weight_orig, bias: u and v are not trained
  // a fresh layer loads it and then computes the same output in eval
  nn::Linear other(4, 6, true, nn::SpectralNormOptions::on());
  other.load_state_dict(state);
  fc.eval();
  other.eval();
  Tensor x = randn({2, 4});
  REQUIRE(max_abs_diff(fc.forward(x), other.forward(x)) == 0);
  REQUIRE_THROWS_NOVA(nn::Linear(4, 6, true, nn::SpectralNormOptions::on(0)),
                      "Linear: spectral norm needs power_iterations >= 1, got 0");
}

TEST_CASE("spectral norm on Embedding normalises the table", "[spectral_norm]") {
  nn::Embedding table(6, 4, -1, nn::SpectralNormOptions::on());
  table.to(kFloat64);
  Tensor labels = from_vector<int64_t>({0, 5, 2}, {3});
  for (int i = 0; i < 100; ++i) table.forward(labels);
  REQUIRE(std::abs(largest_singular_value(table.weight) - 1.0) < 1e-9);
  REQUIRE(max_abs_diff(table.forward(labels), ops::index_select(table.weight, 0, labels)) < 1e-12);
  REQUIRE(table.state_dict().contains("weight_orig"));
}
