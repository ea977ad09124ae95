// tests/test_pool.cpp: max_pool2d, avg_pool2d, the global poolings and
// nearest / bilinear upsampling. Forward values: small cases written out by
// hand from PyTorch's semantics (checked against torch 2.x), and random cases
// against float64 references computed by plain loops here, in float64 and
// float32; float64 gradchecks and gradgradchecks (max_pool2d on inputs without
// ties, so that finite differences never cross an argmax change); bad inputs;
// empty batches; grad_split's fused path through every op.
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "core/grad_split.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using ops::Pair2d;
using ops::UpsampleTo;

namespace {

void require_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("index " << i << ": got " << got[i] << ", want " << want[i]);
    REQUIRE(std::abs(got[i] - want[i]) <= tol * std::max(1.0, std::abs(want[i])));
  }
}

/// A [1, 1, h, w] float64 image from row-major values.
Tensor image(const std::vector<double>& v, int64_t h, int64_t w) {
  return from_vector<double>(v, {1, 1, h, w});
}

/// A float64 leaf whose values are distinct and at least 0.08 apart (a
/// shuffled 0.1 * k plus noise below 0.01): no max-pool window has a tie.
Tensor distinct_leaf(const Shape& shape) {
  Tensor v = randperm(shape.numel()).to(kFloat64) * 0.1 + uniform({shape.numel()}, -0.01, 0.01, kFloat64);
  return v.reshape(shape).detach().requires_grad_();
}

/// PyTorch's pooled size along one dim, written with floating-point floor/ceil.
int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const double q = double(in + 2 * p - d * (k - 1) - 1) / double(s);
  int64_t out = int64_t(ceil_mode ? std::ceil(q) : std::floor(q)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

struct PoolRef {
  std::vector<double> values;
  std::vector<double> indices;  // max pooling only
  Shape shape;
};

/// Reference pooling of x [N, C, H, W] by plain loops over every window
/// position. max: the first strictly larger value wins. avg: the sum of the
/// positions inside the input, divided by the positions inside the padded
/// input (count_include_pad) or inside the input.
PoolRef pool_reference(const Tensor& x, bool is_max, Pair2d k, Pair2d s, Pair2d p, Pair2d d,
                       bool ceil_mode, bool count_include_pad = true) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t OH = pooled_size(H, k.h, s.h, p.h, d.h, ceil_mode);
  const int64_t OW = pooled_size(W, k.w, s.w, p.w, d.w, ceil_mode);
  auto xv = x.contiguous().to_vector<double>();
  PoolRef r;
  r.shape = {N, C, OH, OW};
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = -INFINITY, sum = 0;
        int64_t best_at = -1, inside = 0, padded = 0;
        for (int64_t i = 0; i < k.h; ++i)
          for (int64_t j = 0; j < k.w; ++j) {
            const int64_t h = oh * s.h - p.h + i * d.h, w = ow * s.w - p.w + j * d.w;
            if (h < H + p.h && w < W + p.w) ++padded;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const double v = xv[(nc * H + h) * W + w];
            ++inside;
            sum += v;
            if (best_at < 0 || v > best) {
              best = v;
              best_at = h * W + w;
            }
          }
        if (is_max) {
          r.values.push_back(best);
          r.indices.push_back(double(best_at));
        } else {
          const int64_t divisor = count_include_pad ? padded : inside;
          r.values.push_back(inside ? sum / double(divisor) : 0.0);
        }
      }
  return r;
}

/// Reference nearest upsampling: src(o) = floor(o * in / out) in exact
/// integer arithmetic (sizes chosen so that PyTorch's float formula agrees).
std::vector<double> nearest_reference(const Tensor& x, int64_t OH, int64_t OW) {
  const int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  auto xv = x.contiguous().to_vector<double>();
  std::vector<double> y;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) y.push_back(xv[(p * H + oh * H / OH) * W + ow * W / OW]);
  return y;
}

/// Reference bilinear upsampling in double: the source point along one dim
/// and the two rows it blends, written from the definition.
struct Taps {
  int64_t i0, i1;
  double w1;  // weight of i1; i0 gets 1 - w1
};

Taps bilinear_taps(int64_t o, int64_t in, int64_t out, bool align_corners, double scale) {
  double src;
  if (align_corners) {
    src = out > 1 ? double(o) * double(in - 1) / double(out - 1) : 0.0;
  } else {
    const double ratio = scale > 0 ? 1.0 / scale : double(in) / double(out);
    src = std::max(ratio * (double(o) + 0.5) - 0.5, 0.0);
  }
  const int64_t i0 = std::min(int64_t(std::floor(src)), in - 1);
  return {i0, std::min(i0 + 1, in - 1), src - double(i0)};
}

std::vector<double> bilinear_reference(const Tensor& x, int64_t OH, int64_t OW, bool align_corners,
                                       double scale = 0) {
  const int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  auto xv = x.contiguous().to_vector<double>();
  std::vector<double> y;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh) {
      const Taps th = bilinear_taps(oh, H, OH, align_corners, scale);
      for (int64_t ow = 0; ow < OW; ++ow) {
        const Taps tw = bilinear_taps(ow, W, OW, align_corners, scale);
        auto at = [&](int64_t h, int64_t w) { return xv[(p * H + h) * W + w]; };
        y.push_back((1 - th.w1) * ((1 - tw.w1) * at(th.i0, tw.i0) + tw.w1 * at(th.i0, tw.i1)) +
                    th.w1 * ((1 - tw.w1) * at(th.i1, tw.i0) + tw.w1 * at(th.i1, tw.i1)));
      }
    }
  return y;
}

const std::vector<double> kFourByFour = {1, 2, 5, 3,  //
                                         4, 0, 1, 6,  //
                                         7, 8, 2, 2,  //
                                         3, 9, 2, 1};

}  // namespace

// ---- max_pool2d ----

TEST_CASE("max_pool2d of a 4x4 image by 2x2 windows matches PyTorch's values and indices", "[pool]") {
  auto r = ops::max_pool2d_with_indices(image(kFourByFour, 4, 4), 2);
  REQUIRE(r.values.shape() == Shape{1, 1, 2, 2});
  REQUIRE(r.indices.dtype() == kInt64);
  require_close(values(r.values), {4, 6, 9, 2}, 0);
  // the bottom-right window holds 2, 2, 2, 1: the first 2 (row 2, col 2) wins
  REQUIRE(r.indices.to_vector<int64_t>() == std::vector<int64_t>{4, 7, 13, 10});
}

TEST_CASE("max_pool2d with 3x3 windows, stride 1, padding 1 keeps the size", "[pool]") {
  auto r = ops::max_pool2d_with_indices(image(kFourByFour, 4, 4), 3, 1, 1);
  require_close(values(r.values), {4, 5, 6, 6, 8, 8, 8, 6, 9, 9, 9, 6, 9, 9, 9, 2}, 0);
  REQUIRE(r.indices.to_vector<int64_t>() ==
          std::vector<int64_t>{4, 2, 7, 7, 9, 9, 9, 7, 13, 13, 13, 7, 13, 13, 13, 10});
}

TEST_CASE("max_pool2d with dilation 2 reads every other pixel", "[pool]") {
  // output (0, 0) reads pixels (0,0) (0,2) (2,0) (2,2): 1, 5, 7, 2
  auto r = ops::max_pool2d_with_indices(image(kFourByFour, 4, 4), 2, 1, 0, 2);
  require_close(values(r.values), {7, 8, 4, 9}, 0);
  REQUIRE(r.indices.to_vector<int64_t>() == std::vector<int64_t>{8, 9, 4, 13});
}

TEST_CASE("max_pool2d with ceil_mode keeps the last partial window", "[pool]") {
  Tensor x = arange(0, 25, 1, kFloat64).reshape({1, 1, 5, 5});
  Tensor y = ops::max_pool2d(x, 2, 2, 0, 1, true);
  REQUIRE(y.shape() == Shape{1, 1, 3, 3});
  require_close(values(y), {6, 8, 9, 16, 18, 19, 21, 23, 24}, 0);
  REQUIRE(ops::max_pool2d(x, 2).shape() == Shape{1, 1, 2, 2});
}

TEST_CASE("max_pool2d matches a float64 loop reference", "[pool]") {
  struct Case {
    Shape shape;
    Pair2d k, s, p, d;
    bool ceil_mode;
  };
  const std::vector<Case> cases = {
      {{2, 3, 8, 8}, 2, 0, 0, 1, false},       {{2, 3, 7, 9}, 3, 2, 1, 1, false},
      {{1, 2, 9, 7}, {3, 2}, {2, 1}, {1, 0}, 1, true},
      {{2, 2, 10, 11}, 3, 2, 1, 2, false},     {{1, 3, 6, 6}, {2, 3}, {3, 2}, {1, 1}, {1, 2}, true},
      {{3, 1, 5, 5}, 5, 1, 0, 1, false},
  };
  for (const Case& c : cases) {
    INFO("input " << c.shape.str() << " kernel " << c.k.h << "x" << c.k.w << " stride " << c.s.h
                  << "x" << c.s.w << " padding " << c.p.h << "x" << c.p.w << " dilation " << c.d.h
                  << "x" << c.d.w << " ceil " << c.ceil_mode);
    Tensor x = uniform(c.shape, -2, 2, kFloat64);
    const Pair2d stride = c.s.h == 0 ? c.k : c.s;
    PoolRef want = pool_reference(x, true, c.k, stride, c.p, c.d, c.ceil_mode);
    for (DType dtype : {kFloat64, kFloat32}) {
      auto r = ops::max_pool2d_with_indices(x.to(dtype), c.k, c.s, c.p, c.d, c.ceil_mode);
      REQUIRE(r.values.shape() == want.shape);
      REQUIRE(r.values.dtype() == dtype);
      // float32 picks the same argmax (uniform values are far apart in float32 too)
      require_close(values(r.values), want.values, dtype == kFloat64 ? 0 : 1e-7);
      require_close(values(r.indices), want.indices, 0);
    }
  }
}

TEST_CASE("max_pool2d takes [C, H, W], empty batches and strided views", "[pool]") {
  Tensor x = uniform({3, 6, 6}, -1, 1, kFloat64);
  Tensor y = ops::max_pool2d(x, 2);
  REQUIRE(y.shape() == Shape{3, 3, 3});
  require_close(values(y), values(ops::max_pool2d(x.unsqueeze(0), 2)), 0);
  REQUIRE(ops::max_pool2d(zeros({0, 2, 4, 4}, kFloat64), 2).shape() == Shape{0, 2, 2, 2});
  Tensor base = uniform({2, 3, 7, 5}, -1, 1, kFloat64);  // read as [2, 3, 5, 7]
  require_close(values(ops::max_pool2d(base.transpose(2, 3), 3, 2, 1)),
                values(ops::max_pool2d(base.transpose(2, 3).contiguous(), 3, 2, 1)), 0);
}

TEST_CASE("max_pool2d propagates NaN as PyTorch does", "[pool]") {
  Tensor x = image({1, NAN, 3, 2}, 2, 2);
  auto r = ops::max_pool2d_with_indices(x, 2);
  REQUIRE(std::isnan(values(r.values)[0]));
  REQUIRE(r.indices.to_vector<int64_t>() == std::vector<int64_t>{1});
}

TEST_CASE("max_pool2d sends the gradient to the argmax only", "[pool][grad]") {
  // 3x3 windows, stride 1, padding 1 on the 4x4 image: each output's
  // gradient of 1 lands on its argmax (the index table above)
  Tensor x = image(kFourByFour, 4, 4).requires_grad_();
  ops::sum(ops::max_pool2d(x, 3, 1, 1)).backward();
  // counts of 2, 4, 5, 6, 7, 8, 9, 10, 13 in {4,2,7,7,9,9,9,7,13,13,13,7,13,13,13,10}
  require_close(values(x.grad()), {0, 0, 1, 0, 1, 0, 0, 4, 0, 3, 1, 0, 0, 6, 0, 0}, 0);
}

TEST_CASE("max_pool2d grads match finite differences", "[pool][grad]") {
  SECTION("2x2 windows") {
    Tensor x = distinct_leaf({2, 2, 6, 6});
    REQUIRE_GRADCHECK([&] { return ops::max_pool2d(x, 2); }, (std::vector<Tensor>{x}));
  }
  SECTION("overlapping windows with padding, dilation and ceil_mode") {
    Tensor x = distinct_leaf({1, 2, 7, 8});
    REQUIRE_GRADCHECK([&] { return ops::max_pool2d(x, 3, 2, 1); }, (std::vector<Tensor>{x}));
    REQUIRE_GRADCHECK([&] { return ops::max_pool2d(x, {3, 2}, 1, {1, 0}, {2, 1}, true); },
                      (std::vector<Tensor>{x}));
  }
}

TEST_CASE("max_pool2d second derivatives match finite differences", "[pool][grad][higher-order]") {
  // squared, so that the first derivative depends on x and its derivative
  // runs through max_pool2d_backward's own backward (the gather)
  Tensor x = distinct_leaf({1, 2, 6, 5});
  REQUIRE_GRADGRADCHECK([&] { Tensor y = ops::max_pool2d(x, 3, 2, 1); return y * y; },
                        (std::vector<Tensor>{x}));
  Tensor g = distinct_leaf({1, 2, 3, 3});  // dL/dy as a leaf: grad_x is linear in it
  auto grad_x = [&] {
    Tensor y = ops::max_pool2d(x, 3, 2, 1);
    return autograd::grad({y}, {x}, {g * g}, true)[0];
  };
  REQUIRE_GRADCHECK(grad_x, (std::vector<Tensor>{g}));
}

TEST_CASE("max_pool2d rejects bad inputs and arguments", "[pool][errors]") {
  Tensor x = randn({1, 2, 4, 4}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::max_pool2d(randn({4, 4}), 2),
                      "max_pool2d: input must be [N, C, H, W] or [C, H, W], got [4, 4]");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(randn({1, 1, 1, 4, 4}), 2), "got [1, 1, 1, 4, 4]");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(zeros({1, 0, 4, 4}), 2),
                      "max_pool2d: input [1, 0, 4, 4] has an empty C, H or W dim");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(zeros({1, 2, 4, 0}), 2), "empty C, H or W");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(arange(16).reshape({1, 1, 4, 4}), 2), "max_pool2d");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(x, 0), "max_pool2d: kernel must be positive, got (0, 0)");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(x, 2, -1), "max_pool2d: stride must be positive");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(x, 2, 2, -1), "padding must be non-negative");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(x, 2, 2, 0, 0), "dilation must be positive");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(x, 3, 1, 2),
                      "max_pool2d: padding (2, 2) must be at most half the kernel (3, 3)");
  // the limit is on the kernel before dilation, as in PyTorch
  REQUIRE_THROWS_NOVA(ops::max_pool2d(x, 3, 1, 2, 2), "padding (2, 2) must be at most half the kernel (3, 3)");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(x, 5),
                      "max_pool2d: the kernel (5, 5) does not fit the input [1, 2, 4, 4] padded "
                      "by (0, 0): the output would be 0x0");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(x, {2, 9}, 1, {0, 2}), "does not fit");
  // kernel 2, dilation 3 reads rows -1 and 2 for output row 0: neither is in
  // a 2-row input (PyTorch returns -inf with index 8, outside the plane)
  REQUIRE_THROWS_NOVA(ops::max_pool2d(randn({1, 1, 2, 4}), {2, 1}, 1, {1, 0}, {3, 1}),
                      "max_pool2d: the window of output row 0 lies in the padding only");
  REQUIRE_THROWS_NOVA(ops::max_pool2d(randn({1, 1, 4, 2}), {1, 2}, 1, {0, 1}, {1, 3}),
                      "max_pool2d: the window of output column 0 lies in the padding only");
}

// ---- avg_pool2d ----

TEST_CASE("avg_pool2d of a 4x4 image counts the padding only when asked", "[pool]") {
  Tensor x = arange(0, 16, 1, kFloat64).reshape({1, 1, 4, 4});
  // 3x3 windows, stride 2, padding 1: window (0, 0) holds 0, 1, 4, 5 and five
  // zeros of padding; (0, 1) holds 1, 2, 3, 5, 6, 7; (1, 1) is all inside
  require_close(values(ops::avg_pool2d(x, 3, 2, 1)), {10 / 9.0, 24 / 9.0, 51 / 9.0, 90 / 9.0}, 1e-15);
  require_close(values(ops::avg_pool2d(x, 3, 2, 1, false, false)), {10 / 4.0, 24 / 6.0, 51 / 6.0, 10},
                1e-15);
  require_close(values(ops::avg_pool2d(x, 2)), {2.5, 4.5, 10.5, 12.5}, 0);
}

TEST_CASE("avg_pool2d with ceil_mode divides a window past the padding by its padded part", "[pool]") {
  Tensor x = arange(0, 25, 1, kFloat64).reshape({1, 1, 5, 5});
  // 2x2, stride 2: the last column's windows hold one column (divisor 2), the
  // corner one pixel (divisor 1), as PyTorch
  require_close(values(ops::avg_pool2d(x, 2, 2, 0, true)), {3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24},
                1e-15);
  // 3x3, stride 2, padding 1: windows (2, *) reach into the bottom padding
  require_close(values(ops::avg_pool2d(x, 3, 2, 1, true)),
                {12 / 9.0, 3, 24 / 9.0, 7, 12, 9, 8, 13, 84 / 9.0}, 1e-15);
  require_close(values(ops::avg_pool2d(x, 3, 2, 1, true, false)),
                {3, 4.5, 6, 10.5, 12, 13.5, 18, 19.5, 21}, 1e-15);
}

TEST_CASE("avg_pool2d matches a float64 loop reference", "[pool]") {
  struct Case {
    Shape shape;
    Pair2d k, s, p;
    bool ceil_mode;
  };
  const std::vector<Case> cases = {
      {{2, 3, 8, 8}, 2, 0, 0, false},   {{2, 3, 7, 9}, 3, 2, 1, false},
      {{1, 2, 9, 7}, {3, 2}, {2, 1}, {1, 0}, true},
      {{2, 2, 10, 11}, 4, 3, 2, true},  {{3, 1, 5, 5}, 5, 1, 0, false},
  };
  for (const Case& c : cases)
    for (bool include_pad : {true, false}) {
      INFO("input " << c.shape.str() << " kernel " << c.k.h << "x" << c.k.w << " stride " << c.s.h
                    << "x" << c.s.w << " padding " << c.p.h << "x" << c.p.w << " ceil "
                    << c.ceil_mode << " count_include_pad " << include_pad);
      Tensor x = uniform(c.shape, -2, 2, kFloat64);
      const Pair2d stride = c.s.h == 0 ? c.k : c.s;
      PoolRef want = pool_reference(x, false, c.k, stride, c.p, 1, c.ceil_mode, include_pad);
      for (DType dtype : {kFloat64, kFloat32}) {
        Tensor y = ops::avg_pool2d(x.to(dtype), c.k, c.s, c.p, c.ceil_mode, include_pad);
        REQUIRE(y.shape() == want.shape);
        require_close(values(y), want.values, dtype == kFloat64 ? 1e-14 : 1e-6);
      }
    }
}

TEST_CASE("avg_pool2d grads match finite differences, to second order", "[pool][grad][higher-order]") {
  Tensor x = leaf({2, 2, 7, 6});
  REQUIRE_GRADCHECK([&] { return ops::avg_pool2d(x, 2); }, (std::vector<Tensor>{x}));
  REQUIRE_GRADCHECK([&] { return ops::avg_pool2d(x, 3, 2, 1); }, (std::vector<Tensor>{x}));
  REQUIRE_GRADCHECK([&] { return ops::avg_pool2d(x, {3, 2}, {2, 1}, {1, 1}, true, false); },
                    (std::vector<Tensor>{x}));
  REQUIRE_GRADGRADCHECK([&] { Tensor y = ops::avg_pool2d(x, 3, 2, 1, true, false); return y * y; },
                        (std::vector<Tensor>{x}));
}

TEST_CASE("avg_pool2d rejects bad inputs and arguments", "[pool][errors]") {
  Tensor x = randn({1, 2, 4, 4}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::avg_pool2d(randn({16}), 2), "avg_pool2d: input must be [N, C, H, W]");
  REQUIRE_THROWS_NOVA(ops::avg_pool2d(zeros({2, 0, 4}), 2), "avg_pool2d: input [2, 0, 4] has an empty");
  REQUIRE_THROWS_NOVA(ops::avg_pool2d(x, 3, 1, 2), "avg_pool2d: padding (2, 2) must be at most half");
  REQUIRE_THROWS_NOVA(ops::avg_pool2d(x, {2, 5}), "avg_pool2d: the kernel (2, 5) does not fit");
  REQUIRE_THROWS_NOVA(ops::avg_pool2d(x, 2, {1, 0}), "avg_pool2d: stride must be positive");
}

// ---- global pooling ----

TEST_CASE("global_avg_pool2d and global_sum_pool2d reduce each plane to [N, C]", "[pool]") {
  Tensor x = uniform({2, 3, 5, 4}, -1, 1, kFloat64);
  Tensor avg = ops::global_avg_pool2d(x), sum = ops::global_sum_pool2d(x);
  REQUIRE(avg.shape() == Shape{2, 3});
  REQUIRE(sum.shape() == Shape{2, 3});
  auto xv = values(x);
  std::vector<double> want(6, 0.0);
  for (int64_t nc = 0; nc < 6; ++nc)
    for (int64_t i = 0; i < 20; ++i) want[nc] += xv[nc * 20 + i];
  require_close(values(sum), want, 1e-14);
  for (double& v : want) v /= 20;
  require_close(values(avg), want, 1e-14);
  // the same as avg_pool2d with the whole image as the window
  require_close(values(avg), values(ops::avg_pool2d(x, {5, 4})), 1e-15);
  REQUIRE(ops::global_avg_pool2d(x.to(kFloat32)).dtype() == kFloat32);
}

TEST_CASE("global poolings are differentiable to second order and reject non-images", "[pool][grad][errors]") {
  Tensor x = leaf({2, 2, 3, 4});
  REQUIRE_GRADCHECK([&] { return ops::global_avg_pool2d(x); }, (std::vector<Tensor>{x}));
  REQUIRE_GRADGRADCHECK([&] { Tensor y = ops::global_sum_pool2d(x); return y * y; },
                        (std::vector<Tensor>{x}));
  REQUIRE_THROWS_NOVA(ops::global_avg_pool2d(randn({3, 4, 4})),
                      "global_avg_pool2d: input must be 4-D [N, C, H, W], got [3, 4, 4]");
  REQUIRE_THROWS_NOVA(ops::global_sum_pool2d(zeros({1, 2, 0, 3})), "global_sum_pool2d: input [1, 2, 0, 3]");
}

// ---- upsample_nearest2d ----

TEST_CASE("upsample_nearest2d by 2 repeats every pixel in a 2x2 block", "[pool]") {
  Tensor y = ops::upsample_nearest2d(image({1, 2, 3, 4}, 2, 2), UpsampleTo::scale(2));
  REQUIRE(y.shape() == Shape{1, 1, 4, 4});
  require_close(values(y), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 0);
}

TEST_CASE("upsample_nearest2d to a size picks floor(o * in / out)", "[pool]") {
  Tensor x = arange(0, 16, 1, kFloat64).reshape({1, 1, 4, 4});
  // rows: floor(o * 4/3) = 0, 1, 2; columns: floor(o * 4/5) = 0, 0, 1, 2, 3
  require_close(values(ops::upsample_nearest2d(x, UpsampleTo::size(3, 5))),
                {0, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10, 11}, 0);
  // scale 1.5: size 6 and source floor(o / 1.5) = 0, 0, 1, 2, 2, 3
  Tensor y = ops::upsample_nearest2d(x, UpsampleTo::scale(1.5));
  REQUIRE(y.shape() == Shape{1, 1, 6, 6});
  require_close(values(y.select(2, 1).flatten()), {0, 0, 1, 2, 2, 3}, 0);
  require_close(values(y.select(3, 5).flatten()), {3, 3, 7, 11, 11, 15}, 0);
}

TEST_CASE("upsample_nearest2d matches a float64 loop reference", "[pool]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 4, 5}, {8, 10}}, {{1, 2, 3, 3}, {9, 6}}, {{2, 1, 6, 8}, {3, 4}}, {{1, 1, 5, 7}, {5, 7}},
      {{1, 2, 4, 6}, {12, 9}}};
  for (const auto& [in, out] : cases) {
    INFO("input " << in.str() << " to " << out.str());
    Tensor x = uniform(in, -1, 1, kFloat64);
    auto want = nearest_reference(x, out[0], out[1]);
    for (DType dtype : {kFloat64, kFloat32}) {
      Tensor y = ops::upsample_nearest2d(x.to(dtype), UpsampleTo::size(out[0], out[1]));
      REQUIRE(y.shape() == Shape{in[0], in[1], out[0], out[1]});
      require_close(values(y), want, dtype == kFloat64 ? 0 : 1e-7);
    }
  }
}

TEST_CASE("upsample_nearest2d grads match finite differences, to second order", "[pool][grad][higher-order]") {
  Tensor x = leaf({2, 2, 3, 4});
  REQUIRE_GRADCHECK([&] { return ops::upsample_nearest2d(x, UpsampleTo::scale(2)); },
                    (std::vector<Tensor>{x}));
  REQUIRE_GRADCHECK([&] { return ops::upsample_nearest2d(x, UpsampleTo::size(5, 3)); },
                    (std::vector<Tensor>{x}));
  REQUIRE_GRADCHECK([&] { return ops::upsample_nearest2d(x, UpsampleTo::scale(1.5, 2.5)); },
                    (std::vector<Tensor>{x}));
  REQUIRE_GRADGRADCHECK(
      [&] { Tensor y = ops::upsample_nearest2d(x, UpsampleTo::size(7, 2)); return y * y; },
      (std::vector<Tensor>{x}));
}

TEST_CASE("upsample_nearest2d's gradient sums the copies of each pixel", "[pool][grad]") {
  Tensor x = leaf({1, 1, 2, 3});
  ops::sum(ops::upsample_nearest2d(x, UpsampleTo::scale(3, 2))).backward();
  require_close(values(x.grad()), std::vector<double>(6, 6.0), 0);
}

// ---- upsample_bilinear2d ----

TEST_CASE("upsample_bilinear2d of a 2x2 image matches PyTorch, with and without align_corners", "[pool]") {
  Tensor x = image({1, 2, 3, 4}, 2, 2);
  // source rows -0.25 (clamped to 0), 0.25, 0.75, 1.25 (the last row alone)
  require_close(values(ops::upsample_bilinear2d(x, UpsampleTo::scale(2))),
                {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4},
                1e-15);
  // align_corners: source rows 0, 1/3, 2/3, 1
  const double t = 1 / 3.0;
  require_close(values(ops::upsample_bilinear2d(x, UpsampleTo::size(4, 4), true)),
                {1, 1 + t, 1 + 2 * t, 2, 1 + 2 * t, 2, 2 + t, 2 + 2 * t, 2 + t, 2 + 2 * t, 3, 3 + t,
                 3, 3 + t, 3 + 2 * t, 4},
                1e-15);
}

TEST_CASE("upsample_bilinear2d downsampling a 4x4 image to 3x5 matches PyTorch", "[pool]") {
  Tensor x = arange(0, 16, 1, kFloat64).reshape({1, 1, 4, 4});
  require_close(values(ops::upsample_bilinear2d(x, UpsampleTo::size(3, 5))),
                {2 / 3.0, 1.3666666666666667, 2.1666666666666667, 2.9666666666666667, 3 + 2 / 3.0,
                 6, 6.7, 7.5, 8.3, 9,
                 11 + 1 / 3.0, 12.033333333333333, 12.833333333333333, 13.633333333333333, 14 + 1 / 3.0},
                1e-14);
}

TEST_CASE("upsample_bilinear2d matches a float64 loop reference", "[pool]") {
  struct Case {
    Shape in;
    UpsampleTo to;
    bool align_corners;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4, 5}, UpsampleTo::size(8, 10), false}, {{2, 3, 4, 5}, UpsampleTo::size(8, 10), true},
      {{1, 2, 6, 7}, UpsampleTo::size(4, 3), false},  {{1, 2, 6, 7}, UpsampleTo::size(4, 3), true},
      {{1, 1, 5, 3}, UpsampleTo::scale(1.5), false},   {{1, 2, 3, 4}, UpsampleTo::size(1, 1), true},
      {{1, 1, 4, 4}, UpsampleTo::size(4, 9), false},  {{2, 1, 1, 3}, UpsampleTo::scale(3), false},
  };
  for (const Case& c : cases) {
    Tensor x = uniform(c.in, -1, 1, kFloat64);
    const int64_t OH = c.to.size_h ? c.to.size_h : int64_t(std::floor(c.in[2] * c.to.scale_h));
    const int64_t OW = c.to.size_w ? c.to.size_w : int64_t(std::floor(c.in[3] * c.to.scale_w));
    INFO("input " << c.in.str() << " to " << OH << "x" << OW << " align_corners " << c.align_corners);
    auto want = bilinear_reference(x, OH, OW, c.align_corners, c.to.scale_h);
    for (DType dtype : {kFloat64, kFloat32}) {
      Tensor y = ops::upsample_bilinear2d(x.to(dtype), c.to, c.align_corners);
      REQUIRE(y.shape() == Shape{c.in[0], c.in[1], OH, OW});
      require_close(values(y), want, dtype == kFloat64 ? 1e-14 : 1e-6);
    }
  }
}

TEST_CASE("upsample_bilinear2d grads match finite differences, to second order", "[pool][grad][higher-order]") {
  Tensor x = leaf({2, 2, 3, 4});
  for (bool align_corners : {false, true}) {
    INFO("align_corners " << align_corners);
    REQUIRE_GRADCHECK([&] { return ops::upsample_bilinear2d(x, UpsampleTo::scale(2), align_corners); },
                      (std::vector<Tensor>{x}));
    REQUIRE_GRADCHECK([&] { return ops::upsample_bilinear2d(x, UpsampleTo::size(2, 7), align_corners); },
                      (std::vector<Tensor>{x}));
    REQUIRE_GRADGRADCHECK(
        [&] {
          Tensor y = ops::upsample_bilinear2d(x, UpsampleTo::size(5, 6), align_corners);
          return y * y;
        },
        (std::vector<Tensor>{x}));
  }
}

TEST_CASE("upsample_bilinear2d's gradient conserves the total weight of each output", "[pool][grad]") {
  // every output blends with weights summing to 1: the input gradient of
  // sum(y) adds up to the number of outputs
  Tensor x = leaf({1, 2, 3, 5});
  ops::sum(ops::upsample_bilinear2d(x, UpsampleTo::size(7, 4))).backward();
  REQUIRE(ops::sum(x.grad()).item() == Approx(2 * 7 * 4).epsilon(1e-14));
}

TEST_CASE("upsampling rejects bad inputs and sizes", "[pool][errors]") {
  Tensor x = randn({1, 2, 3, 3}, kFloat64);
  for (const char* op : {"upsample_nearest2d", "upsample_bilinear2d"}) {
    INFO(op);
    auto up = [&](const Tensor& t, const UpsampleTo& to) {
      return std::string(op) == "upsample_nearest2d" ? ops::upsample_nearest2d(t, to)
                                                     : ops::upsample_bilinear2d(t, to);
    };
    REQUIRE_THROWS_NOVA(up(randn({2, 3, 3}), UpsampleTo::scale(2)),
                        std::string(op) + ": input must be 4-D [N, C, H, W], got [2, 3, 3]");
    REQUIRE_THROWS_NOVA(up(zeros({1, 2, 0, 3}), UpsampleTo::scale(2)), "has an empty C, H or W dim");
    REQUIRE_THROWS_NOVA(up(x, UpsampleTo::size(0, 4)),
                        std::string(op) + ": output size must be positive, got 0x4");
    REQUIRE_THROWS_NOVA(up(x, UpsampleTo::scale(0.2)), "got 0x0 for input [1, 2, 3, 3] (floor of size * scale)");
    REQUIRE_THROWS_NOVA(up(x, UpsampleTo::scale(-2)), "scale factors must be finite and positive");
    REQUIRE_THROWS_NOVA(up(x, UpsampleTo::scale(INFINITY)), "finite and positive");
    REQUIRE_THROWS_NOVA(up(x, UpsampleTo{2, 2, 2.0, 2.0}), "not both");
    REQUIRE_THROWS_NOVA(up(arange(9).reshape({1, 1, 3, 3}), UpsampleTo::scale(2)), op);
  }
}

// ---- every op ----

TEST_CASE("pool ops take an empty batch through forward, backward and double backward", "[pool][grad]") {
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops_list = {
      {"max_pool2d", [](const Tensor& t) { return ops::max_pool2d(t, 3, 2, 1); }},
      {"avg_pool2d", [](const Tensor& t) { return ops::avg_pool2d(t, 3, 2, 1); }},
      {"global_avg_pool2d", [](const Tensor& t) { return ops::global_avg_pool2d(t); }},
      {"upsample_nearest2d", [](const Tensor& t) { return ops::upsample_nearest2d(t, UpsampleTo::scale(2)); }},
      {"upsample_bilinear2d", [](const Tensor& t) { return ops::upsample_bilinear2d(t, UpsampleTo::size(3, 7)); }},
  };
  for (const auto& [name, f] : ops_list) {
    INFO(name);
    Tensor x = zeros({0, 2, 5, 6}, kFloat64).requires_grad_();
    Tensor y = f(x);
    REQUIRE(y.numel() == 0);
    Tensor gx = autograd::grad({y * y}, {x}, {zeros_like(y)}, true)[0];
    REQUIRE(gx.shape() == x.shape());
    Tensor ggx = autograd::grad({ops::sum(gx)}, {x}, {}, false, true)[0];
    REQUIRE((!ggx.defined() || ggx.shape() == x.shape()));
  }
}

TEST_CASE("pool ops on one image [C, H, W] have the gradients of the batched op", "[pool][grad]") {
  Tensor x = distinct_leaf({2, 5, 6});
  REQUIRE_GRADCHECK([&] { return ops::max_pool2d(x, 2, 1); }, (std::vector<Tensor>{x}));
  REQUIRE_GRADCHECK([&] { return ops::avg_pool2d(x, 3, 2, 1, true); }, (std::vector<Tensor>{x}));
}

TEST_CASE("grad_split's fused path splits through every pool op (they are row-local)", "[pool][grad_split]") {
  using autograd::GradSplitMode;
  using autograd::GradSplitOptions;
  Tensor w1 = leaf({48, 3}), w2 = leaf({1, 3}), b2 = leaf({1});
  Tensor x = uniform({7, 3}, -1, 1, kFloat64);
  auto model = [&](const Tensor& input) {
    Tensor h = ops::tanh(ops::linear(input, w1)).reshape({input.size(0), 3, 4, 4});
    h = ops::upsample_nearest2d(h, UpsampleTo::scale(2));        // [N, 3, 8, 8]
    h = ops::avg_pool2d(h, 3, 1, 1);                              // [N, 3, 8, 8]
    h = ops::max_pool2d(h, 2);                                    // [N, 3, 4, 4]
    h = ops::upsample_bilinear2d(h, UpsampleTo::size(5, 3));      // [N, 3, 5, 3]
    return ops::linear(ops::global_sum_pool2d(h), w2, b2);        // [N, 1]
  };
  Tensor out = model(x);
  const std::vector<int64_t> groups{3, 4};
  std::vector<Tensor> losses{ops::sum(out.narrow(0, 0, 3)), ops::sum(out.narrow(0, 3, 4) * out.narrow(0, 3, 4))};
  const std::vector<Tensor> params{w1, w2, b2};
  auto reference = autograd::grad_split(losses, params);
  auto fused = autograd::grad_split(losses, params, GradSplitOptions{GradSplitMode::fused, out, groups});
  REQUIRE(fused.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    INFO("loss " << k);
    require_close(values(fused[k]), values(reference[k]), 1e-13);
  }
}
