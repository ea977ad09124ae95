// tests/test_linalg.cpp: inverse and solve: A A^-1 = I, solve against
// inverse @ b, batch broadcasting, vector right-hand sides, gradients by
// finite differences (first and second order), singular and ill-shaped input;
// eigh against a hand-computed case and the reconstruction V diag(w) V^T.
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Random [..., n, n] matrices dominated by n I, so far from singular; a
/// float64 leaf with requires_grad unless dtype says otherwise.
Tensor well_conditioned(const Shape& shape, DType dtype = kFloat64) {
  const int64_t n = shape.back();
  Tensor a = (uniform(shape, -1.0, 1.0, kFloat64) + eye(n, n, kFloat64) * double(n)).to(dtype);
  return dtype == kFloat64 ? a.requires_grad_() : a;
}

/// Identity matrices broadcast to `shape` ([..., n, n]), float64.
Tensor identity_like(const Shape& shape) { return eye(shape.back(), shape.back(), kFloat64).expand(shape); }

}  // namespace

TEST_CASE("inverse of a 2x2 matrix equals the hand-computed inverse", "[linalg]") {
  Tensor a = from_vector<double>({4, 7, 2, 6}, {2, 2});  // det 10
  Tensor expected = from_vector<double>({0.6, -0.7, -0.2, 0.4}, {2, 2});
  REQUIRE(max_abs_diff(ops::inverse(a), expected) < 1e-15);
}

TEST_CASE("A times its inverse is the identity", "[linalg]") {
  for (int64_t n : {1, 2, 5, 16}) {
    INFO("n = " << n);
    Tensor a = well_conditioned({n, n});
    Tensor y = ops::inverse(a);
    REQUIRE(y.shape() == a.shape());
    REQUIRE(max_abs_diff(ops::matmul(a, y), identity_like(a.shape())) < 1e-12);
    REQUIRE(max_abs_diff(ops::matmul(y, a), identity_like(a.shape())) < 1e-12);
  }
}

TEST_CASE("inverse inverts every matrix of a batch", "[linalg]") {
  Tensor a = well_conditioned({3, 2, 4, 4});
  Tensor y = ops::inverse(a);
  REQUIRE(y.shape() == Shape{3, 2, 4, 4});
  REQUIRE(max_abs_diff(ops::matmul(a, y), identity_like(a.shape())) < 1e-12);
  // matrix i of the batch inverted alone gives the same result
  Tensor one = ops::inverse(a.select(0, 2).select(0, 1));
  REQUIRE(max_abs_diff(one, y.select(0, 2).select(0, 1)) < 1e-15);
}

TEST_CASE("inverse reads transposed and expanded inputs", "[linalg]") {
  Tensor a = well_conditioned({5, 5});
  // (A^T)^-1 = (A^-1)^T
  REQUIRE(max_abs_diff(ops::inverse(a.t()), ops::inverse(a).t()) < 1e-14);
  Tensor batch = a.unsqueeze(0).expand({3, 5, 5});  // stride 0 over the batch
  Tensor y = ops::inverse(batch);
  for (int64_t i = 0; i < 3; ++i) REQUIRE(max_abs_diff(y.select(0, i), ops::inverse(a)) < 1e-15);
}

TEST_CASE("inverse in float32 is accurate to float32 rounding", "[linalg]") {
  Tensor a64 = well_conditioned({2, 6, 6}).detach();
  Tensor y32 = ops::inverse(a64.to(kFloat32));
  REQUIRE(y32.dtype() == kFloat32);
  REQUIRE(max_abs_diff(y32.to(kFloat64), ops::inverse(a64)) < 1e-6);
}

TEST_CASE("solve agrees with inverse @ b", "[linalg]") {
  Tensor a = well_conditioned({4, 4}), b = randn({4, 3}, kFloat64);
  Tensor x = ops::solve(a, b);
  REQUIRE(x.shape() == Shape{4, 3});
  REQUIRE(max_abs_diff(x, ops::matmul(ops::inverse(a), b)) < 1e-12);
  REQUIRE(max_abs_diff(ops::matmul(a, x), b) < 1e-12);
  // batched, with a transposed right-hand side
  Tensor ab = well_conditioned({2, 3, 5, 5}), bt = randn({2, 3, 2, 5}, kFloat64).transpose(-1, -2);
  Tensor xb = ops::solve(ab, bt);
  REQUIRE(xb.shape() == Shape{2, 3, 5, 2});
  REQUIRE(max_abs_diff(xb, ops::matmul(ops::inverse(ab), bt)) < 1e-12);
  // float32
  Tensor x32 = ops::solve(a.to(kFloat32), b.to(kFloat32));
  REQUIRE(x32.dtype() == kFloat32);
  REQUIRE(max_abs_diff(x32.to(kFloat64), x) < 1e-5);
}

TEST_CASE("solve takes vector right-hand sides", "[linalg]") {
  Tensor a = well_conditioned({4, 4}), b = randn({4}, kFloat64);
  Tensor x = ops::solve(a, b);
  REQUIRE(x.shape() == Shape{4});
  REQUIRE(max_abs_diff(ops::matmul(a, x), b) < 1e-12);
  // one vector per matrix: b has a's shape without the last dim
  Tensor ab = well_conditioned({3, 4, 4}), bb = randn({3, 4}, kFloat64);
  Tensor xb = ops::solve(ab, bb);
  REQUIRE(xb.shape() == Shape{3, 4});
  REQUIRE(max_abs_diff(ops::matmul(ab, xb.unsqueeze(-1)).squeeze(-1), bb) < 1e-12);
  // a 1-D b against a batch of matrices
  Tensor xv = ops::solve(ab, b);
  REQUIRE(xv.shape() == Shape{3, 4});
  REQUIRE(max_abs_diff(xv, ops::matmul(ops::inverse(ab), b)) < 1e-12);
}

TEST_CASE("solve broadcasts the batch dims of a and b", "[linalg]") {
  Tensor a = well_conditioned({2, 1, 3, 3}), b = randn({4, 3, 2}, kFloat64);
  Tensor x = ops::solve(a, b);
  REQUIRE(x.shape() == Shape{2, 4, 3, 2});
  REQUIRE(max_abs_diff(x, ops::matmul(ops::inverse(a), b)) < 1e-12);
  // one matrix, many right-hand sides
  Tensor a2 = well_conditioned({3, 3}), b2 = randn({5, 3, 2}, kFloat64);
  REQUIRE(max_abs_diff(ops::solve(a2, b2), ops::matmul(ops::inverse(a2), b2)) < 1e-12);
}

TEST_CASE("inverse grads match finite differences", "[linalg][grad]") {
  Tensor a = well_conditioned({4, 4});
  REQUIRE_GRADCHECK([&] { return ops::inverse(a); }, {a});
  Tensor ab = well_conditioned({2, 3, 3});
  REQUIRE_GRADCHECK([&] { return ops::inverse(ab); }, {ab});
  // through a transposed view and an expanded batch
  REQUIRE_GRADCHECK([&] { return ops::inverse(a.t()); }, {a});
  REQUIRE_GRADCHECK([&] { return ops::inverse(a.unsqueeze(0).expand({2, 4, 4})); }, {a});
}

TEST_CASE("inverse second derivatives match finite differences", "[linalg][grad]") {
  Tensor a = well_conditioned({3, 3});
  auto r = gradgradcheck([&] { return ops::inverse(a); }, {a});
  INFO(r.report);
  REQUIRE(r.ok);
  Tensor ab = well_conditioned({2, 3, 3});
  auto rb = gradgradcheck([&] { return ops::inverse(ab); }, {ab});
  INFO(rb.report);
  REQUIRE(rb.ok);
}

TEST_CASE("solve grads match finite differences", "[linalg][grad]") {
  Tensor a = well_conditioned({4, 4}), b = leaf({4, 2});
  REQUIRE_GRADCHECK([&] { return ops::solve(a, b); }, (std::vector<Tensor>{a, b}));
  Tensor ab = well_conditioned({2, 3, 3}), bb = leaf({2, 3, 2});
  REQUIRE_GRADCHECK([&] { return ops::solve(ab, bb); }, (std::vector<Tensor>{ab, bb}));
  // broadcast batch dims on both sides
  Tensor ac = well_conditioned({2, 1, 3, 3}), bc = leaf({4, 3, 2});
  REQUIRE_GRADCHECK([&] { return ops::solve(ac, bc); }, (std::vector<Tensor>{ac, bc}));
  Tensor one = well_conditioned({3, 3});
  REQUIRE_GRADCHECK([&] { return ops::solve(one, bb); }, (std::vector<Tensor>{one, bb}));
  // vector right-hand sides
  Tensor v = leaf({4});
  REQUIRE_GRADCHECK([&] { return ops::solve(a, v); }, (std::vector<Tensor>{a, v}));
  Tensor vb = leaf({2, 3});
  REQUIRE_GRADCHECK([&] { return ops::solve(ab, vb); }, (std::vector<Tensor>{ab, vb}));
  // transposed operands
  Tensor bt = leaf({2, 4});
  REQUIRE_GRADCHECK([&] { return ops::solve(a.t(), bt.t()); }, (std::vector<Tensor>{a, bt}));
}

TEST_CASE("solve second derivatives match finite differences", "[linalg][grad]") {
  Tensor a = well_conditioned({3, 3}), b = leaf({3, 2});
  auto r = gradgradcheck([&] { return ops::solve(a, b); }, {a, b});
  INFO(r.report);
  REQUIRE(r.ok);
}

TEST_CASE("a singular matrix throws, naming its index in the batch", "[linalg]") {
  Tensor singular = from_vector<double>({1, 2, 2, 4}, {2, 2});  // rank 1
  REQUIRE_THROWS_NOVA(ops::inverse(singular), "inverse: matrix 0 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::inverse(zeros({3, 3})), "inverse: matrix 0 of the batch is singular");
  // the second matrix of a batch
  Tensor batch = zeros({3, 2, 2}, kFloat64);
  batch.select(0, 0).copy_(eye(2, 2, kFloat64));
  batch.select(0, 1).copy_(singular);
  batch.select(0, 2).copy_(eye(2, 2, kFloat64));
  REQUIRE_THROWS_NOVA(ops::inverse(batch), "inverse: matrix 1 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::solve(batch, ones({3, 2, 1}, kFloat64)),
                      "solve: matrix 1 of the batch is singular");
  // singular in exact arithmetic, a tiny nonzero pivot in floating point
  Tensor numerically = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  REQUIRE_THROWS_NOVA(ops::inverse(numerically), "inverse: matrix 0 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::inverse(numerically.to(kFloat32)), "inverse: matrix 0 of the batch is singular");
  // merely ill-conditioned matrices still invert
  Tensor hilbert = empty({4, 4}, kFloat64);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) hilbert.select(0, i).select(0, j).fill_(1.0 / (i + j + 1));
  REQUIRE(max_abs_diff(ops::matmul(hilbert, ops::inverse(hilbert)), identity_like({4, 4})) < 1e-9);
}

TEST_CASE("inverse and solve reject non-square, mismatched and integer input", "[linalg]") {
  REQUIRE_THROWS_NOVA(ops::inverse(randn({2, 3})), "inverse: expected square matrices [..., n, n], got [2, 3]");
  REQUIRE_THROWS_NOVA(ops::inverse(randn({3})), "inverse: expected square matrices [..., n, n], got [3]");
  REQUIRE_THROWS_NOVA(ops::inverse(arange(4).reshape({2, 2})), "inverse: expected a floating tensor");
  REQUIRE_THROWS_NOVA(ops::solve(randn({2, 3}), randn({2, 1})), "solve: expected square matrices");
  REQUIRE_THROWS_NOVA(ops::solve(randn({3, 3}), randn({4, 2})), "solve: a [3, 3] and b [4, 2] do not fit");
  REQUIRE_THROWS_NOVA(ops::solve(randn({3, 3}), randn({4})), "solve: a [3, 3] and b [4] do not fit");
  REQUIRE_THROWS_NOVA(ops::solve(randn({2, 3, 3}), randn({4, 3, 1})), "solve (batch dims): shapes [2] and [4] cannot be broadcast");
  REQUIRE_THROWS_NOVA(ops::solve(randn({3, 3}), randn({3, 1}, kFloat64)), "solve: dtype mismatch");
  REQUIRE_THROWS_NOVA(ops::solve(arange(9).reshape({3, 3}), arange(3)), "solve: expected a floating tensor");
}

namespace {

/// A random symmetric [..., n, n] float64 matrix (B + B^T) / 2.
Tensor random_symmetric(const Shape& shape) {
  Tensor b = uniform(shape, -1.0, 1.0, kFloat64);
  return (b + b.transpose(-1, -2)) * 0.5;
}

/// V diag(w) V^T from an eigh result.
Tensor reconstruct(const ops::EighResult& r) {
  return ops::matmul(r.vectors * r.values.unsqueeze(-2), r.vectors.transpose(-1, -2));
}

}  // namespace

TEST_CASE("eigh of a 2x2 matrix gives the hand-computed eigenpairs", "[linalg][eigh]") {
  // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1)/sqrt2 and (1, 1)/sqrt2
  auto r = ops::eigh(from_vector<double>({2, 1, 1, 2}, {2, 2}));
  REQUIRE(max_abs_diff(r.values, from_vector<double>({1, 3}, {2})) < 1e-14);
  auto v = values(r.vectors);  // row-major: v[row * 2 + col], eigenvector j in column j
  const double h = 1 / std::sqrt(2.0);
  REQUIRE(std::abs(std::abs(v[0]) - h) < 1e-14);
  REQUIRE(std::abs(v[0] + v[2]) < 1e-14);  // first eigenvector is +-(1, -1)/sqrt2
  REQUIRE(std::abs(v[1] - v[3]) < 1e-14);  // second is +-(1, 1)/sqrt2
}

TEST_CASE("eigh reconstructs every matrix of a batch with orthonormal vectors", "[linalg][eigh]") {
  for (int64_t n : {1, 3, 17, 64}) {
    INFO("n = " << n);
    Tensor a = random_symmetric({3, n, n});
    auto r = ops::eigh(a);
    REQUIRE(r.values.shape() == Shape{3, n});
    REQUIRE(r.vectors.shape() == Shape{3, n, n});
    REQUIRE(max_abs_diff(reconstruct(r), a) < 1e-12);
    Tensor vtv = ops::matmul(r.vectors.transpose(-1, -2), r.vectors);
    REQUIRE(max_abs_diff(vtv, identity_like(vtv.shape())) < 1e-12);
    auto w = values(r.values);
    for (size_t i = 0; i + 1 < w.size(); ++i)
      if ((i + 1) % size_t(n) != 0) REQUIRE(w[i] <= w[i + 1]);  // ascending within a matrix
  }
}

TEST_CASE("eigh reads only the lower triangle, and transposed input", "[linalg][eigh]") {
  Tensor a = random_symmetric({5, 5});
  std::vector<double> above(25, 0.0);  // 1 strictly above the diagonal
  for (int i = 0; i < 5; ++i)
    for (int j = i + 1; j < 5; ++j) above[i * 5 + j] = 1;
  Tensor upper_noise = uniform({5, 5}, -1.0, 1.0, kFloat64) * from_vector<double>(above, {5, 5});
  auto r = ops::eigh(a + upper_noise);
  REQUIRE(max_abs_diff(reconstruct(r), a) < 1e-12);
  // a^T's lower triangle is a's upper one: for symmetric a the same matrix
  REQUIRE(max_abs_diff(ops::eigh(a.transpose(0, 1)).values, r.values) < 1e-12);
  // float32 agrees with float64 to float32 rounding
  REQUIRE(max_abs_diff(ops::eigh(a.to(kFloat32)).values.to(kFloat64), r.values) < 1e-5);
}

TEST_CASE("eigh refuses a graph, non-square and integer input", "[linalg][eigh]") {
  REQUIRE_THROWS_NOVA(ops::eigh(random_symmetric({3, 3}).requires_grad_()),
                      "eigh: has no backward, but its input requires grad");
  REQUIRE_THROWS_NOVA(ops::eigh(randn({2, 3})), "eigh: expected square matrices [..., n, n], got [2, 3]");
  REQUIRE_THROWS_NOVA(ops::eigh(arange(4).reshape({2, 2})), "eigh: expected a floating tensor");
  NoGradGuard no_grad;
  REQUIRE(ops::eigh(random_symmetric({3, 3}).requires_grad_()).values.numel() == 3);
}
