// tests/test_reduce.cpp: reductions (sum, mean, var, max/min, amax/amin,
// argmax/argmin, norm, logsumexp, sum_to) against hand-computed values over
// all dims, one dim, several dims, negative dims, keepdim and transposed
// inputs; float64 gradchecks (plain, several dims, non-contiguous) and second
// derivatives; ties, zeros, overflow and error messages.
#include <cmath>
#include <functional>

#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Values = std::vector<double>;
using Indices = std::vector<int64_t>;

Indices indices(const Tensor& t) {
  REQUIRE(t.dtype() == kInt64);
  return t.to_vector<int64_t>();
}

/// [[1, 2, 3], [4, 5, 6]]: small enough to reduce by hand.
Tensor m23() { return from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}); }

/// Requires every element of `got` to be within tol of `want`.
void require_close(const Tensor& got, const Values& want, double tol = 1e-12) {
  Values g = values(got);
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i);
    REQUIRE(g[i] == Approx(want[i]).margin(tol).epsilon(tol));
  }
}

/// A float64 leaf whose values are at least 0.2 apart from each other and
/// from zero: off the kinks of max/min/abs, and no near-ties that a
/// finite-difference step could flip.
Tensor distinct_leaf(const Shape& shape) {
  Tensor perm = randperm(shape.numel());
  Values v;
  for (int64_t p : perm.to_vector<int64_t>()) {
    double e = 0.2 * double(p + 1);
    v.push_back(p % 2 ? -e : e);
  }
  return from_vector(v, shape, kFloat64).requires_grad_();
}

void require_gradgradcheck(const std::function<Tensor()>& fn, const Tensor& x) {
  auto r = gradgradcheck(fn, {x});
  INFO(r.report);
  REQUIRE(r.ok);
}

}  // namespace

// ---- sum, mean, sum_to ----

TEST_CASE("sum and mean reduce all dims, one dim, several dims and negative dims", "[reduce]") {
  Tensor x = m23();
  REQUIRE(ops::sum(x).dim() == 0);
  REQUIRE(ops::sum(x).item() == 21);
  REQUIRE(values(ops::sum(x, {0})) == Values{5, 7, 9});
  REQUIRE(values(ops::sum(x, {-1})) == Values{6, 15});
  REQUIRE(ops::sum(x, {1}, true).shape() == Shape{2, 1});
  REQUIRE(ops::sum(x, {0, 1}, true).shape() == Shape{1, 1});
  REQUIRE(ops::mean(x).item() == 3.5);
  REQUIRE(values(ops::mean(x, {1})) == Values{2, 5});
  REQUIRE(values(ops::mean(x, {-2}, true)) == Values{2.5, 3.5, 4.5});
  REQUIRE(ops::mean(x, {-2}, true).shape() == Shape{1, 3});

  // [2, 3, 2] over dims {0, 2}: 0..11, block of j = {2j, 2j+1, 6+2j, 7+2j}
  Tensor y = arange(0.0, 12.0, 1.0, kFloat64).reshape({2, 3, 2});
  REQUIRE(values(ops::sum(y, {0, 2})) == Values{14, 22, 30});
  REQUIRE(values(ops::sum(y, {2, -3})) == Values{14, 22, 30});
  REQUIRE(values(ops::mean(y, {0, 2})) == Values{3.5, 5.5, 7.5});
  REQUIRE(ops::sum(y, {0, 2}, true).shape() == Shape{1, 3, 1});
}

TEST_CASE("sum and mean read transposed inputs by their logical layout", "[reduce]") {
  Tensor xt = m23().t();  // [[1, 4], [2, 5], [3, 6]], strides [1, 3]
  REQUIRE(!xt.is_contiguous());
  REQUIRE(values(ops::sum(xt, {0})) == Values{6, 15});
  REQUIRE(values(ops::sum(xt, {1})) == Values{5, 7, 9});
  REQUIRE(values(ops::mean(xt, {1}, true)) == Values{2.5, 3.5, 4.5});
  REQUIRE(ops::mean(xt, {1}, true).shape() == Shape{3, 1});
}

// The CPU sum folds eight outputs side by side (reduce_output_lanes): each
// output must still be the double sum of its elements in row-major order,
// rounded once, whether its group of eight is full or the last partial one.
TEST_CASE("float32 sums are the in-order double sum per output, eight outputs at a time", "[reduce]") {
  Tensor x = uniform({3, 13, 4, 7}, -1.0, 1.0);  // 13 channels: a full group of 8 and one of 5
  const auto v = x.to_vector<float>();
  auto at = [&](int64_t n, int64_t c, int64_t h, int64_t w) { return v[((n * 13 + c) * 4 + h) * 7 + w]; };
  const auto bias_grad = ops::sum(x, {0, 2, 3}).to_vector<float>();
  REQUIRE(bias_grad.size() == 13);
  for (int64_t c = 0; c < 13; ++c) {
    double acc = 0;
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 7; ++w) acc += at(n, c, h, w);
    INFO("channel " << c);
    REQUIRE(bias_grad[c] == float(acc));  // exact: the same additions in the same order
  }
  // a column sum: outputs adjacent in memory, each folded down its column
  Tensor m = uniform({37, 19}, -1.0, 1.0);
  const auto mv = m.to_vector<float>();
  const auto cols = ops::sum(m, {0}).to_vector<float>();
  for (int64_t j = 0; j < 19; ++j) {
    double acc = 0;
    for (int64_t i = 0; i < 37; ++i) acc += mv[i * 19 + j];
    REQUIRE(cols[j] == float(acc));
  }
}

TEST_CASE("sum of an empty reduction is 0 and integer sums stay integers", "[reduce]") {
  REQUIRE(ops::sum(zeros({0})).item() == 0);
  Tensor s = ops::sum(zeros({0, 3}, kFloat64), {0});
  REQUIRE(values(s) == Values{0, 0, 0});
  Tensor i = ops::sum(arange(5));
  REQUIRE(i.dtype() == kInt64);
  REQUIRE(i.item() == 10);
}

TEST_CASE("float32 sums accumulate in double", "[reduce]") {
  // 2^24 + 1 is not a float32: a float32 accumulator would stall at 2^24
  Tensor x = ones({(1 << 24) + 8}, kFloat32);
  REQUIRE(ops::sum(x).item() == double((1 << 24) + 8));
}

TEST_CASE("sum and mean pass gradcheck over all, one and several dims", "[reduce][grad]") {
  Tensor x = leaf({3, 4, 2});
  REQUIRE_GRADCHECK([&] { return ops::sum(x); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::sum(x, {1}); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::sum(x, {0, -1}, true); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::mean(x); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::mean(x, {-2}); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::mean(x, {0, 2}, true); }, {x});
  // non-contiguous: a permuted view and a strided slice of the leaf
  REQUIRE_GRADCHECK([&] { return ops::sum(x.permute({2, 0, 1}), {1}); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::mean(x.slice(1, 0, 4, 2), {0, 1}); }, {x});
}

TEST_CASE("sum_to sums a broadcast gradient back to the operand's shape", "[reduce]") {
  Tensor g = arange(0.0, 24.0, 1.0, kFloat64).reshape({4, 2, 3});
  // [4, 2, 3] -> [2, 1]: dim 0 (a leading dim) and dim 2 (a stretched 1)
  Tensor s = ops::sum_to(g, {2, 1});
  REQUIRE(s.shape() == Shape{2, 1});
  // row r of each [2, 3] slab k holds 6k + 3r + {0, 1, 2}
  REQUIRE(values(s) == Values{4 * 3 + 3 * (0 + 6 + 12 + 18), 4 * 12 + 3 * (0 + 6 + 12 + 18)});
  REQUIRE(values(ops::sum_to(g, {3})) == Values{84, 92, 100});
  REQUIRE(ops::sum_to(g, {4, 2, 3}).shape() == Shape{4, 2, 3});

  // the engine uses it: b [3] broadcast against a [2, 3] gets the column sums
  Tensor a = leaf({2, 3});
  Tensor b = leaf({3});
  Tensor w = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  ops::sum((a + b) * w).backward();
  REQUIRE(b.grad().shape() == Shape{3});
  REQUIRE(values(b.grad()) == Values{5, 7, 9});
}

TEST_CASE("sum_to refuses shapes that are not a broadcast source", "[reduce][errors]") {
  Tensor g = zeros({4, 3});
  REQUIRE_THROWS_AS(ops::sum_to(g, {2}), Error);
  REQUIRE_THROWS_NOVA(ops::sum_to(g, {2}), "sum_to");
  REQUIRE_THROWS_NOVA(ops::sum_to(g, {1, 4, 3}), "sum_to");
}

// ---- var ----

TEST_CASE("var is unbiased by default and matches hand-computed values", "[reduce]") {
  Tensor x = m23();
  // mean 3.5, squared deviations sum to 17.5
  REQUIRE(ops::var(x).item() == Approx(3.5));
  REQUIRE(ops::var(x, {}, false).item() == Approx(17.5 / 6));
  require_close(ops::var(x, {1}), {1, 1});
  require_close(ops::var(x, {-1}, false), {2.0 / 3, 2.0 / 3});
  require_close(ops::var(x, {0}), {4.5, 4.5, 4.5});
  require_close(ops::var(x, {0}, false, true), {2.25, 2.25, 2.25});
  REQUIRE(ops::var(x, {0}, false, true).shape() == Shape{1, 3});
  require_close(ops::var(x, {0, 1}), {3.5});
  // transposed: the rows of x are the columns of x.t()
  require_close(ops::var(x.t(), {0}), {1, 1});
  // several dims of a 3-d tensor: blocks {2j, 2j+1, 6+2j, 7+2j}, var = 37/3
  Tensor y = arange(0.0, 12.0, 1.0, kFloat64).reshape({2, 3, 2});
  require_close(ops::var(y, {0, 2}), {37.0 / 3, 37.0 / 3, 37.0 / 3});
}

TEST_CASE("var keeps its digits when the mean is large next to the spread", "[reduce]") {
  Tensor x = from_vector<double>({1e9 + 1, 1e9 + 2, 1e9 + 3});
  REQUIRE(ops::var(x).item() == Approx(1.0).epsilon(1e-9));
  Tensor f = from_vector<float>({1e4f + 1, 1e4f + 2, 1e4f + 3});
  REQUIRE(ops::var(f).item() == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("var of one element is NaN unbiased and 0 biased", "[reduce]") {
  Tensor x = from_vector<double>({2.0});
  REQUIRE(std::isnan(ops::var(x).item()));
  REQUIRE(ops::var(x, {0}, false).item() == 0);
}

TEST_CASE("var passes gradcheck and gradgradcheck", "[reduce][grad]") {
  Tensor x = leaf({3, 4});
  REQUIRE_GRADCHECK([&] { return ops::var(x); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::var(x, {1}); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::var(x, {0}, false, true); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::var(x.t(), {-1}); }, {x});
  Tensor y = leaf({2, 3, 4});
  REQUIRE_GRADCHECK([&] { return ops::var(y.transpose(0, 2), {0, 2}, false); }, {y});
  require_gradgradcheck([&] { return ops::var(x, {1}); }, x);
}

// ---- max, min, amax, amin, argmax, argmin ----

TEST_CASE("max and min along a dim give values and first indices", "[reduce]") {
  Tensor x = from_vector<double>({3, 7, 7, 9, -1, 2}, {2, 3});
  auto mx = ops::max(x, 1);
  REQUIRE(values(mx.values) == Values{7, 9});
  REQUIRE(indices(mx.indices) == Indices{1, 0});  // the tie 7, 7 gives the first
  auto mn = ops::min(x, -1);
  REQUIRE(values(mn.values) == Values{3, -1});
  REQUIRE(indices(mn.indices) == Indices{0, 1});
  auto m0 = ops::max(x, 0, true);
  REQUIRE(m0.values.shape() == Shape{1, 3});
  REQUIRE(m0.indices.shape() == Shape{1, 3});
  REQUIRE(values(m0.values) == Values{9, 7, 7});
  REQUIRE(indices(m0.indices) == Indices{1, 0, 0});
  // transposed input: dim 0 of x.t() is dim 1 of x
  auto mt = ops::max(x.t(), 0);
  REQUIRE(values(mt.values) == Values{7, 9});
  REQUIRE(indices(mt.indices) == Indices{1, 0});
  // integers work too
  auto mi = ops::min(from_vector<int64_t>({5, 2, 8}), 0);
  REQUIRE(indices(mi.indices) == Indices{1});
  REQUIRE(mi.values.to_vector<int64_t>() == Indices{2});
}

TEST_CASE("max, min, amax and amin over all or several dims", "[reduce]") {
  Tensor x = from_vector<double>({3, 7, 7, 9, -1, 2}, {2, 3});
  REQUIRE(ops::max(x).dim() == 0);
  REQUIRE(ops::max(x).item() == 9);
  REQUIRE(ops::min(x).item() == -1);
  REQUIRE(ops::max(x.t()).item() == 9);
  REQUIRE(values(ops::amax(x, {1})) == Values{7, 9});
  REQUIRE(values(ops::amin(x, {0}, true)) == Values{3, -1, 2});
  REQUIRE(ops::amin(x, {0}, true).shape() == Shape{1, 3});
  Tensor y = arange(0.0, 12.0, 1.0, kFloat64).reshape({2, 3, 2});
  REQUIRE(values(ops::amax(y, {0, -1})) == Values{7, 9, 11});
  REQUIRE(values(ops::amin(y, {0, 2})) == Values{0, 2, 4});
  REQUIRE(values(ops::amax(y.transpose(0, 2), {1, 2})) == Values{10, 11});
  REQUIRE(ops::amax(y).item() == 11);
}

TEST_CASE("max propagates NaN", "[reduce]") {
  Tensor x = from_vector<double>({1, NAN, 3});
  REQUIRE(std::isnan(ops::max(x).item()));
  REQUIRE(indices(ops::max(x, 0).indices) == Indices{1});
}

TEST_CASE("argmax and argmin give int64 first indices", "[reduce]") {
  Tensor x = from_vector<double>({3, 9, 7, 9, -1, -1}, {2, 3});
  REQUIRE(ops::argmax(x).dim() == 0);
  REQUIRE(indices(ops::argmax(x)) == Indices{1});  // 9 at flat 1 and 3
  REQUIRE(indices(ops::argmin(x)) == Indices{4});
  REQUIRE(indices(ops::argmax(x, 1)) == Indices{1, 0});
  REQUIRE(indices(ops::argmin(x, -1)) == Indices{0, 1});
  REQUIRE(indices(ops::argmax(x, 0)) == Indices{1, 0, 0});
  REQUIRE(ops::argmax(x, 0, true).shape() == Shape{1, 3});
  // transposed: flattened in x.t()'s own row-major order [3, 9, 9, -1, 7, -1]
  REQUIRE(indices(ops::argmax(x.t())) == Indices{1});
  REQUIRE(indices(ops::argmin(x.t())) == Indices{3});
  REQUIRE(indices(ops::argmax(x.t(), 1)) == Indices{1, 0, 0});
}

TEST_CASE("max along a dim sends the gradient to the selected element", "[reduce][grad]") {
  Tensor x = from_vector<double>({1, 3, 3}).requires_grad_();
  ops::max(x, 0).values.backward();
  REQUIRE(values(x.grad()) == Values{0, 1, 0});  // the first of the tied 3s
}

TEST_CASE("max over all dims and amax split the gradient among ties", "[reduce][grad]") {
  Tensor x = from_vector<double>({1, 3, 3}).requires_grad_();
  ops::max(x).backward();
  REQUIRE(values(x.grad()) == Values{0, 0.5, 0.5});
  Tensor y = from_vector<double>({2, 2, 1, 0, 5, 5}, {2, 3}).requires_grad_();
  ops::sum(ops::amin(y, {1}) * from_vector<double>({1, 10})).backward();
  REQUIRE(values(y.grad()) == Values{0, 0, 1, 10, 0, 0});
}

TEST_CASE("max, min, amax and amin pass gradcheck", "[reduce][grad]") {
  Tensor x = distinct_leaf({3, 4, 2});
  REQUIRE_GRADCHECK([&] { return ops::max(x, 1).values; }, {x});
  REQUIRE_GRADCHECK([&] { return ops::min(x, -1, true).values; }, {x});
  REQUIRE_GRADCHECK([&] { return ops::max(x.transpose(0, 2), 0).values; }, {x});
  REQUIRE_GRADCHECK([&] { return ops::min(x.slice(1, 1, 4, 2), 1).values; }, {x});
  REQUIRE_GRADCHECK([&] { return ops::max(x); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::min(x.permute({1, 2, 0})); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::amax(x, {0, 2}); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::amin(x.transpose(1, 2), {-1}, true); }, {x});
  require_gradgradcheck([&] { return ops::max(x, 1).values * ops::amax(x, {1}); }, x);
}

// ---- norm ----

TEST_CASE("norm matches hand-computed p-norms", "[reduce]") {
  Tensor x = from_vector<double>({3, -4, 0, 1, -2, 2}, {2, 3});
  require_close(ops::norm(x), {std::sqrt(34.0)});
  require_close(ops::norm(x, 1), {12});
  require_close(ops::norm(x, INFINITY), {4});
  require_close(ops::norm(x, 3), {std::cbrt(27 + 64 + 1 + 8 + 8)});
  require_close(ops::norm(x, 2, {1}), {5, 3});
  require_close(ops::norm(x, 1, {-1}, true), {7, 5});
  REQUIRE(ops::norm(x, 1, {-1}, true).shape() == Shape{2, 1});
  require_close(ops::norm(x, INFINITY, {0}), {3, 4, 2});
  require_close(ops::norm(x, 0.5, {0}), {std::pow(std::sqrt(3.0) + 1, 2), std::pow(2 + std::sqrt(2.0), 2), 2});
  require_close(ops::norm(x.t(), 2, {0}), {5, 3});
  require_close(ops::norm(x, 2, {0, 1}), {std::sqrt(34.0)});
  Tensor f = from_vector<float>({3, 4});
  REQUIRE(ops::norm(f).item() == Approx(5).epsilon(1e-7));
}

TEST_CASE("norm passes gradcheck for p = 1, 2, 3, 0.5 and infinity", "[reduce][grad]") {
  Tensor x = distinct_leaf({3, 4});
  for (double p : {1.0, 2.0, 3.0, 0.5, double(INFINITY)}) {
    INFO("p = " << p);
    REQUIRE_GRADCHECK([&] { return ops::norm(x, p); }, {x});
    REQUIRE_GRADCHECK([&] { return ops::norm(x, p, {1}); }, {x});
    REQUIRE_GRADCHECK([&] { return ops::norm(x.t(), p, {-1}, true); }, {x});
  }
  require_gradgradcheck([&] { return ops::norm(x, 2.0, {0}); }, x);
  require_gradgradcheck([&] { return ops::norm(x, 3.0, {1}); }, x);
}

TEST_CASE("norm at zero has gradient 0, not NaN", "[reduce][grad]") {
  Tensor z = zeros({3}, kFloat64).requires_grad_();
  ops::norm(z).backward();
  REQUIRE(values(z.grad()) == Values{0, 0, 0});

  // one zero row next to a non-zero one; the second derivative stays finite
  Tensor x = from_vector<double>({0, 0, 3, 4}, {2, 2}).requires_grad_();
  Tensor n = ops::norm(x, 2, {1});
  Tensor g = autograd::grad({ops::sum(n)}, {x}, {}, true)[0];
  REQUIRE(values(g) == Values{0, 0, 0.6, 0.8});
  Tensor gg = autograd::grad({ops::sum(g * g)}, {x})[0];
  for (double v : values(gg)) REQUIRE(std::isfinite(v));

  Tensor z3 = zeros({2}, kFloat64).requires_grad_();
  ops::norm(z3, 3.0).backward();
  REQUIRE(values(z3.grad()) == Values{0, 0});
}

// ---- logsumexp ----

TEST_CASE("logsumexp matches hand-computed values", "[reduce]") {
  Tensor x = from_vector<double>({0, 0, 0, 1, 2, 3}, {2, 3});
  const double row1 = 3 + std::log(1 + std::exp(-1.0) + std::exp(-2.0));
  require_close(ops::logsumexp(x, {1}), {std::log(3.0), row1});
  require_close(ops::logsumexp(x, {-1}, true), {std::log(3.0), row1});
  REQUIRE(ops::logsumexp(x, {-1}, true).shape() == Shape{2, 1});
  require_close(ops::logsumexp(x, {0}),
                {std::log(1 + std::exp(1.0)), std::log(1 + std::exp(2.0)), std::log(1 + std::exp(3.0))});
  require_close(ops::logsumexp(x.t(), {0}), {std::log(3.0), row1});
  require_close(ops::logsumexp(x), {std::log(3 + std::exp(1.0) + std::exp(2.0) + std::exp(3.0))});
  Tensor y = zeros({2, 3, 2}, kFloat64);
  require_close(ops::logsumexp(y, {0, 2}), {std::log(4.0), std::log(4.0), std::log(4.0)});
}

TEST_CASE("logsumexp does not overflow for inputs around 1000", "[reduce]") {
  Tensor x = from_vector<float>({1000, 1000, 999, -1000}).requires_grad_();
  Tensor y = ops::logsumexp(x);
  const double want = 1000 + std::log(2 + std::exp(-1.0));
  REQUIRE(std::isfinite(y.item()));
  REQUIRE(y.item() == Approx(want).epsilon(1e-6));
  y.backward();
  // the gradient is softmax(x) = exp(x - y): finite and summing to 1, up to
  // the rounding of y to float32 (one ulp at 1000 is 6e-5)
  double total = 0;
  for (double v : values(x.grad())) {
    REQUIRE(std::isfinite(v));
    total += v;
  }
  REQUIRE(total == Approx(1.0).epsilon(1e-4));
  Tensor low = from_vector<double>({-1000, -1000});
  REQUIRE(ops::logsumexp(low).item() == Approx(-1000 + std::log(2.0)));
}

TEST_CASE("logsumexp passes gradcheck and gradgradcheck", "[reduce][grad]") {
  Tensor x = leaf({3, 4}, -2, 2);
  REQUIRE_GRADCHECK([&] { return ops::logsumexp(x); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::logsumexp(x, {1}); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::logsumexp(x.t(), {0}, true); }, {x});
  Tensor y = leaf({2, 3, 2}, -2, 2);
  REQUIRE_GRADCHECK([&] { return ops::logsumexp(y.permute({2, 0, 1}), {0, -1}); }, {y});
  require_gradgradcheck([&] { return ops::logsumexp(x, {1}); }, x);
}

// ---- errors ----

TEST_CASE("reductions reject dims out of range naming the op", "[reduce][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_AS(ops::sum(x, {2}), Error);
  REQUIRE_THROWS_NOVA(ops::sum(x, {2}), "sum: dim 2 out of range");
  REQUIRE_THROWS_NOVA(ops::mean(x, {-3}), "mean: dim -3 out of range");
  REQUIRE_THROWS_NOVA(ops::var(x, {5}), "var: dim 5 out of range");
  REQUIRE_THROWS_NOVA(ops::max(x, 2), "max: dim 2 out of range");
  REQUIRE_THROWS_NOVA(ops::min(x, -3), "min: dim -3 out of range");
  REQUIRE_THROWS_NOVA(ops::amax(x, {0, 0}), "amax: dim 0 listed twice");
  REQUIRE_THROWS_NOVA(ops::argmax(x, 7), "argmax: dim 7 out of range");
  REQUIRE_THROWS_NOVA(ops::norm(x, 2, {3}), "norm: dim 3 out of range");
  REQUIRE_THROWS_NOVA(ops::logsumexp(x, {2}), "logsumexp: dim 2 out of range");
}

TEST_CASE("max, min and argmax of an empty dim throw; sum and logsumexp do not", "[reduce][errors]") {
  Tensor e = zeros({0, 3});
  REQUIRE_THROWS_AS(ops::max(e, 0), Error);
  REQUIRE_THROWS_NOVA(ops::max(e, 0), "max: cannot reduce over an empty dim of input [0, 3]");
  REQUIRE_THROWS_NOVA(ops::min(e), "min: cannot reduce over an empty dim");
  REQUIRE_THROWS_NOVA(ops::amax(e, {0}), "amax: cannot reduce over an empty dim");
  REQUIRE_THROWS_NOVA(ops::argmax(e), "argmax: cannot reduce over an empty dim");
  REQUIRE_THROWS_NOVA(ops::argmin(e, 0), "argmin: cannot reduce over an empty dim");
  // reducing the non-empty dim of an empty tensor is fine: an empty result
  REQUIRE(ops::max(e, 1).values.shape() == Shape{0});
  REQUIRE(values(ops::logsumexp(e, {0})) == Values{-INFINITY, -INFINITY, -INFINITY});
}

TEST_CASE("float-only reductions reject integer inputs and bad p", "[reduce][errors]") {
  Tensor i = arange(4);
  REQUIRE_THROWS_NOVA(ops::var(i), "var");
  REQUIRE_THROWS_NOVA(ops::mean(i), "mean");
  REQUIRE_THROWS_NOVA(ops::norm(i), "norm");
  REQUIRE_THROWS_NOVA(ops::logsumexp(i), "logsumexp");
  REQUIRE_THROWS_NOVA(ops::norm(ones({3}), 0.0), "norm: expected p > 0");
  REQUIRE_THROWS_NOVA(ops::norm(ones({3}), -1.0), "norm: expected p > 0");
}
