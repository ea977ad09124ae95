// tests/test_reduce_cuda.cpp: CPU/CUDA parity of the reductions (sum, mean,
// var, max/min (values and indices), amax/amin, argmax/argmin, norm with
// p = 1, 2, inf, 3, logsumexp): forward and the gradients of the leaves,
// float32 within 1e-5 relative and float64 within 1e-12, over all dims, one
// dim, several dims, keepdim, transposed and sliced inputs, the odd sizes
// (0, 1, 7, 1023, 65537: the warp path, the block path, empty sums), integer
// dtypes, NaN propagation and first-index tie-breaking.
#include <functional>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

Tensor same(const Tensor& x) { return x; }

/// f(view(x)) from the same random values on the CPU and on cuda:0: the
/// results agree, and (grad) so do the gradients of the leaves x after
/// backward with the same upstream gradient.
void check(const Shape& shape, DType dtype, const Fn& view, const Fn& f, bool grad = true) {
  Tensor base = uniform(shape, -2.0, 2.0, dtype);
  Tensor xc = base.clone(), xg = base.to(gpu());
  if (grad) {
    xc.requires_grad_();
    xg.requires_grad_();
  }
  Tensor yc = f(view(xc)), yg = f(view(xg));
  require_parity(yc, yg);
  if (!grad) return;
  Tensor g = uniform(yc.shape(), -1.0, 1.0, dtype);
  yc.backward(g);
  yg.backward(g.to(gpu()));
  require_parity(xc.grad(), xg.grad());
}

/// Every floating reduction of this file with `dims` and keepdim.
std::vector<std::pair<std::string, Fn>> reductions(const std::vector<int64_t>& dims, bool keepdim) {
  return {
      {"sum", [=](const Tensor& x) { return ops::sum(x, dims, keepdim); }},
      {"mean", [=](const Tensor& x) { return ops::mean(x, dims, keepdim); }},
      {"var", [=](const Tensor& x) { return ops::var(x, dims, true, keepdim); }},
      {"var (biased)", [=](const Tensor& x) { return ops::var(x, dims, false, keepdim); }},
      {"amax", [=](const Tensor& x) { return ops::amax(x, dims, keepdim); }},
      {"amin", [=](const Tensor& x) { return ops::amin(x, dims, keepdim); }},
      {"norm 1", [=](const Tensor& x) { return ops::norm(x, 1.0, dims, keepdim); }},
      {"norm 2", [=](const Tensor& x) { return ops::norm(x, 2.0, dims, keepdim); }},
      {"norm inf", [=](const Tensor& x) { return ops::norm(x, INFINITY, dims, keepdim); }},
      {"norm 3", [=](const Tensor& x) { return ops::norm(x, 3.0, dims, keepdim); }},
      {"logsumexp", [=](const Tensor& x) { return ops::logsumexp(x, dims, keepdim); }},
  };
}

bool needs_values(const std::string& name) { return name == "amax" || name == "amin"; }

}  // namespace

TEST_CASE("cuda reductions over all dims of 1-D tensors of odd sizes", "[cuda][reduce]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t n : odd_sizes()) {
      for (auto& [name, f] : reductions({}, false)) {
        if (n == 0 && needs_values(name)) continue;  // no value: core refuses on both devices
        INFO(name << " over " << n << " elements, " << dtype_name(dtype));
        check({n}, dtype, same, f);
      }
      if (n == 0) continue;
      INFO("max/min/argmax/argmin over " << n << " elements, " << dtype_name(dtype));
      check({n}, dtype, same, [](const Tensor& x) { return ops::max(x); });
      check({n}, dtype, same, [](const Tensor& x) { return ops::min(x); });
      check({n}, dtype, same, [](const Tensor& x) { return ops::argmax(x); }, false);
      check({n}, dtype, same, [](const Tensor& x) { return ops::argmin(x); }, false);
    }
  }
}

TEST_CASE("cuda reductions over one or several dims, keepdim, transposed and sliced", "[cuda][reduce]") {
  const std::vector<std::vector<int64_t>> dim_lists = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}};
  // [6, 14, 9]: as is, transposed (dims 0 and 2 swapped) and sliced (every
  // other index of dim 1, then a narrow of dim 2): none of them contiguous
  const std::vector<std::pair<std::string, Fn>> views = {
      {"contiguous", same},
      {"transposed", [](const Tensor& x) { return x.transpose(0, 2); }},
      {"sliced", [](const Tensor& x) { return x.slice(1, 0, 14, 2).narrow(2, 1, 7); }},
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    for (auto& [vname, view] : views) {
      for (auto& dims : dim_lists) {
        for (bool keepdim : {false, true}) {
          for (auto& [name, f] : reductions(dims, keepdim)) {
            INFO(name << " over " << dims.size() << " dims (first " << (dims.empty() ? -9 : dims[0])
                      << "), keepdim " << keepdim << ", " << vname << ", " << dtype_name(dtype));
            check({6, 14, 9}, dtype, view, f);
          }
        }
      }
      for (int64_t d : {0, 1, 2}) {
        for (bool keepdim : {false, true}) {
          INFO("max/min/argmax along dim " << d << ", keepdim " << keepdim << ", " << vname);
          check({6, 14, 9}, dtype, view, [=](const Tensor& x) { return ops::max(x, d, keepdim).values; });
          check({6, 14, 9}, dtype, view, [=](const Tensor& x) { return ops::min(x, d, keepdim).values; });
          check({6, 14, 9}, dtype, view, [=](const Tensor& x) { return ops::max(x, d, keepdim).indices; }, false);
          check({6, 14, 9}, dtype, view, [=](const Tensor& x) { return ops::min(x, d, keepdim).indices; }, false);
          check({6, 14, 9}, dtype, view, [=](const Tensor& x) { return ops::argmax(x, d, keepdim); }, false);
          check({6, 14, 9}, dtype, view, [=](const Tensor& x) { return ops::argmin(x, d, keepdim); }, false);
        }
      }
    }
  }
}

TEST_CASE("cuda reductions with long reduced dims (block path), strided and not", "[cuda][reduce]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    // [3, 65537] along dim 1: dense rows; [65537, 3] along dim 0: stride 3;
    // [1023, 7] along dim 1: many short rows (warp path); [37, 8192] along
    // dim 0: a thread per output (dense last kept dim)
    for (auto [shape, dim] : std::vector<std::pair<Shape, int64_t>>{{{3, 65537}, 1}, {{65537, 3}, 0}, {{1023, 7}, 1},
                                                                    {{7, 1023}, 0}, {{2, 4099}, 1},
                                                                    {{37, 8192}, 0}}) {
      for (auto& [name, f] : reductions({dim}, false)) {
        INFO(name << " of " << shape.str() << " along " << dim << ", " << dtype_name(dtype));
        check(shape, dtype, same, f);
      }
      INFO("max/argmax of " << shape.str() << " along " << dim);
      check(shape, dtype, same, [=](const Tensor& x) { return ops::max(x, dim).values; });
      check(shape, dtype, same, [=](const Tensor& x) { return ops::argmax(x, dim); }, false);
      check(shape, dtype, same, [=](const Tensor& x) { return ops::argmin(x, dim); }, false);
    }
    // a transposed [65537, 3] reduced along what was the long dim
    check({65537, 3}, dtype, [](const Tensor& x) { return x.t(); },
          [](const Tensor& x) { return ops::sum(x, {1}, true); });
  }
}

TEST_CASE("cuda reductions of empty tensors and empty blocks", "[cuda][reduce]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    // [0, 5] over dim 0: five empty sums (0, NaN mean, -inf logsumexp, 0 norm)
    for (auto& [name, f] : reductions({0}, true)) {
      if (needs_values(name)) continue;
      INFO(name << " over the empty dim 0 of [0, 5]");
      check({0, 5}, dtype, same, f);
    }
    // [0, 5] over dim 1: no output at all
    for (auto& [name, f] : reductions({1}, false)) {
      INFO(name << " over dim 1 of [0, 5]: an empty result");
      check({0, 5}, dtype, same, f);
    }
    // a 0-d tensor is its own reduction
    for (auto& [name, f] : reductions({}, false)) {
      INFO(name << " of a 0-d tensor");
      check({}, dtype, same, f);
    }
  }
  REQUIRE_THROWS_WITH(ops::amax(zeros({0, 3}, kFloat32, gpu()), {0}), Catch::Contains("empty dim"));
}

TEST_CASE("cuda sum and max/argmax of integer and bool tensors", "[cuda][reduce]") {
  for (DType dtype : {kInt64, kInt32}) {
    Tensor x = randint(-1000, 1000, {37, 1029}, dtype);
    Tensor xg = x.to(gpu());
    for (int64_t d : {0, 1}) {
      require_parity(ops::sum(x, {d}), ops::sum(xg, {d}));
      require_parity(ops::max(x, d).values, ops::max(xg, d).values);
      require_parity(ops::max(x, d).indices, ops::max(xg, d).indices);
      require_parity(ops::argmin(x, d), ops::argmin(xg, d));
    }
    require_parity(ops::sum(x), ops::sum(xg));
    require_parity(ops::amin(x), ops::amin(xg));
  }
  Tensor b = randint(0, 2, {5, 300}, kInt64).to(kBool);
  require_parity(ops::amax(b, {1}), ops::amax(b.to(gpu()), {1}));
  require_parity(ops::argmax(b, 1), ops::argmax(b.to(gpu()), 1));
  REQUIRE_THROWS_WITH(ops::sum(b.to(gpu())), Catch::Contains("not defined for bool"));
}

TEST_CASE("cuda max/min: first index on ties, a NaN wins, logsumexp and norm with NaN and inf", "[cuda][reduce]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    // ties: 3 at 1, 2, 4 (argmax 1); 0 at 0 and 3 (argmin 0)
    Tensor t = from_vector({0.0, 3.0, 3.0, 0.0, 3.0}, {5}, dtype);
    REQUIRE(ops::argmax(t.to(gpu())).item() == 1);
    REQUIRE(ops::argmin(t.to(gpu())).item() == 0);
    // a long row with ties spread over threads and warps: the first index wins
    Tensor big = zeros({5000}, dtype);
    Tensor bg = big.to(gpu());
    REQUIRE(ops::argmax(bg).item() == 0);
    require_parity(ops::argmax(big.reshape({50, 100}), 1), ops::argmax(bg.reshape({50, 100}), 1));
    // NaN: the first NaN is the max and the min, and propagates through norm inf and logsumexp
    std::vector<double> v(3000, 1.0);
    v[1700] = NAN;
    v[2500] = NAN;
    v[10] = INFINITY;
    Tensor n = from_vector(v, {3000}, dtype);
    Tensor ng = n.to(gpu());
    REQUIRE(ops::argmax(ng).item() == 1700);
    REQUIRE(ops::argmin(ng).item() == 1700);
    require_parity(ops::amax(n), ops::amax(ng));
    require_parity(ops::norm(n, INFINITY), ops::norm(ng, INFINITY));
    require_parity(ops::logsumexp(n), ops::logsumexp(ng));
    require_parity(ops::sum(n), ops::sum(ng));
    // all -inf and a +inf: logsumexp is that infinity
    Tensor inf = from_vector({-INFINITY, -INFINITY, INFINITY, 1.0}, {2, 2}, dtype);
    require_parity(ops::logsumexp(inf, {1}), ops::logsumexp(inf.to(gpu()), {1}));
  }
}
