// tests/test_matmul.cpp: matmul (1-D, 2-D, batched, broadcast batch dims,
// strided and expanded operands) against a float64 triple loop, gradients by
// finite differences (first and second order), linear, and bad inputs.
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// The first s.size() - drop dims of s.
Shape leading(const Shape& s, int drop) {
  Shape out;
  for (int d = 0; d + drop < s.size(); ++d) out.push_back(s[d]);
  return out;
}

/// a @ b by the definition, in float64, with NumPy's 1-D and broadcast rules.
Tensor reference_matmul(const Tensor& a_in, const Tensor& b_in) {
  // 1-D operands become a row / a column; their dim is dropped at the end
  Shape sa = a_in.dim() == 1 ? Shape{1, a_in.size(0)} : a_in.shape();
  Shape sb = b_in.dim() == 1 ? Shape{b_in.size(0), 1} : b_in.shape();
  const auto va = a_in.to_vector<double>(), vb = b_in.to_vector<double>();
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  const Shape ba = leading(sa, 2), bb = leading(sb, 2);
  const Shape batch = broadcast_shapes("reference", ba, bb);
  std::vector<double> out(batch.numel() * m * n, 0.0);
  for (int64_t i = 0; i < batch.numel(); ++i) {
    // batch index i -> the flat batch index of a and of b (size-1 dims stretch)
    int64_t rem = i, ia = 0, ib = 0, stride_a = 1, stride_b = 1;
    for (int d = batch.size() - 1; d >= 0; --d) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      const int da = d - (batch.size() - ba.size()), db = d - (batch.size() - bb.size());
      if (da >= 0) {
        ia += (ba[da] == 1 ? 0 : idx) * stride_a;
        stride_a *= ba[da];
      }
      if (db >= 0) {
        ib += (bb[db] == 1 ? 0 : idx) * stride_b;
        stride_b *= bb[db];
      }
    }
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < k; ++j) acc += va[(ia * m + r) * k + j] * vb[(ib * k + j) * n + c];
        out[(i * m + r) * n + c] = acc;
      }
  }
  Shape so = batch;
  if (a_in.dim() != 1) so.push_back(m);
  if (b_in.dim() != 1) so.push_back(n);
  return from_vector(out, so, kFloat64);
}

struct MatmulCase {
  const char* name;
  Shape a, b, out;
};

const std::vector<MatmulCase> kCases = {
    {"1-D x 1-D (dot)", {5}, {5}, {}},
    {"1-D x 2-D", {4}, {4, 3}, {3}},
    {"2-D x 1-D", {3, 4}, {4}, {3}},
    {"2-D x 2-D", {3, 4}, {4, 5}, {3, 5}},
    {"3-D x 3-D", {2, 3, 4}, {2, 4, 5}, {2, 3, 5}},
    {"broadcast batch", {2, 1, 3, 4}, {5, 4, 2}, {2, 5, 3, 2}},
    {"3-D x 2-D", {2, 3, 4}, {4, 5}, {2, 3, 5}},
    {"2-D x 3-D", {3, 4}, {2, 4, 5}, {2, 3, 5}},
    {"1-D x 3-D", {4}, {2, 4, 3}, {2, 3}},
    {"3-D x 1-D", {2, 3, 4}, {4}, {2, 3}},
};

}  // namespace

TEST_CASE("matmul matches a float64 triple loop for every operand rank", "[matmul]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const auto& tc : kCases) {
      INFO(tc.name << " " << dtype_name(dtype));
      Tensor a = randn(tc.a, dtype), b = randn(tc.b, dtype);
      Tensor y = ops::matmul(a, b);
      REQUIRE(y.shape() == tc.out);
      REQUIRE(y.dtype() == dtype);
      REQUIRE(max_abs_diff(y.to(kFloat64), reference_matmul(a, b)) <
              (dtype == kFloat64 ? 1e-12 : 1e-5));
    }
  }
}

TEST_CASE("matmul of a 2x2 pair equals the hand-computed product", "[matmul]") {
  Tensor a = from_vector<double>({1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector<double>({5, 6, 7, 8}, {2, 2});
  REQUIRE(ops::matmul(a, b).to_vector<double>() == std::vector<double>{19, 22, 43, 50});
  REQUIRE(ops::matmul(from_vector<double>({1, 2}), from_vector<double>({3, 4})).item() == 11.0);
}

TEST_CASE("matmul reads transposed and strided operands without changing the result", "[matmul]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
    Tensor at = randn({4, 3}, dtype), bt = randn({5, 4}, dtype);
    Tensor a = at.t(), b = bt.t();  // [3, 4] and [4, 5], column-major in memory
    REQUIRE_FALSE(a.is_contiguous());
    REQUIRE(max_abs_diff(ops::matmul(a, b).to(kFloat64), reference_matmul(a, b)) < tol);
    Tensor ac = a.contiguous();
    REQUIRE(max_abs_diff(ops::matmul(ac, b).to(kFloat64), reference_matmul(ac, b)) < tol);
    Tensor bc = b.contiguous();
    REQUIRE(max_abs_diff(ops::matmul(a, bc).to(kFloat64), reference_matmul(a, bc)) < tol);
    // batched transposes
    Tensor a3 = randn({2, 4, 3}, dtype).transpose(-1, -2), b3 = randn({2, 5, 4}, dtype).transpose(1, 2);
    REQUIRE(max_abs_diff(ops::matmul(a3, b3).to(kFloat64), reference_matmul(a3, b3)) < tol);
    // neither dim dense (every other row and column): the kernel gathers
    Tensor as = randn({6, 8}, dtype).slice(0, 0, 6, 2).slice(1, 0, 8, 2);  // [3, 4]
    Tensor bs = randn({8, 10}, dtype).slice(0, 1, 8, 2).slice(1, 0, 10, 2);  // [4, 5]
    REQUIRE(max_abs_diff(ops::matmul(as, bs).to(kFloat64), reference_matmul(as, bs)) < tol);
    // a permuted batch dim
    Tensor ap = randn({3, 2, 4}, dtype).permute({1, 0, 2});  // [2, 3, 4]
    Tensor bp = randn({2, 4, 5}, dtype);
    REQUIRE(max_abs_diff(ops::matmul(ap, bp).to(kFloat64), reference_matmul(ap, bp)) < tol);
  }
}

TEST_CASE("matmul reads expanded operands with stride 0", "[matmul]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
    // a batch that is one matrix repeated
    Tensor a = randn({1, 3, 4}, dtype).expand({6, 3, 4});
    Tensor b = randn({6, 4, 2}, dtype);
    REQUIRE(max_abs_diff(ops::matmul(a, b).to(kFloat64), reference_matmul(a, b)) < tol);
    // stride 0 inside the matrix: every row equal / every column equal
    Tensor rows = randn({1, 4}, dtype).expand({3, 4});
    Tensor cols = randn({4, 1}, dtype).expand({4, 5});
    REQUIRE(rows.strides()[0] == 0);
    REQUIRE(cols.strides()[1] == 0);
    REQUIRE(max_abs_diff(ops::matmul(rows, cols).to(kFloat64), reference_matmul(rows, cols)) < tol);
    Tensor scalar = randn({}, dtype).expand({4, 4});  // both strides 0
    REQUIRE(max_abs_diff(ops::matmul(scalar, cols).to(kFloat64), reference_matmul(scalar, cols)) < tol);
  }
}

TEST_CASE("matmul with an empty inner dim gives zeros", "[matmul]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor y = ops::matmul(empty({3, 0}, dtype), empty({0, 2}, dtype));
    REQUIRE(y.shape() == Shape{3, 2});
    REQUIRE(y.to_vector<double>() == std::vector<double>(6, 0.0));
    Tensor yb = ops::matmul(empty({2, 3, 0}, dtype), empty({2, 0, 4}, dtype));
    REQUIRE(yb.shape() == Shape{2, 3, 4});
    REQUIRE(yb.to_vector<double>() == std::vector<double>(24, 0.0));
    REQUIRE(ops::matmul(empty({0}, dtype), empty({0}, dtype)).item() == 0.0);
  }
  // and no rows: an empty result
  REQUIRE(ops::matmul(empty({0, 3}), randn({3, 2})).shape() == Shape{0, 2});
}

TEST_CASE("matmul grads match finite differences for every operand rank", "[matmul][grad]") {
  for (const auto& tc : kCases) {
    INFO(tc.name);
    Tensor a = leaf(tc.a), b = leaf(tc.b);
    REQUIRE_GRADCHECK([&] { return ops::matmul(a, b); }, (std::vector<Tensor>{a, b}));
  }
}

TEST_CASE("matmul grads match finite differences through transposed and expanded operands",
          "[matmul][grad]") {
  Tensor at = leaf({4, 3}), bt = leaf({5, 4});
  REQUIRE_GRADCHECK([&] { return ops::matmul(at.t(), bt.t()); }, (std::vector<Tensor>{at, bt}));
  Tensor a3 = leaf({2, 4, 3}), b3 = leaf({4, 5});
  REQUIRE_GRADCHECK([&] { return ops::matmul(a3.transpose(1, 2), b3); },
                    (std::vector<Tensor>{a3, b3}));
  // a slice in both dims (the gathered path) and a batch expanded from one matrix
  Tensor as = leaf({6, 8}), b = leaf({1, 4, 2});
  REQUIRE_GRADCHECK(
      [&] { return ops::matmul(as.slice(0, 0, 6, 2).slice(1, 0, 8, 2), b.expand({3, 4, 2})); },
      (std::vector<Tensor>{as, b}));
}

TEST_CASE("matmul second derivatives match finite differences", "[matmul][grad]") {
  Tensor a = leaf({3, 4}), b = leaf({4, 2});
  auto r = gradgradcheck([&] { return ops::matmul(a, b); }, {a, b});
  INFO(r.report);
  REQUIRE(r.ok);
  // a product of two matmuls, so the second derivative is not zero
  Tensor c = leaf({2, 3});
  auto r2 = gradgradcheck([&] { return ops::matmul(ops::matmul(a, b), c); }, {a, b, c});
  INFO(r2.report);
  REQUIRE(r2.ok);
  Tensor ab = leaf({2, 1, 3, 4}), bb = leaf({2, 4, 2});
  auto r3 = gradgradcheck([&] { return ops::tanh(ops::matmul(ab, bb)); }, {ab, bb});
  INFO(r3.report);
  REQUIRE(r3.ok);
}

TEST_CASE("linear is x W^T + b", "[matmul]") {
  Tensor x = randn({4, 3}, kFloat64), w = randn({5, 3}, kFloat64), b = randn({5}, kFloat64);
  Tensor expected = reference_matmul(x, w.t()) + b;
  REQUIRE(max_abs_diff(ops::linear(x, w, b), expected) < 1e-12);
  REQUIRE(max_abs_diff(ops::linear(x, w), reference_matmul(x, w.t())) < 1e-12);
  // leading dims are a batch
  Tensor x3 = randn({2, 4, 3}, kFloat64);
  Tensor y3 = ops::linear(x3, w, b);
  REQUIRE(y3.shape() == Shape{2, 4, 5});
  REQUIRE(max_abs_diff(y3, reference_matmul(x3, w.t()) + b) < 1e-12);
  // a single sample
  REQUIRE(max_abs_diff(ops::linear(x.select(0, 1), w, b), reference_matmul(x.select(0, 1), w.t()) + b) <
          1e-12);
  // float32
  Tensor y32 = ops::linear(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32));
  REQUIRE(y32.dtype() == kFloat32);
  REQUIRE(max_abs_diff(y32.to(kFloat64), expected) < 1e-5);
}

TEST_CASE("linear grads match finite differences", "[matmul][grad]") {
  Tensor x = leaf({4, 3}), w = leaf({5, 3}), b = leaf({5});
  REQUIRE_GRADCHECK([&] { return ops::linear(x, w, b); }, (std::vector<Tensor>{x, w, b}));
  REQUIRE_GRADCHECK([&] { return ops::linear(x, w); }, (std::vector<Tensor>{x, w}));
  Tensor x3 = leaf({2, 4, 3});
  REQUIRE_GRADCHECK([&] { return ops::linear(x3, w, b); }, (std::vector<Tensor>{x3, w, b}));
  // a transposed input
  Tensor xt = leaf({3, 4});
  REQUIRE_GRADCHECK([&] { return ops::linear(xt.t(), w, b); }, (std::vector<Tensor>{xt, w, b}));
}

TEST_CASE("matmul rejects operands whose inner dims differ, naming both shapes", "[matmul]") {
  REQUIRE_THROWS_NOVA(ops::matmul(randn({3, 4}), randn({5, 2})), "matmul: shapes [3, 4] and [5, 2]");
  REQUIRE_THROWS_NOVA(ops::matmul(randn({3}), randn({4, 2})), "matmul: shapes [3] and [4, 2]");
  REQUIRE_THROWS_NOVA(ops::matmul(randn({2, 3}), randn({4})), "matmul: shapes [2, 3] and [4]");
  REQUIRE_THROWS_NOVA(ops::matmul(randn({3}), randn({4})), "matmul: shapes [3] and [4]");
  REQUIRE_THROWS_NOVA(ops::matmul(randn({2, 3, 4}), randn({3, 4, 5})),
                      "matmul (batch dims): shapes [2] and [3] cannot be broadcast");
  REQUIRE_THROWS_NOVA(ops::matmul(randn({}), randn({3})), "matmul: both inputs need at least 1 dim");
}

TEST_CASE("matmul rejects mixed dtypes and integer tensors", "[matmul]") {
  REQUIRE_THROWS_NOVA(ops::matmul(randn({2, 3}), randn({3, 2}, kFloat64)),
                      "matmul: dtype mismatch (float32 [2, 3] vs float64 [3, 2])");
  REQUIRE_THROWS_NOVA(ops::matmul(arange(6).reshape({2, 3}), arange(6).reshape({3, 2})),
                      "matmul: expected a floating tensor (float32 or float64), got int64 [2, 3]");
}

TEST_CASE("linear rejects a weight or bias of the wrong shape", "[matmul]") {
  REQUIRE_THROWS_NOVA(ops::linear(randn({4, 3}), randn({5, 2})), "linear: input [4, 3]");
  REQUIRE_THROWS_NOVA(ops::linear(randn({4, 3}), randn({5, 3, 1})), "linear: weight must be 2-D");
  REQUIRE_THROWS_NOVA(ops::linear(randn({4, 3}), randn({5, 3}), randn({4})), "linear: bias must be [5], got [4]");
}
