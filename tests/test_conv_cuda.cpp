// tests/test_conv_cuda.cpp: CPU/CUDA parity of conv2d, conv_transpose2d and
// conv2d_backward_filter, forward and the gradients of every input, float32
// within 1e-4 and float64 within 1e-12 relative (see conv_tolerance), over stride
// 1/2, padding, dilation, groups (depthwise included), 1x1/3x3/4x4 and
// non-square kernels, with and without bias; second derivatives (a gradient
// penalty) on both devices; an empty batch; mixed devices refused; and the
// same sweep through cuDNN (ConvBackend::cudnn, per call and globally), float32
// with CUDNN_FMA_MATH and float64, against the CPU within the same bounds.
#include <functional>
#include <string>
#include <vector>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Inputs = std::vector<Tensor>;
using Fn = std::function<Tensor(const Inputs&)>;

/// The parity bound, relative to max(1, |cpu value|). float32: 1e-4, not
/// cuda_util.h's 1e-5: a conv output or weight gradient sums up to 1024
/// products (the GPU in a tree, OpenBLAS along its GEMM), whose partial sums
/// reach ~10 while the result may be below 1, and the two orders' rounding
/// (~u * sqrt(n) * 10, a few 1e-6) leaves 1e-5 without margin.
double conv_tolerance(DType dtype) { return dtype == kFloat64 ? 1e-12 : 1e-4; }

/// f(inputs) on the CPU and on cuda:0: results and the gradients of every
/// defined input agree.
void check(const Inputs& base, const Fn& f) {
  Inputs c, g;
  for (const Tensor& t : base) {
    c.push_back(t.defined() ? t.clone().requires_grad_() : Tensor());
    g.push_back(t.defined() ? t.to(gpu()).requires_grad_() : Tensor());
  }
  Tensor yc = f(c), yg = f(g);
  require_parity(yc, yg, conv_tolerance(yc.dtype()));
  Tensor grad = uniform(yc.shape(), -1.0, 1.0, yc.dtype());
  yc.backward(grad);
  yg.backward(grad.to(gpu()));
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c[i].defined()) continue;
    INFO("gradient of input " << i);
    REQUIRE(g[i].grad().defined());
    require_parity(c[i].grad(), g[i].grad(), conv_tolerance(c[i].dtype()));
  }
}

struct Setting {
  Shape x, w;
  Conv2dArgs args;
};

std::vector<Setting> settings() {
  return {
      {{2, 3, 7, 7}, {4, 3, 3, 3}, Conv2dArgs()},
      {{3, 3, 8, 8}, {4, 3, 3, 3}, Conv2dArgs().stride(2).padding(1)},
      {{2, 4, 9, 8}, {6, 4, 3, 3}, Conv2dArgs().padding(2).dilation(2)},
      {{2, 4, 8, 8}, {4, 2, 4, 4}, Conv2dArgs().stride(2).padding(1).groups(2)},
      {{1, 8, 6, 6}, {8, 1, 3, 3}, Conv2dArgs().padding(1).groups(8)},  // depthwise
      {{2, 5, 6, 7}, {3, 5, 1, 1}, Conv2dArgs()},
      {{3, 2, 9, 7}, {3, 2, 2, 3}, Conv2dArgs().stride(2, 1).padding(0, 1).dilation(1, 2)},
      {{4, 16, 16, 16}, {32, 16, 3, 3}, Conv2dArgs().padding(1)},  // many blocks, CPU threads
  };
}

}  // namespace

TEST_CASE("cuda conv2d forward and grads match the CPU", "[cuda][conv]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Setting& s : settings()) {
      for (bool bias : {false, true}) {
        INFO("x " << s.x.str() << ", w " << s.w.str() << ", groups " << s.args.group_count << ", bias " << bias
                  << ", " << dtype_name(dtype));
        Inputs in{uniform(s.x, -1, 1, dtype), uniform(s.w, -1, 1, dtype),
                  bias ? uniform({s.w[0]}, -1, 1, dtype) : Tensor()};
        check(in, [&](const Inputs& t) { return ops::conv2d(t[0], t[1], t[2], s.args); });
      }
    }
  }
}

TEST_CASE("cuda conv_transpose2d forward and grads match the CPU", "[cuda][conv]") {
  struct TSetting {
    Shape x, w;
    ConvTranspose2dArgs args;
  };
  std::vector<TSetting> cases = {
      {{2, 4, 4, 4}, {4, 3, 4, 4}, ConvTranspose2dArgs().stride(2).padding(1)},
      {{1, 4, 3, 5}, {4, 2, 3, 3}, ConvTranspose2dArgs().stride(2).padding(1).output_padding(1).groups(2)},
      {{3, 2, 4, 3}, {2, 3, 3, 2}, ConvTranspose2dArgs().stride(3, 2).output_padding(2, 1)},
      {{1, 2, 4, 4}, {2, 2, 3, 3}, ConvTranspose2dArgs().dilation(3).padding(1).output_padding(2)},
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const TSetting& s : cases) {
      INFO("x " << s.x.str() << ", w " << s.w.str() << ", " << dtype_name(dtype));
      Inputs in{uniform(s.x, -1, 1, dtype), uniform(s.w, -1, 1, dtype),
                uniform({s.w[1] * s.args.group_count}, -1, 1, dtype)};
      check(in, [&](const Inputs& t) { return ops::conv_transpose2d(t[0], t[1], t[2], s.args); });
    }
  }
}

TEST_CASE("cuda conv2d_backward_filter matches the CPU", "[cuda][conv]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    const Conv2dArgs args = Conv2dArgs().stride(2).padding(1).groups(2);
    Inputs in{uniform({3, 4, 9, 9}, -1, 1, dtype), uniform({3, 6, 5, 5}, -1, 1, dtype)};
    check(in, [&](const Inputs& t) { return ops::conv2d_backward_filter(t[0], t[1], {6, 2, 3, 3}, args); });
  }
}

TEST_CASE("cuda conv2d gradient penalty (second derivatives) matches the CPU", "[cuda][conv][higher-order]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    Inputs in{uniform({3, 2, 8, 8}, -1, 1, dtype), uniform({4, 2, 3, 3}, -1, 1, dtype),
              uniform({1, 4, 4, 4}, -1, 1, dtype)};
    check(in, [](const Inputs& t) {
      Tensor h = ops::tanh(ops::conv2d(t[0], t[1], Conv2dArgs().stride(2).padding(1)));
      Tensor score = ops::sum(ops::conv2d(h, t[2]));
      Tensor gx = autograd::grad({score}, {t[0]}, {}, true)[0];
      return ops::sum(gx * gx, {1, 2, 3});
    });
  }
}

TEST_CASE("cuda conv2d on an empty batch gives an empty output", "[cuda][conv]") {
  Tensor x = zeros({0, 3, 5, 5}, kFloat32, gpu()), w = uniform({4, 3, 3, 3}, -1, 1, kFloat32).to(gpu());
  Tensor y = ops::conv2d(x, w);
  REQUIRE(y.shape() == Shape{0, 4, 3, 3});
  REQUIRE(y.is_cuda());
  Tensor gw = ops::conv2d_backward_filter(x, zeros({0, 4, 3, 3}, kFloat32, gpu()), w.shape());
  REQUIRE(ops::sum(ops::abs(gw)).item() == 0.0);
}

TEST_CASE("cuda conv2d refuses inputs on different devices", "[cuda][conv][errors]") {
  Tensor x = randn({2, 3, 5, 5}), w = randn({4, 3, 3, 3});
  REQUIRE_THROWS_NOVA(ops::conv2d(x, w.to(gpu())), "conv2d: inputs on different devices (cpu, cuda:0)");
  REQUIRE_THROWS_NOVA(ops::conv2d(x.to(gpu()), w.to(gpu()), randn({4})),
                      "conv2d: inputs on different devices (cuda:0, cpu)");
  REQUIRE_THROWS_NOVA(ops::conv_transpose2d(x.to(gpu()), randn({3, 2, 3, 3})),
                      "conv_transpose2d: inputs on different devices (cuda:0, cpu)");
}

TEST_CASE("cuda conv2d through cuDNN matches the CPU", "[cuda][conv][cudnn]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Setting& s : settings()) {
      INFO("x " << s.x.str() << ", w " << s.w.str() << ", groups " << s.args.group_count << ", "
                << dtype_name(dtype));
      Conv2dArgs args = s.args;
      args.backend(ConvBackend::cudnn);
      Inputs in{uniform(s.x, -1, 1, dtype), uniform(s.w, -1, 1, dtype), uniform({s.w[0]}, -1, 1, dtype)};
      check(in, [&](const Inputs& t) { return ops::conv2d(t[0], t[1], t[2], args); });
    }
    // conv_transpose2d (cuDNN's backward-data as a forward) and the global switch
    set_conv_backend(ConvBackend::cudnn);
    Inputs in{uniform({2, 4, 5, 5}, -1, 1, dtype), uniform({4, 3, 4, 4}, -1, 1, dtype), uniform({3}, -1, 1, dtype)};
    check(in, [&](const Inputs& t) {
      return ops::conv_transpose2d(t[0], t[1], t[2], ConvTranspose2dArgs().stride(2).padding(1).output_padding(1));
    });
    set_conv_backend(ConvBackend::native);
  }
}
