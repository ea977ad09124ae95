// tests/test_pool_cuda.cpp: CPU/CUDA parity of the pool family, float32 within
// 1e-5 relative and float64 within 1e-12 (tests/cuda_util.h): forward values,
// max_pool2d's argmax indices (exactly), the gradients of the input and the
// second derivatives through each op's backward op:
//   max_pool2d          plain, overlapping with padding, dilated, ceil_mode,
//                       [C, H, W] input, a strided view, an empty batch;
//   avg_pool2d          with and without count_include_pad, ceil_mode;
//   global pooling      mean / sum over H and W;
//   upsample_nearest2d  scale 2 (PyTorch's shift path), odd sizes both ways,
//                       a non-integer scale, a 17M-element output (the
//                       grid-stride loop wraps);
//   upsample_bilinear2d up and down, align_corners on and off, a 1x1 output.
// The backward kernels are gathers (one writer per element, kernels/pool.h),
// so the gradients agree as closely as the forward values.
#include <functional>
#include <vector>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;
using ops::UpsampleTo;

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

/// f(x) on the CPU and on cuda:0: the outputs, the gradients of x for a
/// random dL/dy, and the second-order gradient of <dL/dx, v> (through the
/// op's backward op, with dL/dy depending on x as (y * y)'s does) agree.
void check(const Tensor& x, const Fn& f) {
  Tensor xc = x.clone().requires_grad_(), xg = x.to(gpu()).requires_grad_();
  Tensor yc = f(xc), yg = f(xg);
  require_parity(yc, yg);
  Tensor r = uniform(yc.shape(), -1.0, 1.0, yc.dtype());
  Tensor v = uniform(x.shape(), -1.0, 1.0, x.dtype());
  auto second = [&](const Tensor& xi, const Tensor& y, const Tensor& ri, const Tensor& vi) {
    Tensor gx = autograd::grad({y * y}, {xi}, {ri}, true)[0];
    Tensor ggx = autograd::grad({ops::sum(gx * vi)}, {xi})[0];
    return std::vector<Tensor>{gx, ggx};
  };
  auto gc = second(xc, yc, r, v);
  auto gg = second(xg, yg, r.to(gpu()), v.to(gpu()));
  INFO("first-order gradient");
  require_parity(gc[0], gg[0]);
  INFO("second-order gradient");
  require_parity(gc[1], gg[1]);
}

/// Distinct values at least 0.08 apart: no max-pool ties, so that the
/// second-order check's y * y is smooth around x.
Tensor distinct(const Shape& shape, DType dtype) {
  Tensor v = randperm(shape.numel()).to(kFloat64) * 0.1 + uniform({shape.numel()}, -0.01, 0.01, kFloat64);
  return v.reshape(shape).to(dtype);
}

}  // namespace

TEST_CASE("cuda max_pool2d matches the CPU, values, indices and gradients", "[cuda][pool]") {
  struct Case {
    Shape shape;
    ops::Pair2d k, s, p, d;
    bool ceil_mode;
  };
  const std::vector<Case> cases = {
      {{2, 3, 8, 8}, 2, 0, 0, 1, false},       {{2, 5, 17, 13}, 3, 2, 1, 1, false},
      {{1, 3, 9, 7}, {3, 2}, {2, 1}, {1, 0}, 1, true},
      {{2, 2, 15, 11}, 3, 2, 1, 2, false},     {{3, 16, 33, 35}, 3, 1, 1, 1, true},
      {{0, 2, 6, 6}, 2, 0, 0, 1, false},       {{4, 7, 7}, 2, 1, 1, 1, false},
  };
  for (DType dtype : {kFloat32, kFloat64})
    for (const Case& c : cases) {
      INFO("input " << c.shape.str() << " kernel " << c.k.h << "x" << c.k.w << " stride " << c.s.h
                    << "x" << c.s.w << " padding " << c.p.h << "x" << c.p.w << " dilation "
                    << c.d.h << "x" << c.d.w << " ceil " << c.ceil_mode << ", " << dtype_name(dtype));
      Tensor x = distinct(c.shape, dtype);
      auto rc = ops::max_pool2d_with_indices(x, c.k, c.s, c.p, c.d, c.ceil_mode);
      auto rg = ops::max_pool2d_with_indices(x.to(gpu()), c.k, c.s, c.p, c.d, c.ceil_mode);
      REQUIRE(rc.indices.to_vector<int64_t>() == rg.indices.to(kCPU).to_vector<int64_t>());
      check(x, [&](const Tensor& t) { return ops::max_pool2d(t, c.k, c.s, c.p, c.d, c.ceil_mode); });
    }
}

TEST_CASE("cuda max_pool2d breaks ties and propagates NaN as the CPU does", "[cuda][pool]") {
  // small integers: many ties inside every window
  Tensor x = randint(-2, 3, {2, 3, 9, 10}).to(kFloat64);
  x.select(1, 1).select(1, 4).fill_(NAN);
  for (DType dtype : {kFloat32, kFloat64}) {
    auto rc = ops::max_pool2d_with_indices(x.to(dtype), 3, 2, 1);
    auto rg = ops::max_pool2d_with_indices(x.to(dtype).to(gpu()), 3, 2, 1);
    require_parity(rc.values, rg.values);
    REQUIRE(rc.indices.to_vector<int64_t>() == rg.indices.to(kCPU).to_vector<int64_t>());
  }
}

TEST_CASE("cuda max_pool2d on a strided view matches the CPU", "[cuda][pool]") {
  Tensor base = distinct({2, 3, 11, 9}, kFloat32);
  check(base, [](const Tensor& t) { return ops::max_pool2d(t.transpose(2, 3), 2, 1); });
}

TEST_CASE("cuda avg_pool2d matches the CPU, with and without the padding", "[cuda][pool]") {
  struct Case {
    Shape shape;
    ops::Pair2d k, s, p;
    bool ceil_mode;
  };
  const std::vector<Case> cases = {
      {{2, 3, 8, 8}, 2, 0, 0, false},   {{2, 5, 17, 13}, 3, 2, 1, false},
      {{1, 3, 9, 7}, {3, 2}, {2, 1}, {1, 0}, true},
      {{2, 2, 15, 11}, 4, 3, 2, true},  {{3, 16, 33, 35}, 5, 1, 2, false},
      {{0, 2, 6, 6}, 2, 0, 0, false},   {{4, 7, 7}, 3, 2, 1, true},
  };
  for (DType dtype : {kFloat32, kFloat64})
    for (const Case& c : cases)
      for (bool include_pad : {true, false}) {
        INFO("input " << c.shape.str() << " kernel " << c.k.h << "x" << c.k.w << " stride "
                      << c.s.h << "x" << c.s.w << " padding " << c.p.h << "x" << c.p.w << " ceil "
                      << c.ceil_mode << " count_include_pad " << include_pad << ", "
                      << dtype_name(dtype));
        check(uniform(c.shape, -2, 2, dtype), [&](const Tensor& t) {
          return ops::avg_pool2d(t, c.k, c.s, c.p, c.ceil_mode, include_pad);
        });
      }
}

TEST_CASE("cuda global poolings match the CPU", "[cuda][pool]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = uniform({4, 7, 9, 13}, -2, 2, dtype);
    check(x, [](const Tensor& t) { return ops::global_avg_pool2d(t); });
    check(x, [](const Tensor& t) { return ops::global_sum_pool2d(t); });
  }
}

TEST_CASE("cuda upsample_nearest2d matches the CPU", "[cuda][pool]") {
  const std::vector<std::pair<Shape, UpsampleTo>> cases = {
      {{2, 3, 8, 8}, UpsampleTo::scale(2)},       {{2, 3, 7, 5}, UpsampleTo::size(23, 11)},
      {{1, 4, 17, 13}, UpsampleTo::size(5, 6)},   {{2, 2, 9, 7}, UpsampleTo::scale(1.7, 2.5)},
      {{3, 2, 6, 6}, UpsampleTo::size(6, 6)},     {{0, 2, 4, 4}, UpsampleTo::scale(2)},
  };
  for (DType dtype : {kFloat32, kFloat64})
    for (const auto& [shape, to] : cases) {
      INFO("input " << shape.str() << ", " << dtype_name(dtype));
      check(uniform(shape, -2, 2, dtype), [to = to](const Tensor& t) { return ops::upsample_nearest2d(t, to); });
    }
}

TEST_CASE("cuda upsample_nearest2d with a 17M-element output wraps its grid-stride loop", "[cuda][pool]") {
  // 2^16 blocks of 256 threads cover 16.8M outputs: the rest take a second lap
  Tensor x = uniform({4, 4, 512, 520}, -1, 1, kFloat32);
  require_parity(ops::upsample_nearest2d(x, UpsampleTo::scale(2)),
                 ops::upsample_nearest2d(x.to(gpu()), UpsampleTo::scale(2)));
}

TEST_CASE("cuda upsample_bilinear2d matches the CPU", "[cuda][pool]") {
  const std::vector<std::pair<Shape, UpsampleTo>> cases = {
      {{2, 3, 8, 8}, UpsampleTo::scale(2)},       {{2, 3, 7, 5}, UpsampleTo::size(23, 11)},
      {{1, 4, 17, 13}, UpsampleTo::size(5, 6)},   {{2, 2, 9, 7}, UpsampleTo::scale(1.7, 2.5)},
      {{1, 2, 6, 5}, UpsampleTo::size(1, 1)},     {{0, 2, 4, 4}, UpsampleTo::scale(2)},
  };
  for (DType dtype : {kFloat32, kFloat64})
    for (const auto& [shape, to] : cases)
      for (bool align_corners : {false, true}) {
        INFO("input " << shape.str() << " align_corners " << align_corners << ", " << dtype_name(dtype));
        check(uniform(shape, -2, 2, dtype), [to = to, align_corners](const Tensor& t) {
          return ops::upsample_bilinear2d(t, to, align_corners);
        });
      }
}
