// tests/test_views.cpp: the view and copy ops of core/views.h: forward values
// worked out by hand, which results share storage with their input (and that
// writes show through), float64 gradchecks of each op, second-order checks
// through chains of views, and the errors for bad shapes and dims.
#include "tests/test_util.h"

using namespace nova;
using nova::test::leaf;
using nova::test::values;

namespace {

/// 0, 1, ..., n-1 in float64, reshaped.
Tensor iota(int64_t n, const Shape& shape) { return arange(0, double(n), 1, kFloat64).reshape(shape); }

}  // namespace

// ---- reshape / view / flatten ----

TEST_CASE("reshape infers one -1 dim and shares a contiguous input's storage", "[views]") {
  Tensor x = iota(12, {12});
  Tensor y = x.reshape({3, -1});
  REQUIRE(y.shape() == Shape{3, 4});
  REQUIRE(values(y) == values(x));
  REQUIRE(y.storage() == x.storage());
  REQUIRE(x.reshape({2, -1, 3}).shape() == Shape{2, 2, 3});
  REQUIRE(x.reshape({-1}).shape() == Shape{12});
}

TEST_CASE("reshape copies a non-contiguous input; view refuses it", "[views]") {
  Tensor x = iota(6, {2, 3});
  Tensor t = x.t();
  Tensor r = t.reshape({6});
  REQUIRE(values(r) == std::vector<double>{0, 3, 1, 4, 2, 5});
  REQUIRE(r.storage() != x.storage());
  REQUIRE_THROWS_NOVA(t.view({6}), "view: input of shape [3, 2] is not contiguous");
  Tensor v = x.view({3, 2});
  REQUIRE(v.storage() == x.storage());
  REQUIRE(values(v) == values(x));
}

TEST_CASE("reshape rejects sizes that do not fit", "[views][errors]") {
  Tensor x = zeros({6});
  REQUIRE_THROWS_NOVA(x.reshape({4, -1}), "reshape: cannot reshape [6] (6 elements) into [4, -1]");
  REQUIRE_THROWS_NOVA(x.reshape({-1, -1}), "reshape: only one dim may be -1");
  REQUIRE_THROWS_NOVA(x.reshape({5}), "reshape: cannot reshape [6] (6 elements) into [5]");
  REQUIRE_THROWS_NOVA(x.reshape({-2, -3}), "reshape: invalid size -2");
}

TEST_CASE("flatten merges a range of dims", "[views]") {
  Tensor x = zeros({2, 3, 4});
  REQUIRE(x.flatten().shape() == Shape{24});
  REQUIRE(x.flatten(1).shape() == Shape{2, 12});
  REQUIRE(x.flatten(0, 1).shape() == Shape{6, 4});
  REQUIRE(x.flatten(-2, -1).shape() == Shape{2, 12});
  REQUIRE(scalar_tensor(3.0).flatten().shape() == Shape{1});
  Tensor t = iota(6, {2, 3}).t().flatten();  // non-contiguous: read in the transposed order
  REQUIRE(values(t) == std::vector<double>{0, 3, 1, 4, 2, 5});
  REQUIRE_THROWS_NOVA(x.flatten(2, 1), "flatten: start_dim 2 is after end_dim 1");
  REQUIRE_THROWS_NOVA(x.flatten(3), "flatten: dim 3 out of range");
}

// ---- permute / transpose ----

TEST_CASE("permute and transpose reorder dims without copying", "[views]") {
  Tensor x = iota(24, {2, 3, 4});
  Tensor p = x.permute({2, 0, 1});  // p[i][j][k] = x[j][k][i]
  REQUIRE(p.shape() == Shape{4, 2, 3});
  REQUIRE(p.strides() == Shape{1, 12, 4});
  REQUIRE(p.storage() == x.storage());
  REQUIRE(!p.is_contiguous());
  std::vector<double> expected;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) expected.push_back(j * 12 + k * 4 + i);
  REQUIRE(values(p) == expected);
  Tensor t = x.transpose(0, -1);
  REQUIRE(t.shape() == Shape{4, 3, 2});
  REQUIRE(values(t.select(0, 1).select(0, 2)) == std::vector<double>{9, 21});  // x[:, 2, 1]
  Tensor m = iota(6, {2, 3});
  REQUIRE(values(m.t()) == std::vector<double>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("permute and transpose reject bad dims", "[views][errors]") {
  Tensor x = zeros({2, 3, 4});
  REQUIRE_THROWS_NOVA(x.permute({0, 0, 1}), "permute: dim 0 repeated");
  REQUIRE_THROWS_NOVA(x.permute({0, 1}), "permute: 2 dims given for a 3-d tensor");
  REQUIRE_THROWS_NOVA(x.permute({0, 1, 3}), "permute: dim 3 out of range");
  REQUIRE_THROWS_NOVA(x.transpose(0, 3), "transpose: dim 3 out of range");
}

// ---- slice / narrow / select ----

TEST_CASE("slice takes every step-th element and clamps its bounds", "[views]") {
  Tensor x = iota(10, {10});
  Tensor s = x.slice(0, 1, 8, 3);
  REQUIRE(values(s) == std::vector<double>{1, 4, 7});
  REQUIRE(s.storage() == x.storage());
  REQUIRE(values(x.slice(0, -3, 100)) == std::vector<double>{7, 8, 9});
  REQUIRE(values(x.slice(0, 7, 10, 5)) == std::vector<double>{7});
  REQUIRE(x.slice(0, 5, 2).shape() == Shape{0});
  Tensor m = iota(12, {3, 4});
  Tensor c = m.slice(1, 0, 4, 2);
  REQUIRE(c.strides() == Shape{4, 2});
  REQUIRE(values(c) == std::vector<double>{0, 2, 4, 6, 8, 10});
  REQUIRE(values(m.t().slice(0, 1, 4, 2)) == std::vector<double>{1, 5, 9, 3, 7, 11});
}

TEST_CASE("narrow and select pick a range and a single entry", "[views]") {
  Tensor m = iota(12, {3, 4});
  REQUIRE(values(m.narrow(1, 1, 2)) == std::vector<double>{1, 2, 5, 6, 9, 10});
  REQUIRE(values(m.narrow(0, -1, 1)) == std::vector<double>{8, 9, 10, 11});
  Tensor col = m.select(1, -1);
  REQUIRE(col.shape() == Shape{3});
  REQUIRE(values(col) == std::vector<double>{3, 7, 11});
  REQUIRE(values(m.select(0, 1)) == std::vector<double>{4, 5, 6, 7});
  REQUIRE(m.select(0, 1).storage() == m.storage());
  REQUIRE(m.select(0, 2).select(0, 3).item() == 11);
}

TEST_CASE("slice, narrow and select reject bad ranges", "[views][errors]") {
  Tensor m = zeros({3, 4});
  REQUIRE_THROWS_NOVA(m.slice(0, 0, 2, 0), "slice: step must be positive, got 0");
  REQUIRE_THROWS_NOVA(scalar_tensor(1.0).slice(0, 0, 1), "slice: cannot slice a 0-d tensor");
  REQUIRE_THROWS_NOVA(m.narrow(1, 3, 2), "narrow: range [3, 5) out of bounds for dim 1 of size 4");
  REQUIRE_THROWS_NOVA(m.narrow(1, 0, -1), "narrow: range [0, -1) out of bounds");
  REQUIRE_THROWS_NOVA(m.select(0, 3), "select: index 3 out of range for dim 0 of size 3");
  REQUIRE_THROWS_NOVA(m.select(0, -4), "select: index -4 out of range");
}

// ---- expand / squeeze / unsqueeze ----

TEST_CASE("expand stretches size-1 dims with stride 0", "[views]") {
  Tensor x = from_vector(std::vector<double>{1, 2, 3}, {3, 1});
  Tensor e = x.expand({2, 3, 4});
  REQUIRE(e.shape() == Shape{2, 3, 4});
  REQUIRE(e.strides() == Shape{0, 1, 0});
  REQUIRE(e.storage() == x.storage());
  REQUIRE(values(e.select(0, 1).select(0, 2)) == std::vector<double>{3, 3, 3, 3});
  REQUIRE(values(x.expand({-1, 2})) == std::vector<double>{1, 1, 2, 2, 3, 3});
}

TEST_CASE("expand rejects shapes it cannot reach", "[views][errors]") {
  Tensor x = zeros({3, 1});
  REQUIRE_THROWS_NOVA(x.expand({2, 2}), "expand: cannot expand [3, 1] to [2, 2]");
  REQUIRE_THROWS_NOVA(x.expand({-1, 3, 1}), "expand: -1 is not allowed for a new leading dim");
  REQUIRE_THROWS_NOVA(x.expand({3}), "expand: cannot expand [3, 1] to fewer dims [3]");
  REQUIRE_THROWS_NOVA(x.expand({3, -2}), "expand: invalid size -2 in [3, -2]");
  REQUIRE_THROWS_NOVA(x.expand({-5, 3, 1}), "expand: invalid size -5 in [-5, 3, 1]");
}

TEST_CASE("squeeze and unsqueeze drop and add size-1 dims", "[views]") {
  Tensor x = zeros({2, 1, 3, 1});
  REQUIRE(x.squeeze().shape() == Shape{2, 3});
  REQUIRE(x.squeeze(1).shape() == Shape{2, 3, 1});
  REQUIRE(x.squeeze(0).shape() == Shape{2, 1, 3, 1});  // not size 1: unchanged
  REQUIRE(x.squeeze(-1).shape() == Shape{2, 1, 3});
  REQUIRE(x.unsqueeze(0).shape() == Shape{1, 2, 1, 3, 1});
  REQUIRE(x.unsqueeze(-1).shape() == Shape{2, 1, 3, 1, 1});
  REQUIRE(x.unsqueeze(2).storage() == x.storage());
  Tensor t = iota(6, {2, 3}).t();
  Tensor u = t.unsqueeze(1);
  REQUIRE(u.shape() == Shape{3, 1, 2});
  REQUIRE(values(u) == values(t));
  REQUIRE(values(u.squeeze()) == values(t));
  REQUIRE_THROWS_NOVA(x.unsqueeze(5), "unsqueeze: dim 5 out of range");
  REQUIRE_THROWS_NOVA(x.squeeze(4), "squeeze: dim 4 out of range");
}

// ---- contiguous / clone / to ----

TEST_CASE("contiguous copies only when needed; clone always copies", "[views]") {
  Tensor m = iota(6, {2, 3});
  REQUIRE(m.contiguous().impl() == m.impl());
  Tensor c = m.t().contiguous();
  REQUIRE(c.is_contiguous());
  REQUIRE(c.storage() != m.storage());
  REQUIRE(values(c) == std::vector<double>{0, 3, 1, 4, 2, 5});
  Tensor k = m.clone();
  REQUIRE(k.storage() != m.storage());
  k.fill_(7.0);
  REQUIRE(values(m) == std::vector<double>{0, 1, 2, 3, 4, 5});
  REQUIRE(values(m.t().clone()) == std::vector<double>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("views share storage: a write through one shows in the other", "[views]") {
  Tensor x = zeros({2, 3}, kFloat64);
  x.t().select(0, 1).fill_(5.0);  // column 1
  REQUIRE(values(x) == std::vector<double>{0, 5, 0, 0, 5, 0});
  x.reshape({6}).narrow(0, 4, 2).fill_(1.0);
  REQUIRE(values(x) == std::vector<double>{0, 5, 0, 0, 1, 1});
  x.unsqueeze(0).slice(2, 0, 3, 2).fill_(-1.0);  // columns 0 and 2
  REQUIRE(values(x) == std::vector<double>{-1, 5, -1, -1, 1, -1});
}

TEST_CASE("to(dtype) converts values and passes gradients between floating dtypes", "[views]") {
  Tensor x = from_vector(std::vector<double>{1.5, -2.25, 3}, {3});
  Tensor f = x.to(kFloat32);
  REQUIRE(f.dtype() == kFloat32);
  REQUIRE(f.to_vector<float>() == std::vector<float>{1.5f, -2.25f, 3.0f});
  REQUIRE(x.to(kInt64).to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});  // truncates
  REQUIRE(x.to(kFloat64).impl() == x.impl());
  Tensor w = leaf({3});
  ops::sum(w.to(kFloat32) * 2.0).backward();
  REQUIRE(w.grad().dtype() == kFloat64);
  REQUIRE(values(w.grad()) == std::vector<double>{2, 2, 2});
  REQUIRE(!w.to(kInt64).requires_grad());
}

// ---- gradients ----

TEST_CASE("reshape, flatten, permute and transpose grads match finite differences", "[views][grad]") {
  Tensor x = leaf({2, 3, 4});
  REQUIRE_GRADCHECK([&] { return x.reshape({4, -1}); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.transpose(0, 2).reshape({-1, 2}); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.view({6, 4}); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.flatten(1); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.permute({2, 0, 1}); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.transpose(0, -1); }, std::vector<Tensor>{x});
}

TEST_CASE("slice, narrow and select grads match finite differences", "[views][grad]") {
  Tensor x = leaf({2, 3, 5});
  REQUIRE_GRADCHECK([&] { return x.slice(2, 1, 5, 2); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.transpose(1, 2).slice(1, -4, 5, 3); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.narrow(1, 1, 2); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.select(1, -1); }, std::vector<Tensor>{x});
  // overlapping slices of one leaf: the gradients add up
  REQUIRE_GRADCHECK([&] { return x.narrow(2, 0, 3) * x.narrow(2, 2, 3); }, std::vector<Tensor>{x});
}

TEST_CASE("expand, squeeze and unsqueeze grads match finite differences", "[views][grad]") {
  Tensor y = leaf({3, 1});
  REQUIRE_GRADCHECK([&] { return y.expand({2, 3, 4}); }, std::vector<Tensor>{y});
  REQUIRE_GRADCHECK([&] { return y.t().expand({5, -1}); }, std::vector<Tensor>{y});
  Tensor z = leaf({3, 1, 4});
  REQUIRE_GRADCHECK([&] { return z.squeeze(); }, std::vector<Tensor>{z});
  REQUIRE_GRADCHECK([&] { return z.squeeze(1); }, std::vector<Tensor>{z});
  REQUIRE_GRADCHECK([&] { return z.transpose(0, 2).unsqueeze(1); }, std::vector<Tensor>{z});
}

TEST_CASE("contiguous, clone and to grads match finite differences", "[views][grad]") {
  Tensor x = leaf({3, 4});
  REQUIRE_GRADCHECK([&] { return x.t().contiguous(); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.slice(1, 0, 4, 2).clone(); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return x.t().to(kFloat64); }, std::vector<Tensor>{x});
}

TEST_CASE("chains of views have correct second derivatives", "[views][grad]") {
  Tensor x = leaf({2, 3, 4}), y = leaf({3, 1});
  REQUIRE_GRADGRADCHECK([&] {
    Tensor v = x.transpose(0, 2).slice(0, 1, 4, 2).reshape({-1});
    return v * v * v;
  }, std::vector<Tensor>{x});
  REQUIRE_GRADGRADCHECK([&] {
    Tensor e = y.expand({2, 3, 4}).narrow(2, 1, 2).select(0, 1).unsqueeze(0).squeeze(0);
    return ops::square(e) * x.select(0, 0).narrow(1, 0, 2);
  }, (std::vector<Tensor>{x, y}));
  REQUIRE_GRADGRADCHECK([&] { return ops::square(x.permute({1, 2, 0}).flatten(1).contiguous().clone()); },
                        std::vector<Tensor>{x});
}
