// core/conv.h: 2-D convolution and transposed convolution, NCHW, float32 and
// float64, with PyTorch's semantics (torch.nn.functional.conv2d and
// conv_transpose2d): stride, zero padding, dilation and groups per spatial
// dim, an optional bias. Both are differentiable to any order in every input
// (their backward passes are these same ops), so gradient penalties through a
// convolutional critic (WGAN-GP, GN-GAN) work.
//
//   conv2d            x [N, C_in, H, W], w [C_out, C_in/groups, kH, kW]
//                     -> [N, C_out, H_out, W_out],
//                     H_out = (H + 2*pad - dil*(kH - 1) - 1) / stride + 1
//   conv_transpose2d  x [N, C_in, H, W], w [C_in, C_out/groups, kH, kW]
//                     -> [N, C_out, H_out, W_out],
//                     H_out = (H - 1)*stride - 2*pad + dil*(kH - 1) + output_padding + 1
// conv_transpose2d is the adjoint of conv2d in its input (the gradient of
// conv2d with respect to x), which is how both are computed.
#pragma once

#include <cstdint>
#include <optional>

#include "core/pair2d.h"
#include "core/tensor.h"

namespace nova {

/// Which implementation runs a convolution on CUDA (the CPU always runs its
/// own im2col + GEMM path): nova's kernels (kernels/cuda/conv.cu, the tiled
/// implicit GEMM of kernels/cuda/conv_igemm.cu) or cuDNN
/// (kernels/cuda/conv_cudnn.cu), the baseline and fallback. A graph keeps
/// the choice of the forward for its backward passes. cuDNN needs the full
/// output size, so every pass of a geometry with a shortened output runs on
/// nova's kernels whatever is chosen: conv_transpose2d with output_padding
/// >= stride (possible when dilation > stride), conv2d_backward_filter with
/// a shorter grad_y, and the gradients of both.
enum class ConvBackend { native, cudnn };
/// The backend of convolutions whose args name none (default native).
void set_conv_backend(ConvBackend backend);
ConvBackend conv_backend();

/// The settings conv2d and conv_transpose2d share, chained:
/// Conv2dArgs().stride(2).padding(1). Each takes one value for both spatial
/// dims or (height, width). Self is the derived struct, so that every setter
/// returns it and a chain can go on with the derived struct's own setters
/// (ConvTranspose2dArgs().stride(2).output_padding(1)).
template <typename Self>
struct ConvArgs {
  Pair2d stride_hw{1, 1};
  Pair2d padding_hw{0, 0};
  Pair2d dilation_hw{1, 1};
  int64_t group_count = 1;
  std::optional<ConvBackend> backend_choice;  // empty: conv_backend()

  Self& stride(int64_t s) { return stride(s, s); }
  Self& stride(int64_t h, int64_t w) {
    stride_hw = {h, w};
    return self();
  }
  Self& padding(int64_t p) { return padding(p, p); }
  Self& padding(int64_t h, int64_t w) {
    padding_hw = {h, w};
    return self();
  }
  Self& dilation(int64_t d) { return dilation(d, d); }
  Self& dilation(int64_t h, int64_t w) {
    dilation_hw = {h, w};
    return self();
  }
  /// Input and output channels are split into `g` groups convolved apart
  /// (g == C_in == C_out: depthwise).
  Self& groups(int64_t g) {
    group_count = g;
    return self();
  }
  /// This call's CUDA implementation, whatever set_conv_backend says.
  Self& backend(ConvBackend b) {
    backend_choice = b;
    return self();
  }

 private:
  Self& self() { return static_cast<Self&>(*this); }
};

/// An activation conv2d can fuse into its output (Conv2dArgs::activation).
enum class ConvActivation { none, relu, leaky_relu };

/// conv2d's settings: ConvArgs and a fused activation.
struct Conv2dArgs : ConvArgs<Conv2dArgs> {
  ConvActivation activation_kind = ConvActivation::none;
  double activation_slope = 0.0;

  /// Apply `kind` to conv + bias inside the convolution kernel: relu, or
  /// leaky_relu with negative slope `slope` (>= 0; conv2d refuses a negative
  /// one, the backward reads its mask from the output's sign). The result is
  /// that of ops::relu / ops::leaky_relu(conv2d(...), slope) - on the CPU bit
  /// for bit - without a second pass over the output. The backward is made
  /// of ops (grad * mask of output > 0), so it can be differentiated again.
  Conv2dArgs& activation(ConvActivation kind, double slope = 0.0) {
    activation_kind = kind;
    activation_slope = slope;
    return *this;
  }
};

/// conv_transpose2d's settings: ConvArgs and output_padding, which adds
/// rows and columns at the bottom/right of the output (it picks one of the
/// `stride` input sizes that a strided conv2d maps to the same output size)
/// and must be smaller than the stride or the dilation.
struct ConvTranspose2dArgs : ConvArgs<ConvTranspose2dArgs> {
  Pair2d output_padding_hw{0, 0};

  ConvTranspose2dArgs& output_padding(int64_t p) { return output_padding(p, p); }
  ConvTranspose2dArgs& output_padding(int64_t h, int64_t w) {
    output_padding_hw = {h, w};
    return *this;
  }
};

namespace ops {

/// 2-D convolution (cross-correlation, as in PyTorch) of x [N, C_in, H, W]
/// with weight [C_out, C_in/groups, kH, kW], plus bias [C_out] when defined,
/// then args' fused activation if it names one (Conv2dArgs::activation).
/// Returns [N, C_out, H_out, W_out] (formula at the top). x, weight and bias
/// share one dtype and device. Differentiable to any order.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
              const Conv2dArgs& args = {});
/// conv2d without a bias.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Conv2dArgs& args);

/// 2-D transposed convolution of x [N, C_in, H, W] with weight
/// [C_in, C_out/groups, kH, kW] (PyTorch's layout), plus bias [C_out] when
/// defined: the gradient of conv2d(., weight) with respect to its input, for
/// the output size given by the formula at the top. Differentiable to any order.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose2dArgs& args = {});
/// conv_transpose2d without a bias.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const ConvTranspose2dArgs& args);

/// The gradient of conv2d(x, w, args) with respect to w, for the output
/// gradient grad_y [N, C_out, H_out, W_out]: grad_w of shape weight_shape
/// [C_out, C_in/groups, kH, kW]. H_out and W_out may be smaller than conv2d's
/// (the trailing rows/columns are then not part of the convolution).
/// args' activation is not used (this is the plain convolution's gradient).
/// Differentiable to any order in x and grad_y.
Tensor conv2d_backward_filter(const Tensor& x, const Tensor& grad_y, const Shape& weight_shape,
                              const Conv2dArgs& args = {});

/// conv2d's output size along one dim: (in + 2*padding - dilation*(kernel - 1) - 1) / stride + 1
/// (may be <= 0 for an input too small for the kernel).
int64_t conv2d_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation);

/// conv_transpose2d's output size along one dim:
/// (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1.
int64_t conv_transpose2d_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                                     int64_t output_padding, int64_t dilation);

}  // namespace ops
}  // namespace nova
