// tests/test_conv_cuda.cpp: CPU/CUDA parity of conv2d, conv_transpose2d and
// conv2d_backward_filter, forward and the gradients of every input, float32
// within 1e-4 and float64 within 1e-12 relative (see conv_tolerance), over stride
// 1/2, padding, dilation, groups (depthwise included), 1x1/3x3/4x4 and
// non-square kernels, with and without bias; second derivatives (a gradient
// penalty) on both devices; an empty batch; mixed devices refused; and the
// same sweep through cuDNN (ConvBackend::cudnn, per call and globally), float32
// with CUDNN_FMA_MATH and float64, against the CPU within the same bounds, with
// an empty batch, and the shortened outputs cuDNN cannot describe, which fall
// back to nova's kernels under the cuDNN backend.
// The tiled implicit-GEMM kernels (kernels/cuda/conv_igemm.cu; the cases
// tagged [igemm]): a sweep chosen to reach every tile and its edges (rows 3,
// 5, 20, 24, 67, 96, 160; reductions 1, 27, 75 and split-K; odd column counts; strides 2 and 3,
// dilation, groups, depthwise), shortened outputs and empty batches, the v1
// reference kernels kept working (NOVA_CONV_V1=1, set for one case only), backward-filter's
// determinism, the TF32 tensor-core path against the CPU within 1e-2 of the
// output's scale (and float32 again once TF32 is off), and the fused
// bias + activation epilogue against the CPU and against the unfused GPU result.
#include <algorithm>
#include <cmath>
#include <cstdlib>
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

/// Sets the environment variable `name` to `value` for a scope and restores
/// what was there (or unsets it) at exit, also when a REQUIRE fails and
/// throws, so a failing case cannot leave it set for the cases after it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_.c_str(), old_.c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  bool had_ = false;
  std::string old_;
};

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
    // an empty batch: cuDNN takes no empty tensor, so the weight's gradient
    // (backward-filter, N*P*Q == 0) is zeroed without it; the CPU's is 0 too
    Inputs empty{uniform({0, 3, 5, 5}, -1, 1, dtype), uniform({4, 3, 3, 3}, -1, 1, dtype),
                 uniform({4}, -1, 1, dtype)};
    check(empty, [](const Inputs& t) {
      return ops::conv2d(t[0], t[1], t[2], Conv2dArgs().padding(1).backend(ConvBackend::cudnn));
    });
  }
}

TEST_CASE("cuda conv through cuDNN runs shortened outputs on nova's kernels and matches the CPU",
          "[cuda][conv][cudnn]") {
  // cuDNN's descriptors imply the full output (P, Q) of (H, W); a geometry
  // with a shorter one runs on nova's kernels whatever the backend
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    // output_padding 2 >= stride 1 (dilation 3 allows it): output 10 x 10,
    // whose conv2d would give 6 x 6, not the input's 4 x 4 (backward-data,
    // and forward in the input's gradient)
    Inputs t{uniform({1, 2, 4, 4}, -1, 1, dtype), uniform({2, 2, 3, 3}, -1, 1, dtype), uniform({2}, -1, 1, dtype)};
    check(t, [](const Inputs& in) {
      const ConvTranspose2dArgs args =
          ConvTranspose2dArgs().dilation(3).padding(1).output_padding(2).backend(ConvBackend::cudnn);
      return ops::conv_transpose2d(in[0], in[1], in[2], args);
    });
    // grad_y [3, 6, 4, 3] shorter than the full [3, 6, 5, 5]: the gradient of
    // conv2d_backward_filter (conv2d's second derivative) runs backward-data
    // and forward on that geometry
    Inputs f{uniform({3, 4, 9, 9}, -1, 1, dtype), uniform({3, 6, 4, 3}, -1, 1, dtype)};
    check(f, [](const Inputs& in) {
      return ops::conv2d_backward_filter(in[0], in[1], {6, 2, 3, 3},
                                         Conv2dArgs().stride(2).padding(1).groups(2).backend(ConvBackend::cudnn));
    });
  }
}

// ---- the tiled implicit-GEMM kernels (kernels/cuda/conv_igemm.cu) ----

namespace {

/// Geometries that reach every tile of run() (kernels/cuda/conv_igemm.cu)
/// and every edge of them: rows (K for forward and backward-filter, Cg for
/// backward-data) of 3 and 5 (the 16-row tile), 20 and 24 (32 rows), 67 (64
/// rows, a partial second tile), 96 with blocks for the 128x64 tile and 160
/// with enough for 128x128; columns N*P*Q odd; reductions Cg*R*S of 27, 75, 1 and long ones
/// that backward-filter splits (split-K); stride 2 and 3, padding, dilation,
/// groups and depthwise.
std::vector<Setting> tile_settings() {
  return {
      {{3, 3, 7, 9}, {5, 3, 3, 3}, Conv2dArgs().padding(1)},                    // CRS 27, K 5, N*P*Q 189
      {{2, 3, 11, 11}, {67, 3, 5, 5}, Conv2dArgs().padding(2)},                 // CRS 75, K 67
      {{3, 1, 7, 5}, {3, 1, 1, 1}, Conv2dArgs()},                               // CRS 1, K 3
      {{3, 67, 5, 7}, {3, 67, 1, 1}, Conv2dArgs()},                             // 1x1, Cg 67 for backward-data
      {{4, 8, 9, 9}, {12, 4, 4, 4}, Conv2dArgs().stride(2).padding(1).groups(2)},  // DCGAN D
      {{2, 6, 13, 11}, {6, 6, 3, 3}, Conv2dArgs().stride(3).padding(2).dilation(2)},
      {{2, 16, 9, 9}, {16, 1, 3, 3}, Conv2dArgs().padding(1).groups(16)},     // depthwise
      {{16, 8, 16, 16}, {16, 8, 3, 3}, Conv2dArgs().padding(1)},              // backward-filter split-K
      {{40, 8, 16, 16}, {160, 8, 3, 3}, Conv2dArgs().padding(1)},             // the 128x128 tiles
      {{27, 4, 16, 16}, {96, 4, 3, 3}, Conv2dArgs().padding(1)},              // the 128x64 tile
      {{3, 20, 6, 5}, {24, 20, 3, 3}, Conv2dArgs().padding(1)},               // 17..32 rows: 32x128
  };
}

/// max |a - b| over max |a|: the error relative to the output's scale.
double scaled_error(const Tensor& cpu_result, const Tensor& cuda_result) {
  const std::vector<double> a = cpu_result.to_vector<double>(), b = cuda_result.to(kCPU).to_vector<double>();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(a[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

/// The three passes of s on inputs (x, w, gy) on `device`: forward, backward-
/// data (conv_transpose2d of gy) and backward-filter.
std::vector<Tensor> three_passes(const Setting& s, const Tensor& x, const Tensor& w, const Tensor& gy) {
  ConvTranspose2dArgs t = ConvTranspose2dArgs()
                              .stride(s.args.stride_hw.h, s.args.stride_hw.w)
                              .padding(s.args.padding_hw.h, s.args.padding_hw.w)
                              .dilation(s.args.dilation_hw.h, s.args.dilation_hw.w)
                              .groups(s.args.group_count);
  // output_padding so that conv_transpose2d returns x's size (stride > 1
  // maps several input sizes to one output size)
  const int64_t oh = x.size(2) - ops::conv_transpose2d_output_size(gy.size(2), s.w[2], s.args.stride_hw.h,
                                                                   s.args.padding_hw.h, 0, s.args.dilation_hw.h);
  const int64_t ow = x.size(3) - ops::conv_transpose2d_output_size(gy.size(3), s.w[3], s.args.stride_hw.w,
                                                                   s.args.padding_hw.w, 0, s.args.dilation_hw.w);
  t.output_padding(oh, ow);
  return {ops::conv2d(x, w, s.args), ops::conv_transpose2d(gy, w, t),
          ops::conv2d_backward_filter(x, gy, s.w, s.args)};
}

}  // namespace

TEST_CASE("cuda tiled conv kernels match the CPU on every tile edge", "[cuda][conv][igemm]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Setting& s : tile_settings()) {
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

TEST_CASE("cuda tiled conv kernels, each tile once (for compute-sanitizer racecheck)", "[cuda][conv][igemm][racecheck]") {
  // the three passes of every tile setting in float32, FMA and TF32, and
  // float64: every kernel instantiation run() picks, once, without the
  // gradient sweep (racecheck is slow); tools/gpu-check.sh runs this case
  for (DType dtype : {kFloat32, kFloat64}) {
    for (bool tf32 : {false, true}) {
      if (tf32 && dtype == kFloat64) continue;
      for (const Setting& s : tile_settings()) {
        INFO("x " << s.x.str() << ", w " << s.w.str() << ", " << dtype_name(dtype) << (tf32 ? ", tf32" : ""));
        const Tensor x = uniform(s.x, -1, 1, dtype), w = uniform(s.w, -1, 1, dtype);
        const Tensor gy = uniform(ops::conv2d(x, w, s.args).shape(), -1, 1, dtype);
        const std::vector<Tensor> cpu = three_passes(s, x, w, gy);
        set_allow_tf32(tf32);
        const std::vector<Tensor> gpu_out = three_passes(s, x.to(gpu()), w.to(gpu()), gy.to(gpu()));
        set_allow_tf32(false);
        for (size_t i = 0; i < 3; ++i) {
          if (tf32)
            REQUIRE(scaled_error(cpu[i], gpu_out[i]) <= 1e-2);
          else
            require_parity(cpu[i], gpu_out[i], conv_tolerance(dtype));
        }
      }
    }
  }
}

TEST_CASE("cuda tiled conv kernels take shortened outputs and empty batches", "[cuda][conv][igemm]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    // conv_transpose2d with output_padding: backward-data (and, in its
    // gradient, backward-filter) on a geometry whose P, Q are not the full output
    Inputs in{uniform({3, 6, 5, 4}, -1, 1, dtype), uniform({6, 4, 3, 3}, -1, 1, dtype),
              uniform({8}, -1, 1, dtype)};
    check(in, [](const Inputs& t) {
      return ops::conv_transpose2d(t[0], t[1], t[2],
                                   ConvTranspose2dArgs().stride(3).padding(1).output_padding(2, 1).groups(2));
    });
    // backward-filter with grad_y shorter than the full output
    Inputs f{uniform({3, 4, 9, 9}, -1, 1, dtype), uniform({3, 6, 4, 3}, -1, 1, dtype)};
    check(f, [](const Inputs& t) {
      return ops::conv2d_backward_filter(t[0], t[1], {6, 2, 3, 3}, Conv2dArgs().stride(2).padding(1).groups(2));
    });
  }
  Tensor x = zeros({0, 3, 6, 6}, kFloat32, gpu()), w = uniform({5, 3, 3, 3}, -1, 1, kFloat32).to(gpu());
  Tensor y = ops::conv2d(x, w, Conv2dArgs().padding(1).activation(ConvActivation::relu));
  REQUIRE(y.shape() == Shape{0, 5, 6, 6});
  Tensor gw = ops::conv2d_backward_filter(x, zeros({0, 5, 6, 6}, kFloat32, gpu()), w.shape(), Conv2dArgs().padding(1));
  REQUIRE(ops::sum(ops::abs(gw)).item() == 0.0);  // the split-K path writes zeros, not garbage
}

TEST_CASE("cuda v1 conv kernels (NOVA_CONV_V1=1) still match the CPU", "[cuda][conv][igemm]") {
  const ScopedEnv v1("NOVA_CONV_V1", "1");
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Setting& s : settings()) {
      INFO("x " << s.x.str() << ", w " << s.w.str() << ", " << dtype_name(dtype));
      Inputs in{uniform(s.x, -1, 1, dtype), uniform(s.w, -1, 1, dtype), uniform({s.w[0]}, -1, 1, dtype)};
      check(in, [&](const Inputs& t) {
        Conv2dArgs a = s.args;
        return ops::conv2d(t[0], t[1], t[2], a.activation(ConvActivation::leaky_relu, 0.2));
      });
    }
  }
}

TEST_CASE("cuda tiled backward-filter is deterministic (split-K summed in order)", "[cuda][conv][igemm]") {
  Tensor x = uniform({16, 8, 16, 16}, -1, 1, kFloat32).to(gpu());
  Tensor gy = uniform({16, 16, 16, 16}, -1, 1, kFloat32).to(gpu());
  const Conv2dArgs args = Conv2dArgs().padding(1);
  const std::vector<float> a = ops::conv2d_backward_filter(x, gy, {16, 8, 3, 3}, args).to(kCPU).to_vector<float>();
  const std::vector<float> b = ops::conv2d_backward_filter(x, gy, {16, 8, 3, 3}, args).to(kCPU).to_vector<float>();
  REQUIRE(a == b);
}

TEST_CASE("cuda TF32 conv kernels match the CPU at TF32 precision", "[cuda][conv][igemm][tf32]") {
  for (const Setting& s : tile_settings()) {
    INFO("x " << s.x.str() << ", w " << s.w.str() << ", groups " << s.args.group_count);
    const Tensor x = uniform(s.x, -1, 1, kFloat32), w = uniform(s.w, -1, 1, kFloat32);
    const Shape y_shape = ops::conv2d(x, w, s.args).shape();
    const Tensor gy = uniform(y_shape, -1, 1, kFloat32);
    const std::vector<Tensor> cpu = three_passes(s, x, w, gy);
    set_allow_tf32(true);
    const std::vector<Tensor> tf32 = three_passes(s, x.to(gpu()), w.to(gpu()), gy.to(gpu()));
    set_allow_tf32(false);
    const std::vector<Tensor> fp32 = three_passes(s, x.to(gpu()), w.to(gpu()), gy.to(gpu()));
    const char* names[] = {"forward", "backward-data", "backward-filter"};
    for (size_t i = 0; i < 3; ++i) {
      INFO(names[i]);
      // TF32 keeps 10 mantissa bits: each product is off by ~1e-3 relative,
      // and the sum of many such errors stays well below 1e-2 of the scale
      REQUIRE(scaled_error(cpu[i], tf32[i]) <= 1e-2);
      // TF32 off again: float32 FMA, as close to the CPU as before
      require_parity(cpu[i], fp32[i], conv_tolerance(kFloat32));
    }
  }
  // the switch is read: on a long reduction TF32 rounds differently
  set_allow_tf32(true);
  Tensor x = uniform({4, 32, 8, 8}, -1, 1, kFloat32).to(gpu()), w = uniform({64, 32, 3, 3}, -1, 1, kFloat32).to(gpu());
  Tensor y_tf32 = ops::conv2d(x, w, Conv2dArgs().padding(1));
  set_allow_tf32(false);
  Tensor y_fp32 = ops::conv2d(x, w, Conv2dArgs().padding(1));
  REQUIRE(ops::max(ops::abs(y_tf32 - y_fp32)).item() > 0.0);
}

TEST_CASE("cuda conv2d with a fused activation matches the CPU and the unfused GPU result", "[cuda][conv][igemm][epilogue]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Setting& s : tile_settings()) {
      for (double slope : {-1.0, 0.0, 0.2}) {  // -1: relu
        const bool relu = slope < 0;
        INFO("x " << s.x.str() << ", w " << s.w.str() << ", " << dtype_name(dtype) << (relu ? ", relu" : ", leaky ")
                  << slope);
        Conv2dArgs fused = s.args;
        fused.activation(relu ? ConvActivation::relu : ConvActivation::leaky_relu, relu ? 0.0 : slope);
        Inputs in{uniform(s.x, -1, 1, dtype), uniform(s.w, -1, 1, dtype), uniform({s.w[0]}, -1, 1, dtype)};
        check(in, [&](const Inputs& t) { return ops::conv2d(t[0], t[1], t[2], fused); });
        // on the GPU too, fused == the same kernel's output then the activation, exactly
        Tensor x = in[0].to(gpu()), w = in[1].to(gpu()), b = in[2].to(gpu());
        Tensor yf = ops::conv2d(x, w, b, fused);
        Tensor y = ops::conv2d(x, w, b, s.args);
        Tensor yu = relu ? ops::relu(y) : ops::leaky_relu(y, slope);
        REQUIRE(ops::max(ops::abs(yf - yu)).item() == 0.0);
      }
    }
  }
  // through cuDNN the activation runs as its own pass: the same result
  Conv2dArgs args = Conv2dArgs().padding(1).activation(ConvActivation::leaky_relu, 0.2).backend(ConvBackend::cudnn);
  Inputs in{uniform({2, 4, 8, 8}, -1, 1, kFloat32), uniform({6, 4, 3, 3}, -1, 1, kFloat32),
            uniform({6}, -1, 1, kFloat32)};
  check(in, [&](const Inputs& t) { return ops::conv2d(t[0], t[1], t[2], args); });
}
