// tests/test_index_cuda.cpp: CPU/CUDA parity of the shape/index family (cat,
// stack, split, chunk, index_select, index_add, gather, scatter_add,
// embedding with padding_idx, one_hot, pad with negative pads, flip): the
// forward result and the gradients of the leaves after backward, float32 and
// float64, non-contiguous inputs and indices, int32 indices, odd sizes, empty
// tensors, integer/bool payloads, and the out-of-range index error on CUDA.
//
// Tolerances. Gathers, copies, pads and flips move values: the results must
// be identical, checked with the usual bounds (1e-5 / 1e-12 relative). The
// accumulating kernels (index_add, scatter_add, and the backward of
// index_select, gather and embedding) add with atomics on the GPU, so with
// duplicated indices the order of the float additions differs from the CPU's
// serial order. With at most k additions into one element (plus the base),
// each side is within k u sum|terms| of the exact sum (u = 2^-24 / 2^-53), so
// |cpu - cuda| <= 2 k u (k + 1) max|term|; the terms here are bounded by
// kMaxAbs, and dup_tolerance(dtype, k) is max(the usual bound, that bound).
#include <algorithm>
#include <functional>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Every floating value of these tests is in [-kMaxAbs, kMaxAbs] (inputs and
/// upstream gradients; embedding's padding mask only zeroes).
constexpr double kMaxAbs = 2.0;

/// Parity bound for sums of at most k duplicated terms (see the file comment).
double dup_tolerance(DType dtype, int64_t k) {
  const double u = dtype == kFloat64 ? 0x1p-53 : 0x1p-24;
  return std::max(parity_tolerance(dtype), 2.0 * k * u * (k + 1) * kMaxAbs);
}

/// Largest number of times one value occurs in an index tensor (>= 1).
int64_t max_multiplicity(const Tensor& index) {
  std::vector<int64_t> v = index.to(kInt64).contiguous().to_vector<int64_t>();
  std::sort(v.begin(), v.end());
  int64_t best = 1, run = 1;
  for (size_t i = 1; i < v.size(); ++i) {
    run = v[i] == v[i - 1] ? run + 1 : 1;
    best = std::max(best, run);
  }
  return best;
}

/// f(leaves, device) builds the op from leaves on `device` (index tensors are
/// moved there inside f).
using Fn = std::function<Tensor(const std::vector<Tensor>&, Device)>;

/// Runs f on the CPU and on cuda:0 from the same leaf values (shapes given,
/// uniform in [-2, 2]): the results agree within tol, and (grad) so do the
/// gradients of every leaf after backward with the same upstream gradient
/// (within grad_tol).
void check(const std::vector<Shape>& shapes, DType dtype, const Fn& f, double tol, double grad_tol,
           bool grad = true) {
  std::vector<Tensor> lc, lg;
  for (const Shape& s : shapes) {
    Tensor base = uniform(s, -kMaxAbs, kMaxAbs, dtype);
    Tensor c = base.clone(), g = base.to(gpu());
    if (grad) {
      c.requires_grad_();
      g.requires_grad_();
    }
    lc.push_back(c);
    lg.push_back(g);
  }
  Tensor yc = f(lc, kCPU), yg = f(lg, gpu());
  require_parity(yc, yg, tol);
  if (!grad) return;
  Tensor g = uniform(yc.shape(), -kMaxAbs, kMaxAbs, dtype);
  yc.backward(g);
  yg.backward(g.to(gpu()));
  for (size_t i = 0; i < lc.size(); ++i) {
    INFO("gradient of leaf " << i);
    if (!lc[i].grad().defined()) {
      REQUIRE(!lg[i].grad().defined());
      continue;
    }
    require_parity(lc[i].grad(), lg[i].grad(), grad_tol);
  }
}

void check(const std::vector<Shape>& shapes, DType dtype, const Fn& f) {
  check(shapes, dtype, f, parity_tolerance(dtype), parity_tolerance(dtype));
}

/// Forward parity of a non-differentiable op on an integer/bool tensor.
void check_exact(const Tensor& cpu_in, const std::function<Tensor(const Tensor&)>& f) {
  Tensor yc = f(cpu_in), yg = f(cpu_in.to(gpu()));
  REQUIRE(yg.is_cuda());
  REQUIRE(yc.shape() == yg.shape());
  REQUIRE(yc.dtype() == yg.dtype());
  REQUIRE(yc.to(kFloat64).to_vector<double>() == yg.to(kCPU).to(kFloat64).to_vector<double>());
}

const DType kFloats[] = {kFloat32, kFloat64};

}  // namespace

// ---- cat, stack, split, chunk ----

TEST_CASE("cuda cat and stack: odd sizes, empty inputs, transposed and sliced inputs", "[cuda][index]") {
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      INFO("n = " << n << ", " << dtype_name(dtype));
      check({{n}, {3}, {n}}, dtype, [](const std::vector<Tensor>& l, Device) {
        return ops::cat({l[0], l[1], l[2]}, 0);
      });
      check({{2, n}, {n, 2}}, dtype, [](const std::vector<Tensor>& l, Device) {
        return ops::cat({l[0], l[1].t(), l[0] * 2.0}, 0);  // transposed input
      });
      check({{n, 3}, {n, 5}}, dtype, [](const std::vector<Tensor>& l, Device) {
        return ops::cat({l[0], l[1].slice(1, 0, 5, 2), l[0].slice(1, 1, 2)}, 1);  // sliced inputs
      });
      check({{n, 3}, {3, n}}, dtype, [](const std::vector<Tensor>& l, Device) {
        return ops::stack({l[0], l[1].t(), l[0]}, 1);
      });
    }
    // more than 64 inputs (grouped), and a cat into a middle dim of 3-D inputs
    check({{2, 3, 5}, {2, 1, 5}, {2, 0, 5}}, dtype, [](const std::vector<Tensor>& l, Device) {
      std::vector<Tensor> parts;
      for (int i = 0; i < 70; ++i) parts.push_back(l[i % 3]);
      return ops::cat(parts, 1);
    });
    check({{4, 6, 3}}, dtype, [](const std::vector<Tensor>& l, Device) {
      Tensor p = l[0].permute({2, 0, 1});  // [3, 4, 6], non-contiguous
      return ops::cat({p, p.slice(2, 1, 6, 2)}, -1);
    });
  }
}

TEST_CASE("cuda split and chunk: pieces feed other ops, gradients flow back", "[cuda][index]") {
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      INFO("n = " << n << ", " << dtype_name(dtype));
      check({{n, 3}}, dtype, [](const std::vector<Tensor>& l, Device) {
        auto p = ops::split(l[0].t(), 2, 0);  // [2, n], [1, n] of a transposed leaf
        return ops::cat({p[1] * p[1], p[0]}, 0);
      });
      check({{3, n}}, dtype, [n](const std::vector<Tensor>& l, Device) {
        auto p = ops::chunk(l[0], 4, 1);
        std::vector<Tensor> parts;
        for (size_t i = 0; i < p.size(); ++i) parts.push_back(p[i] * double(i + 1));
        return n == 0 ? l[0] * 1.0 : ops::cat(parts, 1);
      });
    }
    check({{4, 9}}, dtype, [](const std::vector<Tensor>& l, Device) {
      auto p = ops::split(l[0], std::vector<int64_t>{2, 0, 4, 3}, 1);
      return ops::cat({p[3], p[1], p[0] * p[0], p[2]}, 1);
    });
  }
}

TEST_CASE("cuda cat of integer and bool tensors", "[cuda][index]") {
  Tensor a = randint(-50, 50, {5, 7}), b = randint(-50, 50, {7, 3});
  check_exact(a, [](const Tensor& x) { return ops::cat({x, x.slice(1, 0, 7, 3)}, 1); });
  check_exact(a.to(kInt32), [](const Tensor& x) { return ops::cat({x.t(), x.t()}, 0); });
  check_exact(b.to(kBool), [](const Tensor& x) { return ops::cat({x, x.t().t()}, 0); });
}

// ---- index_select / index_add / embedding ----

TEST_CASE("cuda index_select: repeats, int32 and strided indices, odd sizes", "[cuda][index]") {
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      const int64_t rows = std::max<int64_t>(n, 1);
      Tensor idx = randint(0, rows, {n + 2});  // n + 2 picks from rows: duplicates
      if (n == 0) idx = randint(0, 1, {0});
      const int64_t k = idx.numel() ? max_multiplicity(idx) : 1;
      const double gtol = dup_tolerance(dtype, k);
      INFO("n = " << n << ", " << dtype_name(dtype) << ", max multiplicity " << k);
      check({{rows, 3}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
        return ops::index_select(l[0], 0, idx.to(d));
      }, parity_tolerance(dtype), gtol);
      check({{rows, 3}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
        return ops::index_select(l[0].t(), 1, idx.to(kInt32).to(d));  // transposed x, int32 index
      }, parity_tolerance(dtype), gtol);
    }
    // strided (sliced) index, 0-d index, middle dim of a permuted 3-D tensor
    Tensor wide = randint(0, 6, {20});
    Tensor strided = wide.slice(0, 1, 20, 3);
    const double gtol = dup_tolerance(dtype, max_multiplicity(strided));
    check({{4, 6, 5}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
      return ops::index_select(l[0], 1, wide.to(d).slice(0, 1, 20, 3));
    }, parity_tolerance(dtype), gtol);
    check({{5, 6, 4}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
      return ops::index_select(l[0].permute({2, 1, 0}), 1, wide.to(d).slice(0, 1, 20, 3));
    }, parity_tolerance(dtype), gtol);
    check({{5, 3}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
      return ops::index_select(l[0], 0, from_vector(std::vector<int64_t>{4}, Shape{}).to(d));
    });
  }
}

TEST_CASE("cuda index_add: duplicates accumulate (atomics), grads of base and src", "[cuda][index]") {
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      const int64_t rows = std::max<int64_t>(n / 7, 1);  // many duplicates per row
      Tensor idx = randint(0, rows, {n});
      const int64_t k = n ? max_multiplicity(idx) : 1;
      const double tol = dup_tolerance(dtype, k);
      INFO("n = " << n << ", " << dtype_name(dtype) << ", max multiplicity " << k);
      check({{rows, 3}, {n, 3}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
        return ops::index_add(l[0], 0, idx.to(d), l[1]);
      }, tol, tol);
      check({{3, rows}, {n, 3}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
        // transposed base and src, int32 index, along the last dim
        return ops::index_add(l[0], 1, idx.to(kInt32).to(d), l[1].t());
      }, tol, tol);
    }
    Tensor wide = randint(0, 4, {30});
    const double tol = dup_tolerance(dtype, max_multiplicity(wide.slice(0, 0, 30, 2)));
    check({{2, 4, 3}, {2, 15, 3}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
      return ops::index_add(l[0], 1, wide.to(d).slice(0, 0, 30, 2), l[1]);  // strided index
    }, tol, tol);
  }
  // integer payloads are exact (int64 through unsigned long long atomics)
  Tensor idx = randint(0, 5, {1023});
  Tensor src = randint(-1000, 1000, {1023, 3});
  Tensor yc = ops::index_add(zeros({5, 3}, kInt64), 0, idx, src);
  Tensor yg = ops::index_add(zeros({5, 3}, kInt64, gpu()), 0, idx.to(gpu()), src.to(gpu()));
  REQUIRE(yc.to_vector<int64_t>() == yg.to(kCPU).to_vector<int64_t>());
  Tensor yc32 = ops::index_add(zeros({5, 3}, kInt32), 0, idx, src.to(kInt32));
  Tensor yg32 = ops::index_add(zeros({5, 3}, kInt32, gpu()), 0, idx.to(gpu()), src.to(kInt32).to(gpu()));
  REQUIRE(yc32.to_vector<int32_t>() == yg32.to(kCPU).to_vector<int32_t>());
}

TEST_CASE("cuda embedding: lookups and weight grads, with and without padding_idx", "[cuda][index]") {
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      const int64_t num = 11;
      Tensor idx = randint(0, num, {n});
      const int64_t k = n ? max_multiplicity(idx) : 1;
      const double gtol = dup_tolerance(dtype, k);
      INFO("n = " << n << ", " << dtype_name(dtype) << ", max multiplicity " << k);
      for (int64_t padding_idx : {int64_t(-1), int64_t(3)}) {
        check({{num, 5}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
          return ops::embedding(l[0], idx.to(d), padding_idx);
        }, parity_tolerance(dtype), gtol);
      }
    }
    // 2-D non-contiguous int32 indices, transposed weight
    Tensor idx2 = randint(0, 9, {6, 4});
    const double gtol = dup_tolerance(dtype, max_multiplicity(idx2));
    check({{7, 9}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
      return ops::embedding(l[0].t(), idx2.to(kInt32).to(d).t(), 0);
    }, parity_tolerance(dtype), gtol);
  }
}

// ---- gather / scatter_add ----

TEST_CASE("cuda gather: any dim, non-contiguous x and index, odd sizes", "[cuda][index]") {
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      const int64_t cols = std::max<int64_t>(n, 1);
      Tensor idx = randint(0, cols, {3, n + 1});  // gather along dim 1, index wider than x: n + 1 > n
      if (n == 0) idx = randint(0, 1, {3, 0});
      const int64_t k = idx.numel() ? max_multiplicity(idx) : 1;  // bounds the per-element count
      const double gtol = dup_tolerance(dtype, k);
      INFO("n = " << n << ", " << dtype_name(dtype));
      check({{3, cols}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
        return ops::gather(l[0], 1, idx.to(d));
      }, parity_tolerance(dtype), gtol);
      check({{cols, 3}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
        return ops::gather(l[0].t(), -1, idx.to(kInt32).to(d));  // transposed x, int32 index
      }, parity_tolerance(dtype), gtol);
    }
    Tensor idx = randint(0, 5, {4, 3, 6});
    const double gtol = dup_tolerance(dtype, max_multiplicity(idx));
    check({{3, 5, 4}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
      // permuted x [4, 5, 3]... gathered along dim 1 with a permuted index [4, 6, 3]
      return ops::gather(l[0].permute({2, 1, 0}), 1, idx.to(d).permute({0, 2, 1}));
    }, parity_tolerance(dtype), gtol);
  }
}

TEST_CASE("cuda scatter_add: duplicates accumulate (atomics), src larger than index", "[cuda][index]") {
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      const int64_t rows = std::max<int64_t>(n / 5, 1);
      Tensor idx = randint(0, rows, {n, 3});
      const int64_t k = n ? max_multiplicity(idx) : 1;
      const double tol = dup_tolerance(dtype, k);
      INFO("n = " << n << ", " << dtype_name(dtype) << ", max multiplicity " << k);
      check({{rows, 4}, {n + 2, 3}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
        return ops::scatter_add(l[0], 0, idx.to(d), l[1]);  // src bigger than index: zero-padded grad
      }, tol, tol);
      check({{4, rows}, {3, n}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
        // transposed index and src, int32, along dim 1
        return ops::scatter_add(l[0], 1, idx.to(kInt32).to(d).t(), l[1]);
      }, tol, tol);
    }
    Tensor idx = randint(0, 3, {4, 10, 2});
    Tensor sub = idx.slice(1, 0, 10, 2);  // [4, 5, 2], strided
    const double tol = dup_tolerance(dtype, max_multiplicity(idx));
    check({{4, 3, 2}, {2, 5, 4}}, dtype, [&](const std::vector<Tensor>& l, Device d) {
      return ops::scatter_add(l[0], 1, idx.to(d).slice(1, 0, 10, 2), l[1].permute({2, 1, 0}));
    }, tol, tol);
  }
  // int64 and bool payloads: exact
  Tensor idx = randint(0, 4, {1023, 2});
  Tensor src = randint(-1000, 1000, {1023, 2});
  auto f = [&](Device d, DType t) {
    return ops::scatter_add(zeros({4, 2}, t, d), 0, idx.to(d), src.to(t).to(d));
  };
  REQUIRE(f(kCPU, kInt64).to_vector<int64_t>() == f(gpu(), kInt64).to(kCPU).to_vector<int64_t>());
  Tensor bsrc = randint(0, 2, {1023, 2}).to(kBool);
  auto fb = [&](Device d) { return ops::scatter_add(zeros({4, 2}, kBool, d), 0, idx.to(d), bsrc.to(d)); };
  REQUIRE(fb(kCPU).to(kInt64).to_vector<int64_t>() == fb(gpu()).to(kCPU).to(kInt64).to_vector<int64_t>());
}

// ---- one_hot ----

TEST_CASE("cuda one_hot: inferred and given class counts, strided and int32 indices", "[cuda][index]") {
  for (int64_t n : odd_sizes()) {
    INFO("n = " << n);
    Tensor idx = randint(0, 9, {n});
    check_exact(idx, [](const Tensor& x) { return ops::one_hot(x, 12); });
    if (n > 0) check_exact(idx, [](const Tensor& x) { return ops::one_hot(x); });  // min/max scan on CUDA
    check_exact(idx.to(kInt32), [](const Tensor& x) { return ops::one_hot(x, 9, kFloat32); });
  }
  Tensor idx = randint(0, 5, {4, 6});
  check_exact(idx, [](const Tensor& x) { return ops::one_hot(x.t(), 5, kFloat64); });
  check_exact(idx, [](const Tensor& x) { return ops::one_hot(x.slice(1, 0, 6, 4), -1, kBool); });
}

// ---- pad, flip ----

TEST_CASE("cuda pad: positive, negative and mixed pads, values, non-contiguous input", "[cuda][index]") {
  const std::vector<std::vector<int64_t>> pad_lists = {
      {1, 2}, {0, 0}, {-1, 3}, {2, -2, 1, 1}, {-1, -1, 0, 2}, {3, -4}, {1, 1, 1, 1, 1, 1}};
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      INFO("n = " << n << ", " << dtype_name(dtype));
      check({{n}}, dtype, [](const std::vector<Tensor>& l, Device) { return ops::pad(l[0], {2, 3}, 1.5); });
      if (n >= 2) check({{n}}, dtype, [](const std::vector<Tensor>& l, Device) { return ops::pad(l[0], {-1, -1}); });
    }
    for (const auto& pads : pad_lists) {
      INFO("pads of size " << pads.size() << ", " << dtype_name(dtype));
      check({{3, 4, 5}}, dtype, [&](const std::vector<Tensor>& l, Device) { return ops::pad(l[0], pads, -0.5); });
      check({{5, 4, 3}}, dtype, [&](const std::vector<Tensor>& l, Device) {
        return ops::pad(l[0].permute({2, 1, 0}), pads);  // non-contiguous input
      });
    }
    // cropped away entirely: out is all padding, x gets a zero gradient
    check({{2, 3}}, dtype, [](const std::vector<Tensor>& l, Device) { return ops::pad(l[0], {-3, 4}); });
    check({{0, 3}}, dtype, [](const std::vector<Tensor>& l, Device) { return ops::pad(l[0], {1, 1, 2, 0}, 7.0); });
  }
  check_exact(randint(-9, 9, {3, 4}), [](const Tensor& x) { return ops::pad(x.t(), {1, -1, 2, 0}, 5.0); });
  check_exact(randint(-9, 9, {3, 4}).to(kInt32), [](const Tensor& x) { return ops::pad(x, {-2, 1}); });
  check_exact(randint(0, 2, {3, 4}).to(kBool), [](const Tensor& x) { return ops::pad(x, {1, 1}, 1.0); });
}

TEST_CASE("cuda flip: one, several and all dims, non-contiguous input, empty tensors", "[cuda][index]") {
  for (DType dtype : kFloats) {
    for (int64_t n : odd_sizes()) {
      INFO("n = " << n << ", " << dtype_name(dtype));
      check({{n}}, dtype, [](const std::vector<Tensor>& l, Device) { return ops::flip(l[0], {0}); });
      check({{n, 3}}, dtype, [](const std::vector<Tensor>& l, Device) { return ops::flip(l[0].t(), {-1}); });
    }
    const std::vector<std::vector<int64_t>> dim_lists = {{}, {0}, {1}, {2}, {0, 2}, {-1, 0, 1}};
    for (const auto& dims : dim_lists) {
      check({{3, 4, 5}}, dtype, [&](const std::vector<Tensor>& l, Device) { return ops::flip(l[0], dims); });
      check({{5, 8, 3}}, dtype, [&](const std::vector<Tensor>& l, Device) {
        return ops::flip(l[0].permute({2, 0, 1}).slice(2, 1, 8, 2), dims);
      });
    }
    check(std::vector<Shape>{Shape{}}, dtype, [](const std::vector<Tensor>& l, Device) { return ops::flip(l[0], {0}); });
  }
  check_exact(randint(-9, 9, {3, 4}), [](const Tensor& x) { return ops::flip(x.t(), {0, 1}); });
  check_exact(randint(0, 2, {7}).to(kBool), [](const Tensor& x) { return ops::flip(x, {0}); });
}

// ---- errors ----

TEST_CASE("cuda index ops reject out-of-range indices (min/max scan on the device)", "[cuda][index][errors]") {
  Tensor x = zeros({4, 5}, kFloat32, gpu());
  auto on_gpu = [](std::vector<int64_t> v) { return from_vector(v).to(gpu()); };
  REQUIRE_THROWS_NOVA(ops::index_select(x, 1, on_gpu({0, 5, 2})), "index_select: index 5 out of range for dim 1 (size 5)");
  REQUIRE_THROWS_NOVA(ops::index_select(x, 0, on_gpu({-1, 2})), "index_select: index -1 out of range for dim 0 (size 4)");
  REQUIRE_THROWS_NOVA(ops::index_select(x, 0, on_gpu({3, 9, -2}).to(kInt32)), "index_select: index -2 out of range");
  REQUIRE_THROWS_NOVA(ops::index_add(x, 0, on_gpu({4}), zeros({1, 5}, kFloat32, gpu())),
                      "index_add: index 4 out of range for dim 0 (size 4)");
  Tensor big = from_vector(std::vector<int64_t>{0, 1, 7, 2, 3, 0}, {2, 3}).to(gpu());
  REQUIRE_THROWS_NOVA(ops::gather(x, 0, big), "gather: index 7 out of range for dim 0 (size 4)");
  REQUIRE_THROWS_NOVA(ops::scatter_add(x, 0, big, zeros({2, 3}, kFloat32, gpu())),
                      "scatter_add: index 7 out of range for dim 0 (size 4)");
  REQUIRE_THROWS_NOVA(ops::embedding(x, on_gpu({1, 4})), "embedding: index 4 out of range for the rows of weight [4, 5]");
  REQUIRE_THROWS_NOVA(ops::one_hot(on_gpu({1, 3}), 3), "one_hot: index 3 out of range for num_classes (size 3)");
  // a large index tensor: the bad value is found wherever it sits (many blocks)
  Tensor many = zeros({65537}, kInt64);
  many = ops::index_add(many, 0, from_vector(std::vector<int64_t>{40000}), from_vector(std::vector<int64_t>{-9}));
  REQUIRE_THROWS_NOVA(ops::index_select(x, 1, many.to(gpu())), "index_select: index -9 out of range for dim 1 (size 5)");
  // in range, and the device still works after the refusals
  REQUIRE(ops::index_select(x, 1, on_gpu({4, 0})).to(kCPU).to_vector<float>() == std::vector<float>(8, 0.0f));
}
