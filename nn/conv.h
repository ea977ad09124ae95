// nn/conv.h: Conv2d and ConvTranspose2d, the modules that own the weight and
// bias of ops::conv2d / ops::conv_transpose2d (core/conv.h), with PyTorch's
// shapes, parameter names and initialisation:
//   Conv2d           weight [C_out, C_in/groups, kH, kW], bias [C_out]
//   ConvTranspose2d  weight [C_in, C_out/groups, kH, kW], bias [C_out]
// Both initialise weight with kaiming_uniform_(a = sqrt(5)), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.size(1) * kH * kW
// (for ConvTranspose2d that is C_out/groups * kH * kW, as PyTorch computes
// it), and bias from the same range.
// With spectral norm (nn/spectral_norm.h) the trained parameter is
// weight_orig and weight = weight_orig / sigma, sigma of weight_orig viewed
// as [C_out, rest] in both: for ConvTranspose2d, whose weight is
// [C_in, C_out/groups, ...], that is dim 1 first, the dim
// torch.nn.utils.spectral_norm picks for it.
#pragma once

#include "core/conv.h"
#include "nn/module.h"
#include "nn/spectral_norm.h"

namespace nova::nn {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Pair2d kernel_size, const Conv2dArgs& args = {},
         bool bias = true, const SpectralNormOptions& spectral_norm = {});
  /// A square kernel_size x kernel_size.
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, const Conv2dArgs& args = {},
         bool bias = true, const SpectralNormOptions& spectral_norm = {})
      : Conv2d(in_channels, out_channels, Pair2d{kernel_size, kernel_size}, args, bias, spectral_norm) {}

  /// x [N, C_in, H, W] -> [N, C_out, H_out, W_out]
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t in_channels, out_channels;
  Pair2d kernel_size;
  Conv2dArgs args;
  Tensor weight;  // the parameter; with spectral norm, the last forward's weight_orig / sigma
  Tensor bias;    // undefined when built with bias = false
  SpectralNorm spectral_norm;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Pair2d kernel_size,
                  const ConvTranspose2dArgs& args = {}, bool bias = true,
                  const SpectralNormOptions& spectral_norm = {});
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                  const ConvTranspose2dArgs& args = {}, bool bias = true,
                  const SpectralNormOptions& spectral_norm = {})
      : ConvTranspose2d(in_channels, out_channels, Pair2d{kernel_size, kernel_size}, args, bias,
                        spectral_norm) {}

  /// x [N, C_in, H, W] -> [N, C_out, H_out, W_out]
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t in_channels, out_channels;
  Pair2d kernel_size;
  ConvTranspose2dArgs args;
  Tensor weight;
  Tensor bias;
  SpectralNorm spectral_norm;
};

}  // namespace nova::nn
