// tests/test_index.cpp: the shape/index family of core/index.h: forward values
// worked out by hand (negative dims, transposed inputs, repeated indices),
// float64 gradchecks (also through transposed views of the leaves),
// second-order checks, and the errors for bad shapes, indices and dtypes.
#include "tests/test_util.h"

using namespace nova;
using nova::test::leaf;
using nova::test::values;

namespace {

Tensor ints(const std::vector<int64_t>& v, const Shape& shape) { return from_vector(v, shape); }
Tensor ints(const std::vector<int64_t>& v) { return from_vector(v); }
Tensor reals(const std::vector<double>& v, const Shape& shape) { return from_vector(v, shape); }

/// [[1, 2, 3], [4, 5, 6]] in float64.
Tensor two_by_three() { return reals({1, 2, 3, 4, 5, 6}, {2, 3}); }

}  // namespace

// ---- cat / stack ----

TEST_CASE("cat joins along a dim, negative dims count from the end", "[index]") {
  Tensor a = reals({1, 2, 3, 4}, {2, 2});
  Tensor b = reals({5, 6}, {1, 2});
  Tensor c = reals({7, 8}, {2, 1});
  Tensor rows = ops::cat({a, b}, 0);
  REQUIRE(rows.shape() == Shape{3, 2});
  REQUIRE(values(rows) == std::vector<double>{1, 2, 3, 4, 5, 6});
  Tensor cols = ops::cat({a, c}, -1);
  REQUIRE(cols.shape() == Shape{2, 3});
  REQUIRE(values(cols) == std::vector<double>{1, 2, 7, 3, 4, 8});
}

TEST_CASE("cat reads non-contiguous inputs and keeps integer dtypes", "[index]") {
  Tensor a = reals({1, 2, 3, 4}, {2, 2});
  Tensor c = reals({9, 10}, {2, 1});
  Tensor y = ops::cat({a.t(), c, a.t().slice(1, 0, 2, 2)}, 1);  // [[1,3],[2,4]] | [9,10] | [1,2]
  REQUIRE(values(y) == std::vector<double>{1, 3, 9, 1, 2, 4, 10, 2});
  Tensor i = ops::cat({ints({1, 2}), ints({3})}, 0);
  REQUIRE(i.dtype() == kInt64);
  REQUIRE(i.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("cat grads match finite differences", "[index][grad]") {
  Tensor x = leaf({2, 3}), y = leaf({4, 3}), z = leaf({3, 5});
  REQUIRE_GRADCHECK([&] { return ops::cat({x, y}, 0); }, (std::vector<Tensor>{x, y}));
  // transposed view of a leaf, and the same leaf twice
  REQUIRE_GRADCHECK([&] { return ops::cat({x.t(), z, x.t()}, -1); }, (std::vector<Tensor>{x, z}));
}

TEST_CASE("cat second derivatives match finite differences", "[index][grad]") {
  Tensor x = leaf({2, 3}), y = leaf({2, 2});
  REQUIRE_GRADGRADCHECK([&] { return ops::cat({x * x, ops::tanh(y)}, 1) * ops::cat({y, x}, 1); },
                        (std::vector<Tensor>{x, y}));
}

TEST_CASE("cat of more than 64 inputs still sends every gradient back", "[index][grad]") {
  std::vector<Tensor> parts;
  for (int i = 0; i < 70; ++i) parts.push_back(leaf({1, 2}));
  Tensor y = ops::cat(parts, 0);
  REQUIRE(y.shape() == Shape{70, 2});
  REQUIRE(values(y.select(0, 69)) == values(parts[69]));
  Tensor w = arange(0, 140, 1, kFloat64).reshape({70, 2});
  ops::sum(y * w).backward();
  REQUIRE(values(parts[0].grad()) == std::vector<double>{0, 1});
  REQUIRE(values(parts[66].grad()) == std::vector<double>{132, 133});
}

TEST_CASE("cat rejects mismatched shapes naming both, and mixed dtypes", "[index][errors]") {
  Tensor a = zeros({2, 3}), b = zeros({2, 4});
  REQUIRE_THROWS_NOVA(ops::cat({a, b}, 0), "cat: input 1 has shape [2, 4] but input 0 has shape [2, 3]");
  REQUIRE_NOTHROW(ops::cat({a, b}, 1));
  REQUIRE_THROWS_NOVA(ops::cat({a, zeros({6})}, 0), "cat: input 1 has shape [6]");
  REQUIRE_THROWS_NOVA(ops::cat({a, zeros({2, 3}, kFloat64)}, 0), "cat: dtype mismatch");
  REQUIRE_THROWS_NOVA(ops::cat({}, 0), "cat: expected at least one tensor");
  REQUIRE_THROWS_NOVA(ops::cat({a}, 2), "cat: dim 2 out of range");
}

TEST_CASE("stack adds a new dim at any position", "[index]") {
  Tensor a = reals({1, 2, 3}, {3}), b = reals({4, 5, 6}, {3});
  Tensor s0 = ops::stack({a, b}, 0);
  REQUIRE(s0.shape() == Shape{2, 3});
  REQUIRE(values(s0) == std::vector<double>{1, 2, 3, 4, 5, 6});
  Tensor s1 = ops::stack({a, b}, -1);
  REQUIRE(s1.shape() == Shape{3, 2});
  REQUIRE(values(s1) == std::vector<double>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("stack grads match finite differences", "[index][grad]") {
  Tensor x = leaf({2, 3}), y = leaf({3, 2});
  REQUIRE_GRADCHECK([&] { return ops::stack({x, y.t(), x * y.t()}, 1); }, (std::vector<Tensor>{x, y}));
}

TEST_CASE("stack rejects unequal shapes naming both", "[index][errors]") {
  REQUIRE_THROWS_NOVA(ops::stack({zeros({2, 3}), zeros({3, 2})}, 0),
                      "stack: input 1 has shape [3, 2] but input 0 has shape [2, 3]");
  REQUIRE_THROWS_NOVA(ops::stack({zeros({2})}, 2), "stack: dim 2 out of range");
}

// ---- split / chunk ----

TEST_CASE("split by size gives views, the last one smaller", "[index]") {
  Tensor x = arange(0, 10, 1, kFloat64).reshape({5, 2});
  auto p = ops::split(x, 2, 0);
  REQUIRE(p.size() == 3);
  REQUIRE(p[0].shape() == Shape{2, 2});
  REQUIRE(p[2].shape() == Shape{1, 2});
  REQUIRE(values(p[1]) == std::vector<double>{4, 5, 6, 7});
  REQUIRE(values(p[2]) == std::vector<double>{8, 9});
  REQUIRE(p[1].storage() == x.storage());
  auto q = ops::split(x, 1, -1);
  REQUIRE(q.size() == 2);
  REQUIRE(values(q[1]) == std::vector<double>{1, 3, 5, 7, 9});
}

TEST_CASE("split by a list of uneven sizes", "[index]") {
  Tensor x = arange(0, 12, 1, kFloat64).reshape({2, 6});
  auto p = ops::split(x, std::vector<int64_t>{1, 0, 3, 2}, 1);
  REQUIRE(p.size() == 4);
  REQUIRE(values(p[0]) == std::vector<double>{0, 6});
  REQUIRE(p[1].shape() == Shape{2, 0});
  REQUIRE(values(p[2]) == std::vector<double>{1, 2, 3, 7, 8, 9});
  REQUIRE(values(p[3]) == std::vector<double>{4, 5, 10, 11});
}

TEST_CASE("chunk splits into ceil(size / chunks) pieces like torch.chunk", "[index]") {
  Tensor x = arange(0, 5, 1, kFloat64);
  auto three = ops::chunk(x, 3);
  REQUIRE(three.size() == 3);
  REQUIRE(values(three[2]) == std::vector<double>{4});
  auto four = ops::chunk(x, 4);  // pieces of 2: only 3 are needed
  REQUIRE(four.size() == 3);
  auto six = ops::chunk(arange(0, 6, 1, kFloat64).reshape({2, 3}).t(), 3, 0);
  REQUIRE(six.size() == 3);
  REQUIRE(values(six[1]) == std::vector<double>{1, 4});
}

TEST_CASE("split and chunk grads match finite differences", "[index][grad]") {
  Tensor x = leaf({3, 5});
  REQUIRE_GRADCHECK([&] {
    auto p = ops::split(x.t(), 2, 0);  // [2,3], [2,3], [1,3] of a transposed leaf
    return ops::cat({p[2] * p[2], p[0], p[1] * 3.0}, 0);
  }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] {
    auto p = ops::split(x, std::vector<int64_t>{1, 4}, 1);
    return p[1] * p[0];
  }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] {
    auto p = ops::chunk(x, 2, 0);
    return ops::sum(p[0] * p[0]) + ops::sum(p[1]);
  }, std::vector<Tensor>{x});
}

TEST_CASE("split and chunk reject bad sizes", "[index][errors]") {
  Tensor x = zeros({4, 6});
  REQUIRE_THROWS_NOVA(ops::split(x, std::vector<int64_t>{2, 3}, 1), "split: sizes [2, 3] sum to 5 but dim 1 of [4, 6] has size 6");
  REQUIRE_THROWS_NOVA(ops::split(x, 0, 0), "split: split_size must be positive");
  REQUIRE_THROWS_NOVA(ops::split(x, std::vector<int64_t>{-1, 5}, 0), "split: sizes must be non-negative");
  REQUIRE_THROWS_NOVA(ops::chunk(x, 0, 0), "chunk: chunks must be positive");
}

// ---- index_select / index_add ----

TEST_CASE("index_select picks entries along a dim, repeats allowed", "[index]") {
  Tensor x = two_by_three();
  Tensor cols = ops::index_select(x, 1, ints({2, 0, 2}));
  REQUIRE(cols.shape() == Shape{2, 3});
  REQUIRE(values(cols) == std::vector<double>{3, 1, 3, 6, 4, 6});
  Tensor rows = ops::index_select(x, -2, from_vector(std::vector<int32_t>{1, 1, 0}));
  REQUIRE(values(rows) == std::vector<double>{4, 5, 6, 4, 5, 6, 1, 2, 3});
  Tensor tr = ops::index_select(x.t(), 0, ints({2, 0}));  // rows of [[1,4],[2,5],[3,6]]
  REQUIRE(values(tr) == std::vector<double>{3, 6, 1, 4});
  Tensor strided_index = ops::index_select(x, 1, ints({0, 9, 2, 9}).slice(0, 0, 4, 2));
  REQUIRE(values(strided_index) == std::vector<double>{1, 3, 4, 6});
  REQUIRE(ops::index_select(x, 1, ints({})).shape() == Shape{2, 0});
}

TEST_CASE("index_select sends repeated picks' gradients back summed", "[index][grad]") {
  Tensor x = leaf({2, 3});
  ops::sum(ops::index_select(x, 1, ints({2, 0, 2}))).backward();
  REQUIRE(values(x.grad()) == std::vector<double>{1, 0, 2, 1, 0, 2});
}

TEST_CASE("index_select grads match finite differences", "[index][grad]") {
  Tensor x = leaf({4, 3});
  Tensor idx = ints({3, 0, 3, 1});
  REQUIRE_GRADCHECK([&] { return ops::index_select(x, 0, idx); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return ops::index_select(x.t(), -1, idx); }, std::vector<Tensor>{x});
  REQUIRE_GRADGRADCHECK([&] { return ops::square(ops::index_select(x * x, 0, idx)); },
                        std::vector<Tensor>{x});
}

TEST_CASE("index_add accumulates src rows into base out of place", "[index]") {
  Tensor base = ones({3, 2}, kFloat64);
  Tensor src = reals({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor y = ops::index_add(base, 0, ints({0, 2, 0}), src);
  REQUIRE(values(y) == std::vector<double>{7, 9, 1, 1, 4, 5});
  REQUIRE(values(base) == std::vector<double>{1, 1, 1, 1, 1, 1});
  Tensor z = ops::index_add(base.t(), -1, ints({1}), reals({10, 20}, {2, 1}));
  REQUIRE(values(z) == std::vector<double>{1, 11, 1, 1, 21, 1});
}

TEST_CASE("index_add grads match finite differences", "[index][grad]") {
  Tensor base = leaf({4, 3}), src = leaf({3, 5}), src2 = leaf({3, 3});
  Tensor idx = ints({1, 3, 1, 1, 0});
  REQUIRE_GRADCHECK([&] { return ops::index_add(base, 0, idx, src.t()); },
                    (std::vector<Tensor>{base, src}));
  REQUIRE_GRADCHECK([&] { return ops::index_add(base.t(), 1, idx.slice(0, 0, 3), src2); },
                    (std::vector<Tensor>{base, src2}));
  REQUIRE_GRADGRADCHECK([&] { return ops::square(ops::index_add(base, 0, idx, src.t() * src.t())); },
                        (std::vector<Tensor>{base, src}));
}

TEST_CASE("index_select and index_add reject bad indices and shapes", "[index][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_NOVA(ops::index_select(x, 1, ints({0, 3})), "index_select: index 3 out of range for dim 1 (size 3)");
  REQUIRE_THROWS_NOVA(ops::index_select(x, 1, ints({-1})), "index_select: index -1 out of range");
  REQUIRE_THROWS_NOVA(ops::index_select(x, 0, reals({0}, {1})), "index_select: index must be int64 or int32, got float64");
  REQUIRE_THROWS_NOVA(ops::index_select(x, 0, zeros({1}, kBool)), "index must be int64 or int32, got bool");
  REQUIRE_THROWS_NOVA(ops::index_select(x, 0, ints({0, 1}, {1, 2})), "index_select: index must be 1-D");
  REQUIRE_THROWS_NOVA(ops::index_add(x, 0, ints({0}), zeros({2, 3})),
                      "index_add: src must have shape [1, 3] (base [2, 3] with 1 indices at dim 0), got [2, 3]");
  REQUIRE_THROWS_NOVA(ops::index_add(x, 0, ints({5}), zeros({1, 3})), "index_add: index 5 out of range for dim 0 (size 2)");
  REQUIRE_THROWS_NOVA(ops::index_add(x, 0, ints({0}), zeros({1, 3}, kFloat64)), "index_add: dtype mismatch");
}

// ---- gather / scatter_add ----

TEST_CASE("gather reads x at the index along dim", "[index]") {
  Tensor x = reals({1, 2, 3, 4}, {2, 2});
  // torch.gather's documentation example
  REQUIRE(values(ops::gather(x, 1, ints({0, 0, 1, 0}, {2, 2}))) == std::vector<double>{1, 1, 4, 3});
  Tensor y = two_by_three();
  Tensor g0 = ops::gather(y, -2, ints({1, 0, 1}, {1, 3}));
  REQUIRE(g0.shape() == Shape{1, 3});
  REQUIRE(values(g0) == std::vector<double>{4, 2, 6});
  // index smaller than x off dim, larger along dim, int32
  Tensor g1 = ops::gather(y, 1, from_vector(std::vector<int32_t>{2, 2, 0, 1}, {1, 4}));
  REQUIRE(values(g1) == std::vector<double>{3, 3, 1, 2});
}

TEST_CASE("gather reads transposed x through transposed index", "[index]") {
  Tensor y = two_by_three();                 // y.t() = [[1,4],[2,5],[3,6]]
  Tensor idx = ints({1, 0, 0, 0, 1, 1}, {2, 3}).t();  // [[1,0],[0,1],[0,1]]
  REQUIRE(values(ops::gather(y.t(), 1, idx)) == std::vector<double>{4, 1, 2, 5, 3, 6});
}

TEST_CASE("gather grads match finite differences, first and second order", "[index][grad]") {
  Tensor x = leaf({3, 4});
  Tensor idx = ints({2, 0, 2, 1, 1, 1, 0, 2}, {2, 4});
  REQUIRE_GRADCHECK([&] { return ops::gather(x, 0, idx); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return ops::gather(x.t(), 1, idx.t().slice(0, 0, 3)); }, std::vector<Tensor>{x});
  REQUIRE_GRADGRADCHECK([&] { return ops::square(ops::gather(ops::tanh(x), -1, idx.t().t())); },
                        std::vector<Tensor>{x});
}

TEST_CASE("scatter_add accumulates repeated indices into a copy of base", "[index]") {
  Tensor base = zeros({2, 3}, kFloat64);
  Tensor src = two_by_three();
  Tensor y = ops::scatter_add(base, 1, ints({0, 1, 0, 2, 2, 2}, {2, 3}), src);
  REQUIRE(values(y) == std::vector<double>{4, 2, 0, 0, 0, 15});
  REQUIRE(values(base) == std::vector<double>{0, 0, 0, 0, 0, 0});
  // only src's leading [1, 2] block is read; dim 0 of base is larger than index's
  Tensor z = ops::scatter_add(ones({3, 2}, kFloat64), -2, ints({2, 2}, {1, 2}), src);
  REQUIRE(values(z) == std::vector<double>{1, 1, 1, 1, 2, 3});
}

TEST_CASE("scatter_add grads match finite differences, first and second order", "[index][grad]") {
  Tensor base = leaf({3, 4}), src = leaf({5, 3});
  Tensor idx = ints({2, 0, 2, 1, 1, 1, 0, 2}, {2, 4});
  REQUIRE_GRADCHECK([&] { return ops::scatter_add(base, 0, idx, src.t()); },
                    (std::vector<Tensor>{base, src}));
  // src [5, 3] is larger than index [3, 2]: the unread part gets gradient 0
  Tensor idx2 = ints({3, 0, 3, 1, 2, 2}, {3, 2});
  REQUIRE_GRADCHECK([&] { return ops::scatter_add(base, 1, idx2, src); }, (std::vector<Tensor>{base, src}));
  REQUIRE_GRADGRADCHECK([&] { return ops::square(ops::scatter_add(base * base, 1, idx2, ops::tanh(src))); },
                        (std::vector<Tensor>{base, src}));
}

TEST_CASE("gather and scatter_add reject bad indices and shapes", "[index][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_NOVA(ops::gather(x, 1, ints({0, 4}, {1, 2})), "gather: index 4 out of range for dim 1 (size 3)");
  REQUIRE_THROWS_NOVA(ops::gather(x, 1, ints({0, 1}, {2})), "gather: index must have as many dims as x");
  REQUIRE_THROWS_NOVA(ops::gather(x, 1, ints({0, 0, 0}, {3, 1})), "gather: index [3, 1] is larger than x [2, 3] at dim 0");
  REQUIRE_THROWS_NOVA(ops::gather(x, 1, zeros({2, 2})), "gather: index must be int64 or int32, got float32");
  REQUIRE_THROWS_NOVA(ops::scatter_add(x, 0, ints({2, 0}, {1, 2}), zeros({1, 2})),
                      "scatter_add: index 2 out of range for dim 0 (size 2)");
  REQUIRE_THROWS_NOVA(ops::scatter_add(x, 0, ints({0, 0}, {1, 2}), zeros({1, 1})),
                      "scatter_add: index [1, 2] is larger than src [1, 1] at dim 1");
  REQUIRE_THROWS_NOVA(ops::scatter_add(x, 0, ints({0, 0}, {1, 2}), zeros({1, 2}, kFloat64)),
                      "scatter_add: dtype mismatch");
}

// ---- embedding / one_hot ----

TEST_CASE("embedding looks up rows for indices of any shape", "[index]") {
  Tensor w = arange(0, 12, 1, kFloat64).reshape({4, 3});
  Tensor y = ops::embedding(w, ints({1, 3, 1, 0}, {2, 2}));
  REQUIRE(y.shape() == Shape{2, 2, 3});
  REQUIRE(values(y) == std::vector<double>{3, 4, 5, 9, 10, 11, 3, 4, 5, 0, 1, 2});
  Tensor t = ops::embedding(w.t().t(), ints({1, 3, 1, 0}, {2, 2}).t());  // index [[1,1],[3,0]]
  REQUIRE(values(t) == std::vector<double>{3, 4, 5, 3, 4, 5, 9, 10, 11, 0, 1, 2});
  Tensor s = ops::embedding(w, ints({2}, {}));  // a 0-d index gives one row
  REQUIRE(s.shape() == Shape{3});
  REQUIRE(values(s) == std::vector<double>{6, 7, 8});
  // the padding row is still read in the forward pass
  REQUIRE(values(ops::embedding(w, ints({1}), 1)) == std::vector<double>{3, 4, 5});
}

TEST_CASE("embedding accumulates repeated rows and skips padding_idx", "[index][grad]") {
  Tensor w = leaf({4, 2});
  Tensor idx = ints({1, 3, 1, 0}, {2, 2});
  ops::sum(ops::embedding(w, idx)).backward();
  REQUIRE(values(w.grad()) == std::vector<double>{1, 1, 2, 2, 0, 0, 1, 1});
  Tensor v = leaf({4, 2});
  ops::sum(ops::embedding(v, idx, 1)).backward();
  REQUIRE(values(v.grad()) == std::vector<double>{1, 1, 0, 0, 0, 0, 1, 1});
}

TEST_CASE("embedding grads match finite differences, first and second order", "[index][grad]") {
  Tensor w = leaf({5, 3});
  Tensor idx = ints({4, 0, 4, 2, 1, 4}, {3, 2});
  REQUIRE_GRADCHECK([&] { return ops::embedding(w, idx); }, std::vector<Tensor>{w});
  // row 4 is the padding row: it is read but gets no gradient (so finite
  // differences would disagree there); the other rows must still be right
  Tensor pad_row = ones({1, 3}, kFloat64);
  REQUIRE_GRADCHECK([&] { return ops::embedding(ops::cat({w.narrow(0, 0, 4), pad_row}, 0), idx, 4); },
                    std::vector<Tensor>{w});
  Tensor wt = leaf({3, 5});
  REQUIRE_GRADCHECK([&] { return ops::embedding(wt.t(), idx.t()); }, std::vector<Tensor>{wt});
  REQUIRE_GRADGRADCHECK([&] { return ops::square(ops::embedding(ops::tanh(w), idx, 2)); },
                        std::vector<Tensor>{w});
}

TEST_CASE("embedding rejects bad weights and indices", "[index][errors]") {
  Tensor w = zeros({4, 3});
  REQUIRE_THROWS_NOVA(ops::embedding(w, ints({0, 4})), "embedding: index 4 out of range for the rows of weight [4, 3] (size 4)");
  REQUIRE_THROWS_NOVA(ops::embedding(w, zeros({2})), "embedding: indices must be int64 or int32, got float32");
  REQUIRE_THROWS_NOVA(ops::embedding(zeros({4}), ints({0})), "embedding: weight must be 2-D [num, dim], got [4]");
  REQUIRE_THROWS_NOVA(ops::embedding(w, ints({0}), 4), "embedding: padding_idx 4 out of range");
}

TEST_CASE("one_hot puts a 1 at each index, inferring the class count", "[index]") {
  Tensor y = ops::one_hot(ints({2, 0, 1}), 4);
  REQUIRE(y.dtype() == kInt64);
  REQUIRE(y.shape() == Shape{3, 4});
  REQUIRE(y.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0});
  Tensor z = ops::one_hot(from_vector(std::vector<int32_t>{1, 2, 0, 2}, {2, 2}).t(), -1, kFloat32);
  REQUIRE(z.dtype() == kFloat32);
  REQUIRE(z.shape() == Shape{2, 2, 3});  // index [[1, 0], [2, 2]], 3 classes
  REQUIRE(values(z) == std::vector<double>{0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1});
}

TEST_CASE("one_hot rejects indices outside the classes", "[index][errors]") {
  REQUIRE_THROWS_NOVA(ops::one_hot(ints({0, 3}), 3), "one_hot: index 3 out of range for num_classes (size 3)");
  REQUIRE_THROWS_NOVA(ops::one_hot(ints({-2, 1})), "one_hot: index -2 out of range");
  REQUIRE_THROWS_NOVA(ops::one_hot(zeros({2}), 3), "one_hot: indices must be int64 or int32");
  REQUIRE_THROWS_NOVA(ops::one_hot(ints({})), "one_hot: cannot infer num_classes from an empty tensor");
}

// ---- pad / flip ----

TEST_CASE("pad follows F.pad: pairs from the last dim backwards", "[index]") {
  Tensor x = two_by_three();
  Tensor a = ops::pad(x, {1, 2});
  REQUIRE(a.shape() == Shape{2, 6});
  REQUIRE(values(a) == std::vector<double>{0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0});
  Tensor b = ops::pad(x, {0, 1, 1, 0}, -1.0);  // right 1 on the last dim, top 1 on the first
  REQUIRE(b.shape() == Shape{3, 4});
  REQUIRE(values(b) == std::vector<double>{-1, -1, -1, -1, 1, 2, 3, -1, 4, 5, 6, -1});
  Tensor c = ops::pad(x.t(), {0, 0, 1, 0});  // transposed input: [[0,0],[1,4],[2,5],[3,6]]
  REQUIRE(values(c) == std::vector<double>{0, 0, 1, 4, 2, 5, 3, 6});
}

TEST_CASE("pad with negative values crops", "[index]") {
  Tensor x = two_by_three();
  REQUIRE(values(ops::pad(x, {-1, 1})) == std::vector<double>{2, 3, 0, 5, 6, 0});
  REQUIRE(values(ops::pad(x, {0, -2, -1, 0})) == std::vector<double>{4});
  REQUIRE(ops::pad(x, {-3, 0}).shape() == Shape{2, 0});
  REQUIRE(values(ops::pad(x, {-3, 2}, 7.0)) == std::vector<double>{7, 7, 7, 7});
}

TEST_CASE("pad grads match finite differences, first and second order", "[index][grad]") {
  Tensor x = leaf({3, 4});
  REQUIRE_GRADCHECK([&] { return ops::pad(x, {1, 2, 0, 1}, 0.5); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return ops::pad(x.t(), {-1, 2, 1, -1}); }, std::vector<Tensor>{x});
  REQUIRE_GRADGRADCHECK([&] { return ops::square(ops::pad(x * x, {2, -1})); }, std::vector<Tensor>{x});
}

TEST_CASE("pad rejects malformed pads", "[index][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_NOVA(ops::pad(x, {1, 2, 3}), "pad: pads must come in (before, after) pairs, got [1, 2, 3]");
  REQUIRE_THROWS_NOVA(ops::pad(x, {1, 1, 1, 1, 1, 1}), "pad: pads [1, 1, 1, 1, 1, 1] name 3 dims but the input [2, 3] has 2");
  REQUIRE_THROWS_NOVA(ops::pad(x, {-2, -2}), "pad: pads (-2, -2) on dim 1 of [2, 3] leave a negative size -1");
}

TEST_CASE("flip reverses the given dims", "[index]") {
  Tensor x = two_by_three();
  REQUIRE(values(ops::flip(x, {1})) == std::vector<double>{3, 2, 1, 6, 5, 4});
  REQUIRE(values(ops::flip(x, {0, -1})) == std::vector<double>{6, 5, 4, 3, 2, 1});
  REQUIRE(values(ops::flip(x.t(), {-1})) == std::vector<double>{4, 1, 5, 2, 6, 3});
  REQUIRE(values(ops::flip(x, {})) == values(x));
}

TEST_CASE("flip grads match finite differences, first and second order", "[index][grad]") {
  Tensor x = leaf({3, 4});
  REQUIRE_GRADCHECK([&] { return ops::flip(x, {0}); }, std::vector<Tensor>{x});
  REQUIRE_GRADCHECK([&] { return ops::flip(x.t(), {1, 0}); }, std::vector<Tensor>{x});
  REQUIRE_GRADGRADCHECK([&] { return ops::square(ops::flip(x * x, {-1})); }, std::vector<Tensor>{x});
}

TEST_CASE("flip rejects repeated and out-of-range dims", "[index][errors]") {
  REQUIRE_THROWS_NOVA(ops::flip(zeros({2, 3}), {1, -1}), "flip: dim 1 appears more than once in dims [1, -1]");
  REQUIRE_THROWS_NOVA(ops::flip(zeros({2, 3}), {2}), "flip: dim 2 out of range");
}
