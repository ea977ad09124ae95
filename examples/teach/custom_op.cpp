// examples/teach/custom_op.cpp: a new op, written from your own program the
// way nova's ops are written (examples/teach/add-an-op.md walks through it,
// and through adding an op inside nova itself). The op is swish,
//
//   swish(x) = x * sigmoid(x),   d swish / dx = s + x s (1 - s),  s = sigmoid(x)
//
// in four parts, as every op in core/ has them:
//   1. check the arguments, so that a wrong call says what is wrong;
//   2. allocate the output and run the kernel: a CPU loop over the
//      elements (on CUDA, which a program cannot give new kernels without a
//      .cu file of its own, the same formula in nova ops, which run there);
//      the loop is marked with a trace::KernelRun, so NOVA_DEBUG and the
//      profiler see it as they see nova's own ops;
//   3. record an autograd node whose backward is written in nova ops: the
//      backward of a backward is then recorded too, and second derivatives
//      come for free;
//   4. check the first and second derivatives against finite differences
//      (gradcheck, gradgradcheck), as every op's test does.
// Run it: build/examples/custom_op (tests/test_example_custom_op.cpp runs it).
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/trace.h"

using namespace nova;

namespace {

/// swish on the CPU: one pass over a contiguous input.
template <typename T>
void swish_cpu_loop(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T s = T(1) / (T(1) + std::exp(-x[i]));
    y[i] = x[i] * s;
  }
}

/// swish(x) = x * sigmoid(x), differentiable to any order.
Tensor swish(const Tensor& x) {
  // 1. the arguments
  NOVA_CHECK(x.defined(), "swish: the input is an undefined tensor");
  NOVA_CHECK(x.is_floating_point(), "swish: expected a float32 or float64 tensor, got {}", dtype_name(x.dtype()));

  // 2. the output and the kernel
  Tensor y;
  if (x.is_cuda()) {
    NoGradGuard no_grad;  // one node for the op, recorded below, not one per op inside
    y = ops::mul(x, ops::sigmoid(x));
  } else {
    const Tensor xc = x.contiguous();
    y = empty(x.shape(), x.dtype(), x.device());
    trace::KernelRun run("swish", {&xc}, {&y});
    dispatch_floating("swish", x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      swish_cpu_loop(xc.data<T>(), y.data<T>(), x.numel());
    });
    run.finish();
  }

  // 3. the backward, in ops: g * (s + x s (1 - s))
  // (saves: what the backward keeps alive, for autograd::to_dot's picture)
  autograd::record("swish", {x}, y, [x](const autograd::BackwardCtx& c) {
    const Tensor s = ops::sigmoid(x);
    return autograd::Grads{c.grad * (s + x * s * (1.0 - s))};
  }, autograd::NodeOptions().saves("x"));
  return y;
}

}  // namespace

int main() {
  try {
    // the values against the formula in plain doubles
    const Tensor x = linspace(-4.0, 4.0, 9, kFloat64);
    const std::vector<double> got = swish(x).to_vector<double>(), xs = x.to_vector<double>();
    double worst = 0;
    for (size_t i = 0; i < xs.size(); ++i)
      worst = std::max(worst, std::abs(got[i] - xs[i] / (1.0 + std::exp(-xs[i]))));
    fmt::print("swish on 9 points in [-4, 4]: largest difference from x / (1 + exp(-x)) = {:.3g}\n", worst);

    // 4. the derivatives against finite differences, in float64
    Tensor leaf = uniform({3, 5}, -3.0, 3.0, kFloat64).requires_grad_();
    auto fn = [&] { return swish(leaf); };
    const GradcheckResult first = gradcheck(fn, {leaf});
    const GradcheckResult second = gradgradcheck(fn, {leaf});
    fmt::print("gradcheck: {}\n", first.ok ? "ok" : first.report);
    fmt::print("gradgradcheck: {}\n", second.ok ? "ok" : second.report);

    // and a clear error for a wrong call
    try {
      swish(ones({2}, kInt64));
    } catch (const Error& e) {
      fmt::print("a wrong call: {}\n", e.what());
    }
    return first.ok && second.ok && worst < 1e-12 ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
