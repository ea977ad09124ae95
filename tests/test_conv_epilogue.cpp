// tests/test_conv_epilogue.cpp: conv2d with a fused activation
// (Conv2dArgs().activation(...), core/conv.h) on the CPU:
//   - the fused output is bit for bit conv2d followed by ops::relu /
//     ops::leaky_relu, in float32 and float64, with and without bias, over
//     groups, strides, the 1x1 path that writes y in place, the chunked path
//     (several images per GEMM) and the threaded one; and so are the
//     gradients of every input;
//   - float64 gradcheck and gradgradcheck of the fused op (its backward is
//     made of ops, so second derivatives work);
//   - grad_split's fused path (the node's grouped rule) equals the reference;
//   - a negative leaky_relu slope is refused with the reason.
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/grad_split.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// a and b hold the same bits (same dtype and shape; -0.0 != 0.0 here).
bool bits_equal(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == kFloat32) {
    const std::vector<float> va = a.contiguous().to_vector<float>(), vb = b.contiguous().to_vector<float>();
    return std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
  }
  const std::vector<double> va = a.contiguous().to_vector<double>(), vb = b.contiguous().to_vector<double>();
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(double)) == 0;
}

struct Case {
  Shape x, w;
  Conv2dArgs args;
};

std::vector<Case> cases() {
  return {
      {{2, 3, 7, 7}, {5, 3, 3, 3}, Conv2dArgs().padding(1)},
      {{3, 4, 8, 8}, {6, 2, 4, 4}, Conv2dArgs().stride(2).padding(1).groups(2)},  // DCGAN D, grouped
      {{2, 4, 9, 8}, {6, 4, 3, 3}, Conv2dArgs().padding(2).dilation(2)},
      {{1, 8, 6, 6}, {8, 1, 3, 3}, Conv2dArgs().padding(1).groups(8)},             // depthwise
      {{2, 16, 16, 16}, {8, 16, 1, 1}, Conv2dArgs()},                              // 1x1: y written in place
      {{20, 8, 4, 4}, {16, 8, 3, 3}, Conv2dArgs().padding(1)},                     // several images per GEMM
      {{8, 16, 12, 12}, {32, 16, 3, 3}, Conv2dArgs().padding(1)},                  // threaded
  };
}

std::string describe(const Case& c, DType dtype, bool bias, const char* act, double slope) {
  std::ostringstream o;
  o << "x " << c.x.str() << ", w " << c.w.str() << ", groups " << c.args.group_count << ", " << dtype_name(dtype)
    << (bias ? ", bias" : "") << ", " << act << " " << slope;
  return o.str();
}

}  // namespace

TEST_CASE("conv2d with a fused activation equals conv2d then the activation, bit for bit", "[conv][epilogue]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Case& c : cases()) {
      for (bool bias : {false, true}) {
        for (double slope : {-1.0, 0.0, 0.2, 0.01, 1.5}) {  // -1: relu
          const bool relu = slope < 0;
          INFO(describe(c, dtype, bias, relu ? "relu" : "leaky_relu", slope));
          Tensor x = uniform(c.x, -1, 1, dtype).requires_grad_();
          Tensor w = uniform(c.w, -1, 1, dtype).requires_grad_();
          Tensor b = bias ? uniform({c.w[0]}, -1, 1, dtype).requires_grad_() : Tensor();
          Conv2dArgs fused = c.args;
          fused.activation(relu ? ConvActivation::relu : ConvActivation::leaky_relu, relu ? 0.0 : slope);
          Tensor yf = ops::conv2d(x, w, b, fused);
          Tensor y = ops::conv2d(x, w, b, c.args);
          Tensor yu = relu ? ops::relu(y) : ops::leaky_relu(y, slope);
          REQUIRE(bits_equal(yf, yu));
          // and the gradients: the same ops in the same order
          Tensor gy = uniform(yf.shape(), -1, 1, dtype);
          std::vector<Tensor> inputs{x, w};
          if (bias) inputs.push_back(b);
          std::vector<Tensor> gf = autograd::grad({yf}, inputs, {gy});
          std::vector<Tensor> gu = autograd::grad({yu}, inputs, {gy});
          for (size_t i = 0; i < inputs.size(); ++i) {
            INFO("gradient of input " << i);
            REQUIRE(bits_equal(gf[i], gu[i]));
          }
        }
      }
    }
  }
}

TEST_CASE("conv2d with a fused activation passes gradcheck and gradgradcheck", "[conv][epilogue][grad]") {
  SECTION("leaky_relu, strided, grouped, with bias") {
    Tensor x = leaf({2, 4, 5, 5}), w = leaf({4, 2, 3, 3}), b = leaf({4});
    const Conv2dArgs args =
        Conv2dArgs().stride(2).padding(1).groups(2).activation(ConvActivation::leaky_relu, 0.2);
    REQUIRE_GRADCHECK([&] { return ops::conv2d(x, w, b, args); }, (std::vector<Tensor>{x, w, b}));
    REQUIRE_GRADGRADCHECK([&] { return ops::conv2d(x, w, b, args); }, (std::vector<Tensor>{x, w, b}));
  }
  SECTION("relu, dilated, through a second layer (a critic's gradient penalty)") {
    Tensor x = leaf({2, 2, 6, 6}), w1 = leaf({3, 2, 3, 3}), b1 = leaf({3}), w2 = leaf({1, 3, 2, 2});
    auto critic = [&] {
      Tensor h = ops::conv2d(x, w1, b1, Conv2dArgs().dilation(2).padding(1).activation(ConvActivation::relu));
      return ops::conv2d(h, w2, Conv2dArgs().stride(2));
    };
    REQUIRE_GRADCHECK(critic, (std::vector<Tensor>{x, w1, b1, w2}));
    REQUIRE_GRADGRADCHECK(critic, (std::vector<Tensor>{x, w1, b1, w2}));
  }
}

TEST_CASE("grad_split's fused path splits a fused-activation conv critic like the reference",
          "[conv][epilogue][grad_split]") {
  using autograd::GradSplitMode;
  Tensor w1 = leaf({4, 2, 3, 3}), b1 = leaf({4}), w2 = leaf({1, 4, 3, 3});
  Tensor x = uniform({5, 2, 6, 6}, -1, 1, kFloat64);
  const std::vector<int64_t> groups{2, 3};
  Tensor h = ops::conv2d(x, w1, b1, Conv2dArgs().stride(2).padding(1).activation(ConvActivation::leaky_relu, 0.2));
  Tensor out = ops::mean(ops::conv2d(h, w2, Conv2dArgs().padding(1)), {1, 2, 3});  // [5]
  std::vector<Tensor> losses = {ops::mean(ops::softplus(-out.narrow(0, 0, 2))),
                                ops::mean(ops::softplus(out.narrow(0, 2, 3)))};
  std::vector<Tensor> params = {w1, b1, w2};
  auto reference = autograd::grad_split(losses, params);
  auto fused = autograd::grad_split(losses, params, {GradSplitMode::fused, out, groups});
  REQUIRE(fused.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    INFO("loss " << k);
    REQUIRE(max_abs_diff(fused[k], reference[k]) <= 1e-12);
  }
}

TEST_CASE("conv2d refuses a negative fused leaky_relu slope", "[conv][epilogue][errors]") {
  Tensor x = randn({2, 3, 5, 5}, kFloat64), w = randn({4, 3, 3, 3}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w, Conv2dArgs().activation(ConvActivation::leaky_relu, -0.1)),
                      "conv2d: leaky_relu slope must be >= 0 (the fused backward reads its mask from the "
                      "output's sign), got -0.1");
}
