// tests/test_symconv_cuda.cpp: CPU/CUDA parity of SCNN's symmetric
// convolutions (core/symconv.h): forward, the gradients of every input
// (backward_data and backward_filter) and second derivatives through the
// backward ops, float64 within 1e-12 and float32 within 1e-4 relative
// (see symconv_tolerance), over kernel sizes 1-3, padding 0-2, an SCosRec-sized
// layer (128 channels, L 5) and an empty batch. The CUDA kernels are
// gathers (one writer per element), so they are deterministic.
#include <vector>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

enum class Which { generating, preserving };

/// The parity bound, relative to max(1, |cpu value|). float32: 1e-4, not
/// cuda_util.h's 1e-5, for the reason test_conv_cuda.cpp gives: an SCosRec-size
/// output or filter gradient sums 768-2,300 products whose partial sums reach
/// 10-15 while the result may be below 1. A float32 simulation of the GPU's
/// summation order against exact sums on these shapes put 58 outputs of the
/// preserving forward over 1e-5 (worst 2.3e-5) before the CPU GEMM's own
/// rounding is added.
double symconv_tolerance(DType dtype) { return dtype == kFloat64 ? 1e-12 : 1e-4; }

Tensor run(Which which, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad) {
  return which == Which::generating ? ops::sym_generating_conv2d(x, w, b, pad)
                                    : ops::sym_preserving_conv2d(x, w, b, pad);
}

void check(Which which, const Shape& xs, const Shape& ws, int64_t pad, DType dtype) {
  INFO("x " << xs.str() << " w " << ws.str() << " pad " << pad << " " << dtype_name(dtype));
  Tensor x = uniform(xs, -1, 1, dtype), w = uniform(ws, -1, 1, dtype), b = uniform({ws[2]}, -1, 1, dtype);
  Tensor xc = x.clone().requires_grad_(), wc = w.clone().requires_grad_(), bc = b.clone().requires_grad_();
  Tensor xg = x.to(gpu()).requires_grad_(), wg = w.to(gpu()).requires_grad_(), bg = b.to(gpu()).requires_grad_();
  Tensor yc = run(which, xc, wc, bc, pad), yg = run(which, xg, wg, bg, pad);
  require_parity(yc, yg, symconv_tolerance(dtype));
  Tensor r = uniform(yc.shape(), -1, 1, dtype);
  auto grads = [&](const Tensor& y, const Tensor& ri, const std::vector<Tensor>& in) {
    return autograd::grad({y}, in, {ri}, true);
  };
  auto gc = grads(yc, r, {xc, wc, bc});
  auto gg = grads(yg, r.to(gpu()), {xg, wg, bg});
  for (size_t i = 0; i < gc.size(); ++i) {
    INFO("gradient of input " << i);
    require_parity(gc[i], gg[i], symconv_tolerance(dtype));
  }
  // second order: d/dw <dL/dx, v> runs F and Fl of the backward ops
  if (x.numel() > 0) {
    Tensor v = uniform(xs, -1, 1, dtype);
    Tensor hc = autograd::grad({ops::sum(gc[0] * v)}, {wc})[0];
    Tensor hg = autograd::grad({ops::sum(gg[0] * v.to(gpu()))}, {wg})[0];
    INFO("second-order gradient");
    require_parity(hc, hg, symconv_tolerance(dtype));
  }
}

}  // namespace

TEST_CASE("cuda sym_preserving_conv2d matches the CPU, values and gradients", "[cuda][symconv]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    check(Which::preserving, {2, 3, 15}, {1, 3, 4}, 0, dtype);   // 1x1
    check(Which::preserving, {2, 3, 15}, {3, 3, 4}, 1, dtype);   // 2x2, padded
    check(Which::preserving, {3, 4, 21}, {6, 4, 5}, 0, dtype);   // 3x3 on 6x6
    check(Which::preserving, {2, 2, 6}, {6, 2, 3}, 2, dtype);    // padding wider than the map's edge
    check(Which::preserving, {0, 3, 15}, {6, 3, 2}, 0, dtype);   // empty batch
  }
  check(Which::preserving, {64, 128, 15}, {6, 128, 128}, 0, kFloat32);  // SCosRec's block 0 conv2
}

TEST_CASE("cuda sym_generating_conv2d matches the CPU, values and gradients", "[cuda][symconv]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    check(Which::generating, {2, 5, 3}, {1, 3, 4}, 0, dtype);
    check(Which::generating, {2, 5, 3}, {3, 3, 4}, 1, dtype);
    check(Which::generating, {3, 6, 2}, {6, 2, 5}, 2, dtype);
    check(Which::generating, {0, 5, 3}, {6, 3, 2}, 0, dtype);
  }
  check(Which::generating, {64, 5, 50}, {1, 50, 128}, 0, kFloat32);  // SCosRec's first layer
}
