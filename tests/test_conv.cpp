// tests/test_conv.cpp: conv2d, conv_transpose2d and conv2d_backward_filter
// (core/conv.h) on the CPU:
//   - conv2d forward against a plain 7-loop float64 reference over a sweep of
//     stride 1/2, padding 0/1/2, dilation 1/2, groups 1/2/4 and depthwise,
//     kernels 1x1/3x3/4x4 and non-square, batch 1 and 3, with and without
//     bias, in float64 (1e-12) and float32 (1e-5); strided inputs; a batch
//     large enough for the threaded path;
//   - conv_transpose2d against its scatter definition, the adjoint identity
//     <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>, and its output size
//     (output_padding included);
//   - float64 gradcheck of every input of the three ops and gradgradcheck
//     (second derivatives, as a gradient penalty on a conv critic needs);
//   - grad_split's fused path on a small conv critic equals the reference;
//   - bad inputs throw nova::Error naming the op, what was expected and what came.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/grad_split.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// One conv2d configuration of the sweep.
struct ConvCase {
  int64_t N, C, H, W, K, R, S;
  Conv2dArgs args;
  bool bias;

  std::string str() const {
    std::ostringstream o;
    o << "x [" << N << ", " << C << ", " << H << ", " << W << "], w [" << K << ", "
      << C / args.group_count << ", " << R << ", " << S << "], stride (" << args.stride_hw.h << ", "
      << args.stride_hw.w << "), padding (" << args.padding_hw.h << ", " << args.padding_hw.w
      << "), dilation (" << args.dilation_hw.h << ", " << args.dilation_hw.w << "), groups "
      << args.group_count << (bias ? ", bias" : "");
    return o.str();
  }
};

/// conv2d by its definition, 7 loops in float64: x [N, C, H, W], w [K, C/g, R, S]
/// -> [N, K, P, Q] (row-major values), shape in *out_shape.
std::vector<double> conv2d_reference(const std::vector<double>& x, const Shape& xs, const std::vector<double>& w,
                                     const Shape& ws, const std::vector<double>& b, const Conv2dArgs& a,
                                     Shape* out_shape) {
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], K = ws[0], R = ws[2], S = ws[3];
  const int64_t G = a.group_count, Cg = C / G, Kg = K / G;
  const int64_t sh = a.stride_hw.h, sw = a.stride_hw.w, ph = a.padding_hw.h, pw = a.padding_hw.w;
  const int64_t dh = a.dilation_hw.h, dw = a.dilation_hw.w;
  const int64_t P = (H + 2 * ph - dh * (R - 1) - 1) / sh + 1, Q = (W + 2 * pw - dw * (S - 1) - 1) / sw + 1;
  *out_shape = {N, K, P, Q};
  std::vector<double> y(size_t(N * K * P * Q));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          double acc = b.empty() ? 0.0 : b[k];
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                const int64_t ih = p * sh - ph + r * dh, iw = q * sw - pw + s * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const int64_t ci = (k / Kg) * Cg + c;
                acc += x[((n * C + ci) * H + ih) * W + iw] * w[((k * Cg + c) * R + r) * S + s];
              }
          y[((n * K + k) * P + p) * Q + q] = acc;
        }
  return y;
}

/// conv_transpose2d by its definition: every input element scatters its
/// products with w [C_in, C_out/g, R, S] into the output.
std::vector<double> conv_transpose2d_reference(const std::vector<double>& x, const Shape& xs,
                                               const std::vector<double>& w, const Shape& ws,
                                               const std::vector<double>& b, const ConvTranspose2dArgs& a,
                                               Shape* out_shape) {
  const int64_t N = xs[0], Cin = xs[1], H = xs[2], W = xs[3], R = ws[2], S = ws[3];
  const int64_t G = a.group_count, Cog = ws[1], Co = Cog * G, Cig = Cin / G;
  const int64_t sh = a.stride_hw.h, sw = a.stride_hw.w, ph = a.padding_hw.h, pw = a.padding_hw.w;
  const int64_t dh = a.dilation_hw.h, dw = a.dilation_hw.w;
  const int64_t Ho = (H - 1) * sh - 2 * ph + dh * (R - 1) + a.output_padding_hw.h + 1;
  const int64_t Wo = (W - 1) * sw - 2 * pw + dw * (S - 1) + a.output_padding_hw.w + 1;
  *out_shape = {N, Co, Ho, Wo};
  std::vector<double> y(size_t(N * Co * Ho * Wo), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t co = 0; co < Co; ++co)
      for (int64_t i = 0; i < Ho * Wo; ++i) y[size_t((n * Co + co) * Ho * Wo + i)] = b.empty() ? 0.0 : b[co];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ci = 0; ci < Cin; ++ci)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw)
          for (int64_t c = 0; c < Cog; ++c)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                const int64_t oh = ih * sh - ph + r * dh, ow = iw * sw - pw + s * dw;
                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                const int64_t co = (ci / Cig) * Cog + c;
                y[size_t(((n * Co + co) * Ho + oh) * Wo + ow)] +=
                    x[size_t(((n * Cin + ci) * H + ih) * W + iw)] * w[size_t(((ci * Cog + c) * R + r) * S + s)];
              }
  return y;
}

/// REQUIREs |got - want| <= tol * max(1, |want|) elementwise; reports the worst.
void require_close(const Tensor& got, const std::vector<double>& want, double tol) {
  std::vector<double> g = values(got);
  REQUIRE(g.size() == want.size());
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::abs(g[i] - want[i]) / std::max(1.0, std::abs(want[i]));
    if (!(err <= worst)) {
      worst = err;
      worst_i = i;
    }
  }
  INFO("worst element " << worst_i << ": got " << (g.empty() ? 0 : g[worst_i]) << ", want "
                        << (want.empty() ? 0 : want[worst_i]) << " (relative error " << worst << ", bound "
                        << tol << ")");
  REQUIRE(worst <= tol);
}

/// The sweep of the forward test.
std::vector<ConvCase> forward_cases() {
  std::vector<ConvCase> cases;
  for (int64_t N : {1, 3})
    for (bool bias : {false, true}) {
      cases.push_back({N, 3, 7, 7, 4, 3, 3, Conv2dArgs(), bias});
      cases.push_back({N, 3, 8, 8, 4, 3, 3, Conv2dArgs().stride(2).padding(1), bias});
      cases.push_back({N, 4, 9, 8, 6, 3, 3, Conv2dArgs().padding(2).dilation(2), bias});
      cases.push_back({N, 4, 8, 8, 4, 4, 4, Conv2dArgs().stride(2).padding(1).groups(2), bias});  // DCGAN
      cases.push_back({N, 8, 6, 6, 8, 3, 3, Conv2dArgs().padding(1).groups(4), bias});
      cases.push_back({N, 4, 7, 7, 4, 3, 3, Conv2dArgs().padding(1).groups(4), bias});  // depthwise
      cases.push_back({N, 4, 6, 6, 8, 3, 3, Conv2dArgs().stride(2).groups(4), bias});   // depthwise x2
      cases.push_back({N, 5, 6, 7, 3, 1, 1, Conv2dArgs(), bias});                        // pointwise
      cases.push_back({N, 4, 6, 7, 6, 1, 1, Conv2dArgs().stride(2).groups(2), bias});
      cases.push_back({N, 3, 6, 5, 2, 1, 1, Conv2dArgs().padding(1), bias});
      cases.push_back({N, 2, 9, 7, 3, 2, 3, Conv2dArgs().stride(2, 1).padding(0, 1).dilation(1, 2), bias});
      cases.push_back({N, 2, 5, 11, 3, 3, 5, Conv2dArgs().stride(1, 2).padding(2, 0).dilation(2, 1), bias});
      cases.push_back({N, 3, 4, 4, 2, 4, 4, Conv2dArgs(), bias});  // kernel as large as the input
      // three column phases in the CPU kernels' padded copy, odd width
      cases.push_back({N, 2, 10, 11, 3, 3, 3, Conv2dArgs().stride(3).padding(1), bias});
      // output rows of 32 and 16: the CPU's fixed-length tap rows
      cases.push_back({1, 2, 32, 32, 2, 3, 3, Conv2dArgs().padding(1), bias});
      cases.push_back({1, 2, 32, 32, 2, 4, 4, Conv2dArgs().stride(2).padding(1), bias});
    }
  return cases;
}

}  // namespace

// ---- forward ----

TEST_CASE("conv2d matches the 7-loop float64 reference over the settings sweep", "[conv]") {
  for (const ConvCase& cc : forward_cases()) {
    INFO(cc.str());
    const Shape xs{cc.N, cc.C, cc.H, cc.W}, ws{cc.K, cc.C / cc.args.group_count, cc.R, cc.S};
    Tensor x = uniform(xs, -1, 1, kFloat64), w = uniform(ws, -1, 1, kFloat64);
    Tensor b = cc.bias ? uniform({cc.K}, -1, 1, kFloat64) : Tensor();
    Shape out_shape;
    std::vector<double> want = conv2d_reference(values(x), xs, values(w), ws, cc.bias ? values(b) : std::vector<double>{},
                                                cc.args, &out_shape);
    for (DType dtype : {kFloat64, kFloat32}) {
      INFO(dtype_name(dtype));
      Tensor y = ops::conv2d(x.to(dtype), w.to(dtype), cc.bias ? b.to(dtype) : Tensor(), cc.args);
      REQUIRE(y.shape() == out_shape);
      REQUIRE(y.dtype() == dtype);
      require_close(y, want, dtype == kFloat64 ? 1e-12 : 1e-5);
    }
  }
}

TEST_CASE("conv2d reads strided inputs and weights as their values", "[conv]") {
  Tensor xt = uniform({2, 9, 3, 8}, -1, 1, kFloat64);  // read as [2, 3, 9, 8]
  Tensor x = xt.transpose(1, 2);
  Tensor wt = uniform({4, 3, 3, 3}, -1, 1, kFloat64);
  Tensor w = wt.transpose(2, 3);
  Tensor b = uniform({8}, -1, 1, kFloat64).slice(0, 0, 8, 2);
  const Conv2dArgs args = Conv2dArgs().stride(2).padding(1);
  Shape out_shape;
  auto want = conv2d_reference(values(x), x.shape(), values(w), w.shape(), values(b), args, &out_shape);
  Tensor y = ops::conv2d(x, w, b, args);
  REQUIRE(y.shape() == out_shape);
  require_close(y, want, 1e-12);
}

TEST_CASE("conv2d on a batch large enough for the threaded path matches the reference", "[conv]") {
  // 8 * 16 * (8 * 9) * 256 multiply-adds, above the kernel's threading threshold
  const Shape xs{8, 16, 16, 16}, ws{16, 8, 3, 3};
  const Conv2dArgs args = Conv2dArgs().padding(1).groups(2);
  Tensor x = uniform(xs, -1, 1, kFloat64), w = uniform(ws, -1, 1, kFloat64), b = uniform({16}, -1, 1, kFloat64);
  Shape out_shape;
  auto want = conv2d_reference(values(x), xs, values(w), ws, values(b), args, &out_shape);
  require_close(ops::conv2d(x, w, b, args), want, 1e-12);
  // the backward kernels on the same sizes: adjoint identities against the forward
  Tensor gy = uniform(out_shape, -1, 1, kFloat64);
  Tensor gx = ops::conv_transpose2d(gy, w, ConvTranspose2dArgs().padding(1).groups(2));
  Tensor gw = ops::conv2d_backward_filter(x, gy, ws, args);
  const double lhs = ops::sum(ops::conv2d(x, w, args) * gy).item();
  REQUIRE(ops::sum(x * gx).item() == Approx(lhs).epsilon(1e-12));
  REQUIRE(ops::sum(w * gw).item() == Approx(lhs).epsilon(1e-12));
}

TEST_CASE("conv2d with the STYLE example's settings gives PyTorch's output size", "[conv]") {
  Tensor x = randn({2, 3, 7, 7}, kFloat64), w = randn({4, 3, 3, 3}, kFloat64);
  REQUIRE(ops::conv2d(x, w, Conv2dArgs().stride(2)).shape() == Shape{2, 4, 3, 3});
  REQUIRE(ops::conv2d(x, w, Conv2dArgs().stride(2).padding(1)).shape() == Shape{2, 4, 4, 4});
  REQUIRE(ops::conv2d(x, w, Conv2dArgs().dilation(3)).shape() == Shape{2, 4, 1, 1});
  REQUIRE(ops::conv2d_output_size(7, 3, 2, 0, 1) == 3);
  REQUIRE(ops::conv2d_output_size(2, 3, 1, 0, 1) == 0);
  REQUIRE(ops::conv2d_output_size(1, 5, 2, 0, 1) <= 0);
}

TEST_CASE("conv2d on an empty batch gives an empty output and zero weight gradients", "[conv]") {
  Tensor x = zeros({0, 3, 5, 5}, kFloat64).requires_grad_(), w = leaf({4, 3, 3, 3}), b = leaf({4});
  Tensor y = ops::conv2d(x, w, b);
  REQUIRE(y.shape() == Shape{0, 4, 3, 3});
  ops::sum(y).backward();
  REQUIRE(x.grad().shape() == x.shape());
  REQUIRE(ops::sum(ops::abs(w.grad())).item() == 0.0);
  REQUIRE(ops::sum(ops::abs(b.grad())).item() == 0.0);
}

// ---- conv_transpose2d ----

TEST_CASE("conv_transpose2d matches its scatter definition", "[conv]") {
  struct TCase {
    Shape xs, ws;
    ConvTranspose2dArgs args;
  };
  std::vector<TCase> cases = {
      {{2, 3, 4, 4}, {3, 2, 3, 3}, ConvTranspose2dArgs()},
      {{2, 4, 4, 4}, {4, 3, 4, 4}, ConvTranspose2dArgs().stride(2).padding(1)},  // DCGAN G's upsampling
      {{1, 4, 3, 5}, {4, 2, 3, 3}, ConvTranspose2dArgs().stride(2).padding(1).output_padding(1).groups(2)},
      {{3, 2, 4, 3}, {2, 3, 3, 2}, ConvTranspose2dArgs().stride(3, 2).output_padding(2, 1)},
      {{1, 2, 4, 4}, {2, 2, 3, 3}, ConvTranspose2dArgs().dilation(2).padding(1).output_padding(1)},
      {{2, 4, 3, 3}, {4, 1, 3, 3}, ConvTranspose2dArgs().stride(2).groups(4)},  // depthwise
      {{2, 3, 5, 5}, {3, 4, 1, 1}, ConvTranspose2dArgs()},
  };
  for (const TCase& tc : cases) {
    for (bool with_bias : {false, true}) {
      INFO("x " << tc.xs.str() << ", w " << tc.ws.str() << ", bias " << with_bias);
      Tensor x = uniform(tc.xs, -1, 1, kFloat64), w = uniform(tc.ws, -1, 1, kFloat64);
      const int64_t c_out = tc.ws[1] * tc.args.group_count;
      Tensor b = with_bias ? uniform({c_out}, -1, 1, kFloat64) : Tensor();
      Shape out_shape;
      auto want = conv_transpose2d_reference(values(x), tc.xs, values(w), tc.ws,
                                             with_bias ? values(b) : std::vector<double>{}, tc.args, &out_shape);
      for (DType dtype : {kFloat64, kFloat32}) {
        Tensor y = ops::conv_transpose2d(x.to(dtype), w.to(dtype), with_bias ? b.to(dtype) : Tensor(), tc.args);
        REQUIRE(y.shape() == out_shape);
        require_close(y, want, dtype == kFloat64 ? 1e-12 : 1e-5);
      }
    }
  }
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <conv2d(x, w), y> == <x, conv_transpose2d(y, w)>",
          "[conv]") {
  for (const ConvCase& cc : forward_cases()) {
    if (cc.bias) continue;
    INFO(cc.str());
    const Conv2dArgs& a = cc.args;
    Tensor x = uniform({cc.N, cc.C, cc.H, cc.W}, -1, 1, kFloat64);
    Tensor w = uniform({cc.K, cc.C / a.group_count, cc.R, cc.S}, -1, 1, kFloat64);
    Tensor y = ops::conv2d(x, w, a);
    Tensor v = uniform(y.shape(), -1, 1, kFloat64);
    // output_padding makes the transposed output x's size again when the stride drops rows
    const int64_t op_h = (cc.H + 2 * a.padding_hw.h - a.dilation_hw.h * (cc.R - 1) - 1) % a.stride_hw.h;
    const int64_t op_w = (cc.W + 2 * a.padding_hw.w - a.dilation_hw.w * (cc.S - 1) - 1) % a.stride_hw.w;
    ConvTranspose2dArgs t = ConvTranspose2dArgs()
                                .stride(a.stride_hw.h, a.stride_hw.w)
                                .padding(a.padding_hw.h, a.padding_hw.w)
                                .dilation(a.dilation_hw.h, a.dilation_hw.w)
                                .output_padding(op_h, op_w)
                                .groups(a.group_count);
    Tensor xt = ops::conv_transpose2d(v, w, t);
    REQUIRE(xt.shape() == x.shape());
    REQUIRE(ops::sum(y * v).item() == Approx(ops::sum(x * xt).item()).epsilon(1e-12));
  }
}

TEST_CASE("conv_transpose2d output size follows the formula, output_padding included", "[conv]") {
  Tensor x = randn({2, 4, 5, 6}, kFloat64);
  Tensor w = randn({4, 3, 3, 3}, kFloat64);
  auto shape = [&](const ConvTranspose2dArgs& a) { return ops::conv_transpose2d(x, w, a).shape(); };
  // (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
  REQUIRE(shape(ConvTranspose2dArgs()) == Shape{2, 3, 7, 8});
  REQUIRE(shape(ConvTranspose2dArgs().stride(2)) == Shape{2, 3, 11, 13});
  REQUIRE(shape(ConvTranspose2dArgs().stride(2).padding(1)) == Shape{2, 3, 9, 11});
  REQUIRE(shape(ConvTranspose2dArgs().stride(2).padding(1).output_padding(1)) == Shape{2, 3, 10, 12});
  REQUIRE(shape(ConvTranspose2dArgs().stride(3, 2).output_padding(2, 1)) == Shape{2, 3, 17, 14});
  // output_padding may reach dilation - 1 when that exceeds the stride
  REQUIRE(shape(ConvTranspose2dArgs().dilation(3).output_padding(2)) == Shape{2, 3, 13, 14});
  REQUIRE(shape(ConvTranspose2dArgs().groups(2).stride(2)) == Shape{2, 6, 11, 13});
  REQUIRE(ops::conv_transpose2d_output_size(4, 4, 2, 1, 0, 1) == 8);  // DCGAN G doubles the size
  REQUIRE(ops::conv_transpose2d(x, w, uniform({3}, -1, 1, kFloat64)).shape() == Shape{2, 3, 7, 8});
}

TEST_CASE("conv_transpose2d with output_padding beyond the stride (dilation) matches the definition",
          "[conv]") {
  const ConvTranspose2dArgs args = ConvTranspose2dArgs().dilation(3).output_padding(2).padding(1);
  Tensor x = uniform({2, 2, 3, 4}, -1, 1, kFloat64), w = uniform({2, 3, 2, 3}, -1, 1, kFloat64);
  Shape out_shape;
  auto want = conv_transpose2d_reference(values(x), x.shape(), values(w), w.shape(), {}, args, &out_shape);
  require_close(ops::conv_transpose2d(x, w, args), want, 1e-12);
  // and its gradients, which use a conv2d geometry whose output is cut short
  Tensor xl = leaf({2, 2, 3, 4}), wl = leaf({2, 3, 2, 3});
  REQUIRE_GRADCHECK([&] { return ops::conv_transpose2d(xl, wl, args); }, (std::vector<Tensor>{xl, wl}));
}

// ---- gradients ----

TEST_CASE("conv2d grads match finite differences", "[conv][grad]") {
  std::vector<std::pair<Shape, Conv2dArgs>> settings = {
      {{2, 3, 5, 5}, Conv2dArgs()},
      {{2, 3, 7, 6}, Conv2dArgs().stride(2).padding(1)},
      {{1, 4, 7, 7}, Conv2dArgs().padding(2).dilation(2).groups(2)},
      {{2, 4, 6, 5}, Conv2dArgs().stride(2, 1).padding(1, 0).groups(4)},
      {{2, 4, 4, 5}, Conv2dArgs().groups(2)},
  };
  for (const auto& [xs, args] : settings) {
    const int64_t K = 4, R = xs[2] == 4 ? 1 : 3;  // one 1x1 case (pointwise path)
    INFO("x " << xs.str() << ", groups " << args.group_count << ", kernel " << R);
    Tensor x = leaf(xs), w = leaf({K, xs[1] / args.group_count, R, R}), b = leaf({K});
    REQUIRE_GRADCHECK([&] { return ops::conv2d(x, w, b, args); }, (std::vector<Tensor>{x, w, b}));
  }
}

TEST_CASE("conv_transpose2d grads match finite differences", "[conv][grad]") {
  Tensor x = leaf({2, 4, 3, 3}), w = leaf({4, 3, 4, 4}), b = leaf({6});
  const ConvTranspose2dArgs args = ConvTranspose2dArgs().stride(2).padding(1).output_padding(1).groups(2);
  REQUIRE_GRADCHECK([&] { return ops::conv_transpose2d(x, w, b, args); }, (std::vector<Tensor>{x, w, b}));
}

TEST_CASE("conv2d_backward_filter equals conv2d's weight gradient and passes gradcheck", "[conv][grad]") {
  const Conv2dArgs args = Conv2dArgs().stride(2).padding(1).groups(2);
  Tensor x = leaf({2, 4, 6, 6}), w = leaf({6, 2, 3, 3});
  Tensor y = ops::conv2d(x, w, args);
  Tensor gy = leaf(y.shape());
  Tensor gw = autograd::grad({y}, {w}, {gy})[0];
  REQUIRE(max_abs_diff(ops::conv2d_backward_filter(x, gy, w.shape(), args), gw) <= 1e-12);
  REQUIRE_GRADCHECK([&] { return ops::conv2d_backward_filter(x, gy, w.shape(), args); },
                    (std::vector<Tensor>{x, gy}));
}

TEST_CASE("conv2d second derivatives match finite differences", "[conv][grad][higher-order]") {
  SECTION("strided, padded, grouped, with bias") {
    Tensor x = leaf({2, 4, 5, 5}), w = leaf({4, 2, 3, 3}), b = leaf({4});
    const Conv2dArgs args = Conv2dArgs().stride(2).padding(1).groups(2);
    REQUIRE_GRADGRADCHECK([&] { return ops::conv2d(x, w, b, args); }, (std::vector<Tensor>{x, w, b}));
  }
  SECTION("dilated, through a nonlinearity (the critic of a gradient penalty)") {
    Tensor x = leaf({2, 2, 6, 6}), w1 = leaf({3, 2, 3, 3}), w2 = leaf({1, 3, 2, 2});
    auto critic = [&] {
      Tensor h = ops::tanh(ops::conv2d(x, w1, Conv2dArgs().dilation(2).padding(1)));
      return ops::conv2d(h, w2, Conv2dArgs().stride(2));
    };
    REQUIRE_GRADGRADCHECK(critic, (std::vector<Tensor>{x, w1, w2}));
  }
  SECTION("conv_transpose2d and conv2d_backward_filter") {
    Tensor x = leaf({1, 4, 3, 3}), w = leaf({4, 2, 3, 3}), b = leaf({4});
    REQUIRE_GRADGRADCHECK(
        [&] { return ops::conv_transpose2d(x, w, b, ConvTranspose2dArgs().stride(2).output_padding(1).groups(2)); },
        (std::vector<Tensor>{x, w, b}));
    Tensor xf = leaf({2, 2, 5, 5}), gy = leaf({2, 3, 3, 3});
    REQUIRE_GRADGRADCHECK([&] { return ops::conv2d_backward_filter(xf, gy, {3, 2, 3, 3}, Conv2dArgs()); },
                          (std::vector<Tensor>{xf, gy}));
  }
}

TEST_CASE("a gradient penalty through a conv critic trains its weights (WGAN-GP)", "[conv][grad][higher-order]") {
  // penalty = mean((|d critic / d x| - 1)^2), its gradient in w through create_graph
  Tensor w1 = leaf({4, 1, 3, 3}), w2 = leaf({1, 4, 4, 4});
  Tensor x = uniform({3, 1, 8, 8}, -1, 1, kFloat64).requires_grad_();
  auto penalty = [&] {
    Tensor h = ops::leaky_relu(ops::conv2d(x, w1, Conv2dArgs().stride(2).padding(1)), 0.2);
    Tensor score = ops::sum(ops::conv2d(h, w2));
    Tensor gx = autograd::grad({score}, {x}, {}, true)[0];
    Tensor norm = ops::sqrt(ops::sum(gx * gx, {1, 2, 3}));
    return ops::mean((norm - 1.0) * (norm - 1.0));
  };
  REQUIRE_GRADCHECK(penalty, (std::vector<Tensor>{w1, w2}));
}

// ---- grad_split ----

TEST_CASE("grad_split's fused path splits a conv critic's gradients like the reference", "[conv][grad_split]") {
  using autograd::GradSplitMode;
  Tensor w1 = leaf({4, 2, 3, 3}), b1 = leaf({4}), w2 = leaf({4, 3, 2, 2}), b2 = leaf({3});
  Tensor w3 = leaf({1, 3, 3, 3});
  Tensor x = uniform({5, 2, 6, 6}, -1, 1, kFloat64);
  const std::vector<int64_t> groups{2, 3};
  // conv down, transposed conv up, conv down to one score per image
  Tensor h = ops::leaky_relu(ops::conv2d(x, w1, b1, Conv2dArgs().stride(2).padding(1)), 0.2);  // [5, 4, 3, 3]
  h = ops::tanh(ops::conv_transpose2d(h, w2, b2, ConvTranspose2dArgs().stride(2)));             // [5, 3, 6, 6]
  Tensor out = ops::mean(ops::conv2d(h, w3, Conv2dArgs().stride(2)), {1, 2, 3});               // [5]
  std::vector<Tensor> losses = {ops::mean(ops::softplus(-out.narrow(0, 0, 2))),
                                ops::mean(ops::softplus(out.narrow(0, 2, 3)))};
  std::vector<Tensor> params = {w1, b1, w2, b2, w3};
  auto reference = autograd::grad_split(losses, params);
  auto fused = autograd::grad_split(losses, params, {GradSplitMode::fused, out, groups});
  REQUIRE(fused.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    INFO("loss " << k);
    REQUIRE(max_abs_diff(fused[k], reference[k]) <= 1e-12);
  }
}

// ---- bad inputs ----

TEST_CASE("conv2d rejects bad ranks, channels, groups, sizes, dtypes and devices", "[conv][errors]") {
  Tensor x = randn({2, 4, 8, 8}, kFloat64), w = randn({6, 4, 3, 3}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::conv2d(randn({4, 8, 8}, kFloat64), w),
                      "conv2d: input must be 4-D [N, C_in, H, W], got [4, 8, 8]");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, randn({6, 4, 3}, kFloat64)),
                      "conv2d: weight must be 4-D [C_out, C_in/groups, kH, kW], got [6, 4, 3]");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, randn({6, 3, 3, 3}, kFloat64)),
                      "conv2d: weight [6, 3, 3, 3] with groups 1 expects 3 input channels, input [2, 4, 8, 8] has 4");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, randn({6, 1, 3, 3}, kFloat64), Conv2dArgs().groups(3)),
                      "conv2d: groups 3 must divide the input's 4 channels");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, randn({5, 2, 3, 3}, kFloat64), Conv2dArgs().groups(2)),
                      "conv2d: groups 2 must divide the 5 output channels (weight [5, 2, 3, 3])");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, randn({6, 4, 9, 3}, kFloat64)),
                      "conv2d: output size [2, 6, 0, 6] is not positive");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w, Conv2dArgs().dilation(4)), "conv2d: output size [2, 6, 0, 0]");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w, randn({5}, kFloat64)), "conv2d: bias must be [6], got [5]");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w, Conv2dArgs().stride(0)), "conv2d: stride must be >= 1, got (0, 0)");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w, Conv2dArgs().padding(-1, 0)), "conv2d: padding must be >= 0, got (-1, 0)");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w, Conv2dArgs().dilation(1, 0)), "conv2d: dilation must be >= 1, got (1, 0)");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w, Conv2dArgs().groups(0)), "conv2d: groups must be >= 1, got 0");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w.to(kFloat32)), "conv2d: dtype mismatch");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w, randn({6}, kFloat32)), "conv2d: dtype mismatch");
  REQUIRE_THROWS_NOVA(ops::conv2d(ones({2, 4, 8, 8}, kInt64), ones({6, 4, 3, 3}, kInt64)),
                      "conv2d: expected a floating tensor");
  REQUIRE_THROWS_NOVA(ops::conv2d(Tensor(), w), "conv2d");
  REQUIRE_THROWS_NOVA(ops::conv2d(x, Tensor()), "conv2d");
  // the device mismatch needs a GPU: tests/test_conv_cuda.cpp
}

TEST_CASE("conv_transpose2d and conv2d_backward_filter reject bad inputs", "[conv][errors]") {
  Tensor x = randn({2, 4, 5, 5}, kFloat64), w = randn({4, 3, 3, 3}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(randn({4, 5, 5}, kFloat64), w),
                      "conv_transpose2d: input must be 4-D [N, C_in, H, W], got [4, 5, 5]");
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(x, randn({4, 3, 3}, kFloat64)),
                      "conv_transpose2d: weight must be 4-D [C_in, C_out/groups, kH, kW], got [4, 3, 3]");
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(x, randn({3, 3, 3, 3}, kFloat64)),
                      "conv_transpose2d: weight [3, 3, 3, 3] expects 3 input channels, input [2, 4, 5, 5] has 4");
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(x, w, ConvTranspose2dArgs().groups(3)),
                      "conv_transpose2d: groups 3 must divide the input's 4 channels");
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(x, w, ConvTranspose2dArgs().stride(2).output_padding(2)),
                      "conv_transpose2d: output_padding must be >= 0 and smaller than stride or dilation, got "
                      "output_padding (2, 2) with stride (2, 2) and dilation (1, 1)");
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(x, w, ConvTranspose2dArgs().padding(4)),
                      "conv_transpose2d: output size [2, 3, -1, -1] is not positive");
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(x, w, randn({4}, kFloat64)), "conv_transpose2d: bias must be [3], got [4]");
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(x, w.to(kFloat32)), "conv_transpose2d: dtype mismatch");

  Tensor gy = randn({2, 3, 3, 3}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::conv2d_backward_filter(x, gy, {3, 4, 3}),
                      "conv2d_backward_filter: weight_shape must be 4-D");
  REQUIRE_THROWS_NOVA(ops::conv2d_backward_filter(x, randn({2, 3, 4, 3}, kFloat64), {3, 4, 3, 3}),
                      "conv2d_backward_filter: grad_y must be [2, 3, <= 3, <= 3]");
  REQUIRE_THROWS_NOVA(ops::conv2d_backward_filter(x, gy, {3, 2, 3, 3}),
                      "conv2d_backward_filter: weight [3, 2, 3, 3] with groups 1 expects 2 input channels");
}

TEST_CASE("conv2d's backend choice is ignored on the CPU", "[conv]") {
  Tensor x = uniform({2, 3, 6, 6}, -1.0, 1.0, kFloat64), w = uniform({4, 3, 3, 3}, -1.0, 1.0, kFloat64);
  Tensor native = ops::conv2d(x, w, Conv2dArgs().padding(1));
  REQUIRE(max_abs_diff(ops::conv2d(x, w, Conv2dArgs().padding(1).backend(ConvBackend::cudnn)), native) == 0);
  set_conv_backend(ConvBackend::cudnn);
  REQUIRE(conv_backend() == ConvBackend::cudnn);
  REQUIRE(max_abs_diff(ops::conv2d(x, w, Conv2dArgs().padding(1)), native) == 0);
  set_conv_backend(ConvBackend::native);
}
