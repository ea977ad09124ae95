// tests/test_loss.cpp: every loss against values computed by hand for each
// Reduction, ignore_index and label smoothing, float64 gradchecks (with
// transposed views and 3-D class layouts), bce_with_logits at +-100, errors.
#include <cmath>

#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using ops::Reduction;

namespace {

void require_close(const Tensor& got, const std::vector<double>& want, double tol = 1e-12) {
  auto v = got.to_vector<double>();
  REQUIRE(v.size() == want.size());
  for (size_t i = 0; i < v.size(); ++i) {
    INFO("index " << i << ": got " << v[i] << ", want " << want[i]);
    REQUIRE(std::abs(v[i] - want[i]) <= tol);
  }
}

Tensor labels(const std::vector<int64_t>& v, const Shape& shape) { return from_vector<int64_t>(v, shape); }
Tensor labels(const std::vector<int64_t>& v) { return from_vector<int64_t>(v); }

const std::vector<Reduction> kReductions = {Reduction::None, Reduction::Mean, Reduction::Sum};

}  // namespace

// ---- nll_loss ----

TEST_CASE("nll_loss picks -log_probs[n, target[n]] and reduces", "[loss]") {
  Tensor lp = from_vector<double>({-1.0, -2.0, -0.5, -3.0,   //
                                   -0.1, -2.5, -1.5, -0.7,   //
                                   -2.2, -0.3, -1.1, -0.9}, {3, 4});
  Tensor t = labels({1, 0, 3});
  require_close(ops::nll_loss(lp, t, Reduction::None), {2.0, 0.1, 0.9});
  require_close(ops::nll_loss(lp, t, Reduction::Sum), {3.0});
  require_close(ops::nll_loss(lp, t, Reduction::Mean), {1.0});
  REQUIRE(ops::nll_loss(lp, t).dim() == 0);
}

TEST_CASE("nll_loss skips ignore_index and divides the mean by the others", "[loss]") {
  Tensor lp = from_vector<double>({-1.0, -2.0, -0.5, -3.0,   //
                                   -0.1, -2.5, -1.5, -0.7,   //
                                   -2.2, -0.3, -1.1, -0.9}, {3, 4});
  Tensor t = labels({1, -100, 3});
  require_close(ops::nll_loss(lp, t, Reduction::None), {2.0, 0.0, 0.9});
  require_close(ops::nll_loss(lp, t, Reduction::Sum), {2.9});
  require_close(ops::nll_loss(lp, t, Reduction::Mean), {1.45});
  // a custom ignore_index that is also a valid class
  require_close(ops::nll_loss(lp, labels({2, 0, 2}), Reduction::Mean, 2), {0.1});
  // every target ignored: 0 / 0, as PyTorch
  REQUIRE(std::isnan(ops::nll_loss(lp, labels({-100, -100, -100})).item()));
}

TEST_CASE("nll_loss stays finite where an ignored row holds -inf", "[loss]") {
  // log_softmax underflows to -inf for very unlikely classes; an ignored
  // position must not turn that into NaN (0 * -inf) in the loss or gradient
  Tensor lp = from_vector<double>({-INFINITY, -0.5, -1.0, -2.0}, {2, 2}).requires_grad_();
  Tensor l = ops::nll_loss(lp, labels({-100, 1}), Reduction::Sum);
  REQUIRE(l.item() == 2.0);
  l.backward();
  require_close(lp.grad(), {0, 0, 0, -1});
}

TEST_CASE("nll_loss on [N, C, d] picks along dim 1", "[loss]") {
  // -lp[n, c, d] = (6n + 2c + d + 1) / 10
  std::vector<double> v;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int d = 0; d < 2; ++d) v.push_back(-(6 * n + 2 * c + d + 1) / 10.0);
  Tensor lp = from_vector<double>(v, {2, 3, 2});
  Tensor t = labels({2, 0, 1, 2}, {2, 2});
  Tensor l = ops::nll_loss(lp, t, Reduction::None);
  REQUIRE(l.shape() == Shape{2, 2});
  require_close(l, {0.5, 0.2, 0.9, 1.2});
  require_close(ops::nll_loss(lp, t), {(0.5 + 0.2 + 0.9 + 1.2) / 4});
}

TEST_CASE("nll_loss takes a single sample [C] with a 0-d target", "[loss]") {
  Tensor lp = from_vector<double>({-1.0, -2.0, -0.5});
  require_close(ops::nll_loss(lp, scalar_tensor(2, kInt64)), {0.5});
}

TEST_CASE("nll_loss grads match finite differences", "[loss][grad]") {
  Tensor lp = leaf({4, 5}), lp3 = leaf({2, 3, 4});
  Tensor t = labels({1, -100, 4, 0});
  Tensor t3 = labels({0, 2, 1, -100, 2, 2, 0, 1}, {2, 4});
  for (Reduction r : kReductions) {
    REQUIRE_GRADCHECK([&] { return ops::nll_loss(lp, t, r); }, (std::vector<Tensor>{lp}));
    REQUIRE_GRADCHECK([&] { return ops::nll_loss(lp3, t3, r); }, (std::vector<Tensor>{lp3}));
  }
}

// ---- cross_entropy ----

TEST_CASE("cross_entropy is logsumexp minus the target logit", "[loss]") {
  Tensor logits = from_vector<double>({1, 2, 3, 1, 1, 1}, {2, 3});
  Tensor t = labels({2, 0});
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double l0 = lse0 - 3.0, l1 = std::log(3.0);
  REQUIRE(l0 == Approx(0.40760596444));
  require_close(ops::cross_entropy(logits, t, Reduction::None), {l0, l1});
  require_close(ops::cross_entropy(logits, t, Reduction::Sum), {l0 + l1});
  require_close(ops::cross_entropy(logits, t), {(l0 + l1) / 2});
  require_close(ops::cross_entropy(logits, labels({2, -100})), {l0});
}

TEST_CASE("cross_entropy with label smoothing mixes in the mean over classes", "[loss]") {
  Tensor logits = from_vector<double>({1, 2, 3, 1, 1, 1}, {2, 3});
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  // row 0: nll = lse0 - 3, mean_c(-log p_c) = lse0 - 2; row 1: both log 3
  const double l0 = 0.9 * (lse0 - 3.0) + 0.1 * (lse0 - 2.0), l1 = std::log(3.0);
  REQUIRE(l0 == Approx(0.50760596444));
  Tensor t = labels({2, 0});
  require_close(ops::cross_entropy(logits, t, Reduction::None, -100, 0.1), {l0, l1});
  require_close(ops::cross_entropy(logits, t, Reduction::Sum, -100, 0.1), {l0 + l1});
  require_close(ops::cross_entropy(logits, t, Reduction::Mean, -100, 0.1), {(l0 + l1) / 2});
  // the ignored row contributes neither part, and the mean counts only row 0
  Tensor ti = labels({2, -100});
  require_close(ops::cross_entropy(logits, ti, Reduction::None, -100, 0.1), {l0, 0.0});
  require_close(ops::cross_entropy(logits, ti, Reduction::Mean, -100, 0.1), {l0});
  require_close(ops::cross_entropy(logits, ti, Reduction::Sum, -100, 0.1), {l0});
}

TEST_CASE("cross_entropy on [N, C, d] matches the per-position 2-D loss", "[loss]") {
  Tensor logits = uniform({2, 3, 4}, -2, 2, kFloat64);
  Tensor t = labels({0, 2, 1, 1, 2, 2, 0, 1}, {2, 4});
  Tensor l = ops::cross_entropy(logits, t, Reduction::None, -100, 0.2);
  REQUIRE(l.shape() == Shape{2, 4});
  // the same positions laid out as [8, 3] rows
  Tensor flat = logits.permute({0, 2, 1}).reshape({8, 3});
  Tensor want = ops::cross_entropy(flat, t.reshape({8}), Reduction::None, -100, 0.2);
  REQUIRE(max_abs_diff(l.reshape({8}), want) < 1e-12);
}

TEST_CASE("cross_entropy grads match finite differences", "[loss][grad]") {
  Tensor base = leaf({4, 3}, -2, 2);  // read transposed as [3, 4]
  Tensor x3 = leaf({2, 3, 4}, -2, 2);
  Tensor t = labels({3, 0, -100});
  Tensor t3 = labels({0, 2, 1, -100, 2, 2, 0, 1}, {2, 4});
  for (Reduction r : kReductions)
    for (double ls : {0.0, 0.2}) {
      INFO("label_smoothing " << ls);
      REQUIRE_GRADCHECK([&] { return ops::cross_entropy(base.t(), t, r, -100, ls); },
                        (std::vector<Tensor>{base}));
      REQUIRE_GRADCHECK([&] { return ops::cross_entropy(x3, t3, r, -100, ls); },
                        (std::vector<Tensor>{x3}));
    }
}

TEST_CASE("cross_entropy second derivatives match finite differences", "[loss][grad][higher-order]") {
  Tensor x = leaf({3, 4}, -2, 2);
  Tensor t = labels({3, 0, 1});
  auto r = gradgradcheck([&] { return ops::cross_entropy(x, t, Reduction::Mean, -100, 0.1); }, {x});
  INFO(r.report);
  REQUIRE(r.ok);
}

// ---- mse_loss, huber_loss ----

TEST_CASE("mse_loss squares the differences and reduces", "[loss]") {
  Tensor x = from_vector<double>({1, 2, 3}), y = from_vector<double>({0, 2, 5});
  require_close(ops::mse_loss(x, y, Reduction::None), {1, 0, 4});
  require_close(ops::mse_loss(x, y, Reduction::Sum), {5});
  require_close(ops::mse_loss(x, y), {5.0 / 3});
}

TEST_CASE("huber_loss is quadratic inside delta and linear outside", "[loss]") {
  Tensor x = from_vector<double>({0.5, -2, 3}), y = zeros({3}, kFloat64);
  require_close(ops::huber_loss(x, y, Reduction::None), {0.125, 1.5, 2.5});
  require_close(ops::huber_loss(x, y, Reduction::Sum), {4.125});
  require_close(ops::huber_loss(x, y), {4.125 / 3});
  // delta 2: |-2| sits on the seam, where both branches give 2
  require_close(ops::huber_loss(x, y, Reduction::None, 2.0), {0.125, 2.0, 4.0});
}

TEST_CASE("mse_loss and huber_loss grads match finite differences", "[loss][grad]") {
  Tensor base = leaf({4, 3}, -3, 3), y = leaf({3, 4}, -3, 3);
  for (Reduction r : kReductions) {
    REQUIRE_GRADCHECK([&] { return ops::mse_loss(base.t(), y, r); }, (std::vector<Tensor>{base, y}));
    REQUIRE_GRADCHECK([&] { return ops::huber_loss(base.t(), y, r, 1.5); },
                      (std::vector<Tensor>{base, y}));
  }
}

// ---- binary_cross_entropy_with_logits ----

TEST_CASE("bce_with_logits matches -[t log s(x) + (1 - t) log(1 - s(x))]", "[loss]") {
  std::vector<double> xs{0.5, -1, 2}, ts{1, 0, 0.5};
  Tensor x = from_vector<double>(xs), t = from_vector<double>(ts);
  std::vector<double> plain, weighted;
  for (size_t i = 0; i < 3; ++i) {
    double s = 1.0 / (1.0 + std::exp(-xs[i]));
    plain.push_back(-(ts[i] * std::log(s) + (1 - ts[i]) * std::log(1 - s)));
    weighted.push_back(-(2.0 * ts[i] * std::log(s) + (1 - ts[i]) * std::log(1 - s)));
  }
  require_close(ops::binary_cross_entropy_with_logits(x, t, Reduction::None), plain);
  require_close(ops::binary_cross_entropy_with_logits(x, t, Reduction::Sum),
                {plain[0] + plain[1] + plain[2]});
  require_close(ops::binary_cross_entropy_with_logits(x, t),
                {(plain[0] + plain[1] + plain[2]) / 3});
  Tensor pw = from_vector<double>({2.0});
  require_close(ops::binary_cross_entropy_with_logits(x, t, Reduction::None, pw), weighted);
}

TEST_CASE("bce_with_logits stays finite at logits +-100", "[loss]") {
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = from_vector({100.0, -100.0, 100.0, -100.0}, {4}, dt).requires_grad_();
    Tensor t = from_vector({1.0, 0.0, 0.0, 1.0}, {4}, dt);
    Tensor l = ops::binary_cross_entropy_with_logits(x, t, Reduction::None);
    require_close(l, {0, 0, 100, 100}, 1e-4);
    ops::mean(l).backward();
    // d/dx = (sigmoid(x) - t) / 4
    require_close(x.grad(), {0, 0, 0.25, -0.25}, 1e-6);
    Tensor lw = ops::binary_cross_entropy_with_logits(x, t, Reduction::None,
                                                      from_vector({3.0}, {1}, dt));
    require_close(lw, {0, 0, 100, 300}, 1e-4);
  }
}

TEST_CASE("bce_with_logits grads match finite differences", "[loss][grad]") {
  Tensor x = leaf({3, 4}, -3, 3), t = leaf({3, 4}, 0, 1), pw = leaf({4}, 0.5, 3);
  Tensor base = leaf({4, 3}, -3, 3);
  for (Reduction r : kReductions) {
    REQUIRE_GRADCHECK([&] { return ops::binary_cross_entropy_with_logits(x, t, r); },
                      (std::vector<Tensor>{x, t}));
    REQUIRE_GRADCHECK([&] { return ops::binary_cross_entropy_with_logits(base.t(), t, r, pw); },
                      (std::vector<Tensor>{base, t, pw}));
  }
}

TEST_CASE("bce_with_logits gradient at logit 0 is sigmoid(0) - t", "[loss][grad]") {
  // a zero-initialised last layer gives exactly 0: the subgradients of relu
  // and abs must not leak into the result there
  Tensor x = zeros({2}, kFloat64).requires_grad_();
  Tensor t = from_vector<double>({1.0, 0.0});
  ops::binary_cross_entropy_with_logits(x, t, Reduction::Sum).backward();
  require_close(x.grad(), {-0.5, 0.5});
}

// ---- GAN hinge losses ----

TEST_CASE("hinge losses follow the SN-GAN definitions", "[loss]") {
  Tensor d_real = from_vector<double>({0.5, 2, -1.5}), d_fake = from_vector<double>({0.5, -2, 0});
  require_close(ops::hinge_loss_d_real(d_real), {(0.5 + 0 + 2.5) / 3});
  require_close(ops::hinge_loss_d_fake(d_fake), {(1.5 + 0 + 1) / 3});
  require_close(ops::hinge_loss_d(d_real, d_fake), {1.0 + 2.5 / 3});
  require_close(ops::hinge_loss_g(d_fake), {1.5 / 3});
}

TEST_CASE("hinge loss grads match finite differences", "[loss][grad]") {
  // values off the kinks at +-1
  Tensor r = from_vector<double>({0.5, 2, -1.5, 0.2}).requires_grad_();
  Tensor f = from_vector<double>({0.5, -2, 0.1, -0.3}).requires_grad_();
  REQUIRE_GRADCHECK([&] { return ops::hinge_loss_d_real(r); }, (std::vector<Tensor>{r}));
  REQUIRE_GRADCHECK([&] { return ops::hinge_loss_d_fake(f); }, (std::vector<Tensor>{f}));
  REQUIRE_GRADCHECK([&] { return ops::hinge_loss_d(r, f); }, (std::vector<Tensor>{r, f}));
  REQUIRE_GRADCHECK([&] { return ops::hinge_loss_g(f); }, (std::vector<Tensor>{f}));
}

// ---- errors ----

TEST_CASE("losses reject mismatched targets naming the op and both shapes", "[loss][errors]") {
  Tensor x = randn({2, 3}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::mse_loss(x, randn({3, 2}, kFloat64)),
                      "mse_loss: target shape [3, 2] does not match input shape [2, 3]");
  REQUIRE_THROWS_NOVA(ops::mse_loss(x, randn({2, 3})), "mse_loss: dtype mismatch");
  REQUIRE_THROWS_NOVA(ops::huber_loss(x, randn({2}, kFloat64)), "huber_loss: target shape [2]");
  REQUIRE_THROWS_NOVA(ops::huber_loss(x, x, Reduction::Mean, 0.0), "huber_loss: delta must be > 0");
  REQUIRE_THROWS_NOVA(ops::binary_cross_entropy_with_logits(x, randn({2, 1}, kFloat64)),
                      "binary_cross_entropy_with_logits: target shape [2, 1] does not match input shape [2, 3]");
  REQUIRE_THROWS_NOVA(ops::binary_cross_entropy_with_logits(x, x, Reduction::Mean, randn({2}, kFloat64)),
                      "pos_weight [2]");
  REQUIRE_THROWS_NOVA(ops::nll_loss(x, labels({0, 1, 2})),
                      "nll_loss: target [3] does not match input [2, 3]");
  REQUIRE_THROWS_NOVA(ops::nll_loss(x, from_vector<double>({0, 1})),
                      "nll_loss: target must hold int64 class indices, got float64 [2]");
  REQUIRE_THROWS_NOVA(ops::cross_entropy(x, labels({0, 1, 2}, {1, 3})),
                      "cross_entropy: target [1, 3] does not match input [2, 3]");
  REQUIRE_THROWS_NOVA(ops::cross_entropy(x, labels({0, 1}), Reduction::Mean, -100, 1.5),
                      "cross_entropy: label_smoothing must be in [0, 1]");
}

TEST_CASE("class losses reject targets outside [0, C) naming the value", "[loss][errors]") {
  Tensor x = randn({3, 4}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::nll_loss(x, labels({1, 4, 0})), "nll_loss: target 4 is out of bounds for 4 classes");
  REQUIRE_THROWS_NOVA(ops::cross_entropy(x, labels({-1, 0, 0})), "cross_entropy: target -1 is out of bounds");
  // ignore_index itself is allowed even though it is out of range
  REQUIRE_NOTHROW(ops::cross_entropy(x, labels({-100, 0, 3})));
}
