// tests/test_normalization.cpp: layer_norm and batch_norm: forward values
// computed by hand (or by plain loops in float64), running-statistic updates,
// float64 gradchecks of every input (and second order for x), bad inputs.
#include <cmath>

#include "kernels/normalization.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Reference layer_norm of contiguous rows: each row of `cols` values is
/// normalised with its mean and biased variance, then w * xhat + b.
std::vector<double> layer_norm_reference(const std::vector<double>& x, int64_t cols, double eps,
                                         const std::vector<double>& w = {},
                                         const std::vector<double>& b = {}) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < cols; ++j) m += x[r * cols + j];
    m /= cols;
    for (int64_t j = 0; j < cols; ++j) v += (x[r * cols + j] - m) * (x[r * cols + j] - m);
    v /= cols;
    for (int64_t j = 0; j < cols; ++j) {
      double h = (x[r * cols + j] - m) / std::sqrt(v + eps);
      y[r * cols + j] = h * (w.empty() ? 1.0 : w[j]) + (b.empty() ? 0.0 : b[j]);
    }
  }
  return y;
}

void require_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("index " << i << ": got " << got[i] << ", want " << want[i]);
    REQUIRE(std::abs(got[i] - want[i]) <= tol);
  }
}

}  // namespace

// ---- layer_norm ----

TEST_CASE("layer_norm rows have mean 0 and biased variance 1 before the affine", "[norm]") {
  // row 0: mean 2.5, biased var 1.25; row 1: mean 5, biased var 5
  Tensor x = from_vector<double>({1, 2, 3, 4, 2, 4, 6, 8}, {2, 4});
  Tensor y = ops::layer_norm(x, {4}, {}, {}, 0.0);
  const double s0 = std::sqrt(1.25), s1 = std::sqrt(5.0);
  require_close(y.to_vector<double>(),
                {-1.5 / s0, -0.5 / s0, 0.5 / s0, 1.5 / s0, -3 / s1, -1 / s1, 1 / s1, 3 / s1}, 1e-12);
  Tensor row_mean = ops::mean(y, {1});
  Tensor row_var = ops::mean(y * y, {1});
  require_close(row_mean.to_vector<double>(), {0, 0}, 1e-12);
  require_close(row_var.to_vector<double>(), {1, 1}, 1e-12);
}

TEST_CASE("layer_norm adds eps to the variance", "[norm]") {
  Tensor x = from_vector<double>({1, 2, 3, 4}, {1, 4});
  Tensor y = ops::layer_norm(x, {4}, {}, {}, 0.25);
  const double s = std::sqrt(1.25 + 0.25);
  require_close(y.to_vector<double>(), {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, 1e-12);
}

TEST_CASE("layer_norm applies weight and bias per normalized feature", "[norm]") {
  Tensor x = from_vector<double>({1, 2, 3, 4, 2, 4, 6, 8}, {2, 4});
  Tensor w = from_vector<double>({1, 2, 0.5, -1});
  Tensor b = from_vector<double>({0, 1, 2, 3});
  Tensor y = ops::layer_norm(x, {4}, w, b);
  const double s0 = std::sqrt(1.25 + 1e-5);
  auto v = y.to_vector<double>();
  REQUIRE(v[0] == Approx(-1.5 / s0 * 1 + 0));
  REQUIRE(v[1] == Approx(-0.5 / s0 * 2 + 1));
  REQUIRE(v[2] == Approx(0.5 / s0 * 0.5 + 2));
  REQUIRE(v[3] == Approx(1.5 / s0 * -1 + 3));
  require_close(v, layer_norm_reference(x.to_vector<double>(), 4, 1e-5, w.to_vector<double>(),
                                        b.to_vector<double>()), 1e-12);
}

TEST_CASE("layer_norm normalizes over two trailing dims together", "[norm]") {
  Tensor x = uniform({3, 2, 5}, -2, 3, kFloat64);
  Tensor w = uniform({2, 5}, 0.5, 1.5, kFloat64), b = uniform({2, 5}, -1, 1, kFloat64);
  Tensor y = ops::layer_norm(x, {2, 5}, w, b);
  REQUIRE(y.shape() == Shape{3, 2, 5});
  require_close(y.to_vector<double>(),
                layer_norm_reference(x.to_vector<double>(), 10, 1e-5, w.to_vector<double>(),
                                     b.to_vector<double>()), 1e-12);
}

TEST_CASE("layer_norm in float32 keeps precision for inputs with a large mean", "[norm]") {
  // statistics accumulate in double: a naive float32 E[x^2] - E[x]^2 would lose
  // every digit of a variance of ~1 around a mean of 1e4
  Tensor x64 = from_vector<double>({10000, 10001, 10002, 10003}, {1, 4});
  Tensor y = ops::layer_norm(x64.to(kFloat32), {4});
  REQUIRE(y.dtype() == kFloat32);
  require_close(y.to_vector<double>(), ops::layer_norm(x64, {4}).to_vector<double>(), 1e-5);
}

TEST_CASE("layer_norm grads match finite differences", "[norm][grad]") {
  Tensor x = leaf({3, 5}, -2, 2), w = leaf({5}, 0.5, 1.5), b = leaf({5});
  REQUIRE_GRADCHECK([&] { return ops::layer_norm(x, {5}, w, b); }, (std::vector<Tensor>{x, w, b}));
  REQUIRE_GRADCHECK([&] { return ops::layer_norm(x, {5}); }, (std::vector<Tensor>{x}));
}

TEST_CASE("layer_norm grads match finite differences over 2 dims of a transposed view", "[norm][grad]") {
  // the input is a non-contiguous view of the leaf
  Tensor base = leaf({4, 2, 3}, -2, 2), w = leaf({2, 4}, 0.5, 1.5), b = leaf({2, 4});
  auto fn = [&] { return ops::layer_norm(base.permute({2, 1, 0}), {2, 4}, w, b); };
  REQUIRE_GRADCHECK(fn, (std::vector<Tensor>{base, w, b}));
}

TEST_CASE("layer_norm second derivatives match finite differences", "[norm][grad][higher-order]") {
  Tensor x = leaf({3, 4}, -2, 2), w = leaf({4}, 0.5, 1.5), b = leaf({4});
  auto r = gradgradcheck([&] { return ops::layer_norm(x, {4}, w, b); }, {x, w});
  INFO(r.report);
  REQUIRE(r.ok);
  auto r2 = gradgradcheck([&] { return ops::layer_norm(x, {4}); }, {x});
  INFO(r2.report);
  REQUIRE(r2.ok);
}

TEST_CASE("layer_norm rejects mismatched shapes and dtypes", "[norm][errors]") {
  Tensor x = randn({2, 3}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::layer_norm(x, {4}), "layer_norm: normalized_shape [4]");
  REQUIRE_THROWS_NOVA(ops::layer_norm(x, {2, 2, 3}), "[2, 3]");
  REQUIRE_THROWS_NOVA(ops::layer_norm(x, {3}, randn({4}, kFloat64)), "layer_norm: weight must have shape [3], got [4]");
  REQUIRE_THROWS_NOVA(ops::layer_norm(x, {3}, {}, randn({3})), "layer_norm: dtype mismatch");
  REQUIRE_THROWS_NOVA(ops::layer_norm(arange(6).reshape({2, 3}), {3}), "layer_norm");
}

// ---- batch_norm ----

TEST_CASE("batch_norm in training normalizes each channel with batch statistics", "[norm]") {
  // channel 0: 1, 2, 3, 4 (mean 2.5, biased var 1.25); channel 1: 2, 4, 6, 8 (mean 5, var 5)
  Tensor x = from_vector<double>({1, 2, 2, 4, 3, 6, 4, 8}, {4, 2});
  Tensor w = from_vector<double>({2, -1}), b = from_vector<double>({0.5, 1});
  Tensor y = ops::batch_norm(x, {}, {}, w, b, true);
  const double s0 = std::sqrt(1.25 + 1e-5), s1 = std::sqrt(5 + 1e-5);
  require_close(y.to_vector<double>(),
                {-1.5 / s0 * 2 + 0.5, -3 / s1 * -1 + 1, -0.5 / s0 * 2 + 0.5, -1 / s1 * -1 + 1,
                 0.5 / s0 * 2 + 0.5, 1 / s1 * -1 + 1, 1.5 / s0 * 2 + 0.5, 3 / s1 * -1 + 1},
                1e-12);
}

TEST_CASE("batch_norm on [N, C, L] takes statistics over N and L", "[norm]") {
  Tensor x = uniform({3, 2, 4}, -1, 2, kFloat64);
  Tensor y = ops::batch_norm(x, {}, {}, {}, {}, true);
  // reference: move C first, then each channel is one row of layer_norm
  Tensor xc = x.permute({1, 0, 2}).contiguous();
  auto want_c = layer_norm_reference(xc.to_vector<double>(), 12, 1e-5);
  Tensor want = from_vector<double>(want_c, {2, 3, 4}).permute({1, 0, 2}).contiguous();
  require_close(y.to_vector<double>(), want.to_vector<double>(), 1e-12);
}

TEST_CASE("batch_norm updates running stats with the unbiased batch variance", "[norm]") {
  Tensor x = from_vector<double>({1, 2, 2, 4, 3, 6, 4, 8}, {4, 2});
  Tensor rm = zeros({2}, kFloat64), rv = ones({2}, kFloat64);
  ops::batch_norm(x, rm, rv, {}, {}, true, 0.1);
  // unbiased var: 1.25 * 4/3 and 5 * 4/3
  require_close(rm.to_vector<double>(), {0.1 * 2.5, 0.1 * 5}, 1e-12);
  require_close(rv.to_vector<double>(), {0.9 + 0.1 * (5.0 / 3), 0.9 + 0.1 * (20.0 / 3)}, 1e-12);

  // second step: channel 0: 0, 0, 2, 2 (mean 1, unbiased var 4/3); channel 1: 1, 1, 1, 5 (mean 2, var 4)
  Tensor x2 = from_vector<double>({0, 1, 0, 1, 2, 1, 2, 5}, {4, 2});
  ops::batch_norm(x2, rm, rv, {}, {}, true, 0.1);
  require_close(rm.to_vector<double>(), {0.9 * 0.25 + 0.1 * 1, 0.9 * 0.5 + 0.1 * 2}, 1e-12);
  require_close(rv.to_vector<double>(),
                {0.9 * (0.9 + 0.5 / 3) + 0.1 * (4.0 / 3), 0.9 * (0.9 + 2.0 / 3) + 0.1 * 4}, 1e-12);
}

TEST_CASE("batch_norm in eval uses the running stats and leaves them unchanged", "[norm]") {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor rm = from_vector<double>({1, -1}), rv = from_vector<double>({4, 0.25});
  Tensor w = from_vector<double>({2, 3}), b = from_vector<double>({0, 1});
  Tensor y = ops::batch_norm(x, rm, rv, w, b, false, 0.1, 0.0);
  require_close(y.to_vector<double>(),
                {(1 - 1) / 2.0 * 2, (2 + 1) / 0.5 * 3 + 1, (3 - 1) / 2.0 * 2, (4 + 1) / 0.5 * 3 + 1,
                 (5 - 1) / 2.0 * 2, (6 + 1) / 0.5 * 3 + 1},
                1e-12);
  require_close(rm.to_vector<double>(), {1, -1}, 0);
  require_close(rv.to_vector<double>(), {4, 0.25}, 0);
}

TEST_CASE("batch_norm grads match finite differences in training", "[norm][grad]") {
  Tensor w = leaf({3}, 0.5, 1.5), b = leaf({3});
  Tensor rm = zeros({3}, kFloat64), rv = ones({3}, kFloat64);
  SECTION("2-D input") {
    Tensor x = leaf({5, 3}, -2, 2);
    REQUIRE_GRADCHECK([&] { return ops::batch_norm(x, rm, rv, w, b, true); },
                      (std::vector<Tensor>{x, w, b}));
  }
  SECTION("3-D input, transposed view") {
    Tensor base = leaf({4, 3, 2}, -2, 2);  // read as [2, 3, 4]
    REQUIRE_GRADCHECK([&] { return ops::batch_norm(base.transpose(0, 2), rm, rv, w, b, true); },
                      (std::vector<Tensor>{base, w, b}));
  }
  SECTION("no affine, no running stats") {
    Tensor x = leaf({2, 3, 3}, -2, 2);
    REQUIRE_GRADCHECK([&] { return ops::batch_norm(x, {}, {}, {}, {}, true); }, (std::vector<Tensor>{x}));
  }
}

TEST_CASE("batch_norm grads match finite differences in eval", "[norm][grad]") {
  Tensor w = leaf({3}, 0.5, 1.5), b = leaf({3});
  Tensor rm = uniform({3}, -1, 1, kFloat64), rv = uniform({3}, 0.5, 2, kFloat64);
  Tensor x2 = leaf({4, 3}, -2, 2), x3 = leaf({2, 3, 4}, -2, 2);
  REQUIRE_GRADCHECK([&] { return ops::batch_norm(x2, rm, rv, w, b, false); },
                    (std::vector<Tensor>{x2, w, b}));
  REQUIRE_GRADCHECK([&] { return ops::batch_norm(x3, rm, rv, w, b, false); },
                    (std::vector<Tensor>{x3, w, b}));
}

TEST_CASE("batch_norm second derivatives match finite differences", "[norm][grad][higher-order]") {
  Tensor x = leaf({4, 2, 3}, -2, 2), w = leaf({2}, 0.5, 1.5), b = leaf({2});
  auto r = gradgradcheck([&] { return ops::batch_norm(x, {}, {}, w, b, true); }, {x, w});
  INFO(r.report);
  REQUIRE(r.ok);
}

// With batch statistics and no graph recorded, the CPU backward is one
// kernel (kernels/cpu/batch_norm_backward.h). It must give the bits of the
// ops it replaced, written out here with the statistics the forward kernel
// computes: the README's trained results came from those ops.
TEST_CASE("batch_norm backward kernel gives the composed ops' bits", "[norm][grad]") {
  struct Case {
    Shape shape;
    bool affine;
  };
  for (DType dt : {kFloat32, kFloat64})
    for (const Case& k : {Case{{6, 5, 3, 7}, true}, Case{{9, 11}, true}, Case{{4, 9, 13}, false},
                          Case{{32, 16, 8, 8}, true}}) {
      INFO(dtype_name(dt) << " " << k.shape.str() << (k.affine ? " affine" : ""));
      const int64_t C = k.shape[1];
      Tensor x = uniform(k.shape, -2.0, 3.0, dt).requires_grad_();
      Tensor w = k.affine ? uniform({C}, 0.5, 1.5, dt).requires_grad_() : Tensor();
      Tensor b = k.affine ? uniform({C}, -0.5, 0.5, dt).requires_grad_() : Tensor();
      Tensor g = uniform(k.shape, -1.0, 1.0, dt);
      ops::batch_norm(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5).backward(g);
      // the old backward, op by op, on the forward kernel's own statistics
      NoGradGuard no_grad;
      const int64_t N = k.shape[0], L = x.numel() / (N * C);
      Tensor mu = empty({C}, dt), var = empty({C}, dt);
      cpu::batch_norm_stats(x.detach().contiguous().view({N, C, L}), mu, var);
      Shape bshape = Shape::filled(x.dim(), 1);
      bshape[1] = C;
      Tensor mu_b = mu.reshape(bshape), rstd_b = ops::rsqrt(var + 1e-5).reshape(bshape);
      std::vector<int64_t> dims{0};
      for (int d = 2; d < x.dim(); ++d) dims.push_back(d);
      Tensor xd = x.detach();
      Tensor xhat = (xd - mu_b) * rstd_b;
      Tensor dxhat = k.affine ? g * w.detach().reshape(bshape) : g;
      Tensor gx = rstd_b * (dxhat - ops::mean(dxhat, dims, true) - xhat * ops::mean(dxhat * xhat, dims, true));
      REQUIRE(same_bits(x.grad(), gx));
      if (k.affine) {
        REQUIRE(same_bits(w.grad(), ops::sum(g * xhat, dims)));
        REQUIRE(same_bits(b.grad(), ops::sum(g, dims)));
      }
    }
}

TEST_CASE("batch_norm rejects bad channel counts and single values in training", "[norm][errors]") {
  Tensor x = randn({4, 3}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::batch_norm(x, {}, {}, randn({2}, kFloat64), {}, true),
                      "batch_norm: weight must have shape [3], got [2]");
  REQUIRE_THROWS_NOVA(ops::batch_norm(x, zeros({4}, kFloat64), ones({4}, kFloat64), {}, {}, false),
                      "batch_norm: running_mean must have shape [3], got [4]");
  REQUIRE_THROWS_NOVA(ops::batch_norm(randn({1, 3}, kFloat64), {}, {}, {}, {}, true),
                      "expected more than 1 value per channel when training");
  REQUIRE_THROWS_NOVA(ops::batch_norm(randn({3}, kFloat64), {}, {}, {}, {}, true),
                      "batch_norm: input must be [N, C]");
  // one value per channel is fine in eval: the running stats normalise it
  REQUIRE_NOTHROW(ops::batch_norm(randn({1, 3}, kFloat64), zeros({3}, kFloat64),
                                  ones({3}, kFloat64), {}, {}, false));
}
