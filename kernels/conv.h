// kernels/conv.h: 2-D convolution kernels, NCHW, float32 and float64:
//   y[n,k,p,q] = sum_{c,r,s} x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw]
//                          * w[k, c, r, s]   (+ bias[k])
// for k in group g = k / Kg (Cg = C / groups input channels and Kg = K / groups
// filters per group); taps outside the input read zero (padding).
//   conv2d_forward          (x, w, bias) -> y
//   conv2d_backward_data    (grad_y, w)  -> grad_x, the adjoint of forward in x
//                           (it is also conv_transpose2d's forward)
//   conv2d_backward_filter  (x, grad_y)  -> grad_w, the adjoint of forward in w
// All three overwrite their output. Every operand is contiguous (core makes it
// so) and Conv2dGeometry gives all sizes, output sizes included: P and Q may be
// smaller than the input allows (conv_transpose2d with output_padding >= stride
// needs that), and the three kernels stay adjoint to each other for any P, Q.
//
// conv2d_forward may fuse an activation into its output (ConvEpilogue).
//
// Workspace: the CPU kernels lower the convolution to GEMMs over im2col
// columns [Cg*R*S, P*Q] per image and group, one column buffer per thread;
// core asks conv2d_workspace for the element count (x's dtype) and passes a
// buffer of that size. The CUDA kernels need one only for backward_filter's
// split-K partial sums (kernels/cuda/conv_igemm.h).
//
// Declared once, for both back ends, by the list kernels/conv.def; the CPU
// versions are in kernels/cpu/conv.cpp, the CUDA ones in kernels/cuda/conv.cu
// (which dispatches to the tiled implicit-GEMM kernels of
// kernels/cuda/conv_igemm.cu, or its direct v1 kernels).
#pragma once

#include <cstdint>

#include "core/base/view.h"
#include "kernels/elementwise_math.h"  // NOVA_HD, UnaryFormula

namespace nova {

/// Every size of one convolution y = conv(x, w): input [N, C, H, W], weight
/// [K, C/groups, R, S], output [N, K, P, Q], and its stride, padding and
/// dilation per spatial dim.
struct Conv2dGeometry {
  int64_t N = 0, C = 0, H = 0, W = 0;
  int64_t K = 0, R = 0, S = 0;
  int64_t P = 0, Q = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t groups = 1;
  /// CUDA: run on cuDNN instead of nova's kernels (core sets it from the
  /// chosen ConvBackend; the CPU ignores it).
  bool cudnn = false;

  int64_t group_channels() const { return C / groups; }  // Cg
  int64_t group_filters() const { return K / groups; }   // Kg
  /// Rows of one im2col column block: Cg * R * S.
  int64_t column_rows() const { return group_channels() * R * S; }
  /// 1x1, stride 1, no padding, full output: the input is already the
  /// column block, so the CPU kernels skip im2col.
  /// (P, Q) is the full output of (H, W), which cuDNN's descriptors imply;
  /// backward_filter's shortened outputs are not (they run on nova's kernels).
  bool has_full_output() const {
    return P == (H + 2 * pad_h - dil_h * (R - 1) - 1) / stride_h + 1 &&
           Q == (W + 2 * pad_w - dil_w * (S - 1) - 1) / stride_w + 1;
  }
  bool is_pointwise() const {
    return R == 1 && S == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0 && P == H &&
           Q == W;
  }
};

/// What conv2d_forward applies to each output element v = conv + bias before
/// storing it: none (v), relu (v > 0 ? v : 0) or leaky_relu (v > 0 ? v :
/// slope * v), the same expressions as ops::relu / ops::leaky_relu
/// (kernels/elementwise_math.h), with slope rounded to the element type as
/// they round it, so on the CPU the fused result equals the unfused one bit
/// for bit. slope >= 0 (core checks): then v > 0 exactly where the output
/// is > 0, which is what the backward's mask reads.
/// (core/conv.h's ConvActivation is the user's name for Activation; core
/// maps one to the other, since nn and above do not see kernels/.)
struct ConvEpilogue {
  enum class Activation { none, relu, leaky_relu };
  Activation activation = Activation::none;
  double slope = 0.0;
};

/// The epilogue's activation of one value v = conv + bias, slope already in
/// T: the UnaryFormula of ops::relu / ops::leaky_relu itself. Host and device.
template <typename T>
NOVA_HD T conv_activate(ConvEpilogue::Activation kind, T slope, T v) {
  switch (kind) {
    case ConvEpilogue::Activation::none: return v;
    case ConvEpilogue::Activation::relu: return UnaryFormula<T, UnaryKind::Relu>{T(0), T(0)}(v);
    case ConvEpilogue::Activation::leaky_relu: return UnaryFormula<T, UnaryKind::LeakyRelu>{slope, T(0)}(v);
  }
  return v;
}

/// Which kernel a workspace is asked for.
enum class ConvPass { kForward, kBackwardData, kBackwardFilter };

}  // namespace nova

#define NOVA_KERNEL_FAMILY "kernels/conv.def"
#include "kernels/declare_family.h"
