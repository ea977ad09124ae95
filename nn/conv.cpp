// nn/conv.cpp: Conv2d and ConvTranspose2d (see conv.h).
#include "nn/conv.h"

#include <cmath>

#include "core/factory.h"
#include "nn/init.h"

namespace nova::nn {

namespace {

/// Checks the channel counts against groups and the kernel size, as PyTorch does.
void check_channels(const char* layer, int64_t in, int64_t out, Pair2d kernel, int64_t groups) {
  NOVA_CHECK(in > 0 && out > 0, "{}: channel counts must be > 0, got in_channels={}, out_channels={}",
             layer, in, out);
  NOVA_CHECK(kernel.h > 0 && kernel.w > 0, "{}: kernel_size must be > 0, got ({}, {})", layer, kernel.h,
             kernel.w);
  NOVA_CHECK(groups > 0 && in % groups == 0 && out % groups == 0,
             "{}: groups={} must divide in_channels={} and out_channels={}", layer, groups, in, out);
}

/// weight (kaiming_uniform_, a = sqrt(5)) and bias from U(-1/sqrt(fan_in), ..),
/// registered on `m` directly or through spectral norm.
void init_parameters(Module& m, const char* layer, const Shape& weight_shape, int64_t bias_size,
                     bool with_bias, const SpectralNormOptions& sn, int64_t sn_dim, Tensor& weight,
                     Tensor& bias, SpectralNorm& spectral_norm) {
  Tensor w = empty(weight_shape);
  init::kaiming_uniform_(w, std::sqrt(5.0));
  if (sn.enabled) {
    SpectralNormOptions options = sn;
    options.dim = sn_dim;
    spectral_norm = SpectralNorm(m, w, options, layer);
  } else {
    weight = m.register_parameter("weight", w);
  }
  if (with_bias) {
    const int64_t fan_in = init::calculate_fan_in_and_fan_out(w).first;
    const double bound = 1.0 / std::sqrt(double(fan_in));
    bias = m.register_parameter("bias", empty({bias_size}));
    init::uniform_(bias, -bound, bound);
  }
}

std::string pair_str(Pair2d p) { return fmt::format("({}, {})", p.h, p.w); }

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Pair2d kernel, const Conv2dArgs& a, bool with_bias,
               const SpectralNormOptions& sn)
    : Module("Conv2d"), in_channels(in), out_channels(out), kernel_size(kernel), args(a) {
  check_channels("Conv2d", in, out, kernel, a.group_count);
  init_parameters(*this, "Conv2d", {out, in / a.group_count, kernel.h, kernel.w}, out, with_bias, sn, 0,
                  weight, bias, spectral_norm);
}

Tensor Conv2d::forward(const Tensor& x) {
  if (spectral_norm.enabled()) weight = spectral_norm.weight(is_training());
  return ops::conv2d(x, weight, bias, args);
}

std::string Conv2d::extra_repr() const {
  std::string activation;
  if (args.activation_kind == ConvActivation::relu) activation = ", activation=relu";
  if (args.activation_kind == ConvActivation::leaky_relu)
    activation = fmt::format(", activation=leaky_relu({})", args.activation_slope);
  return fmt::format("{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={}{}{}",
                     in_channels, out_channels, pair_str(kernel_size), pair_str(args.stride_hw),
                     pair_str(args.padding_hw), pair_str(args.dilation_hw), args.group_count,
                     bias.defined(), spectral_norm.enabled() ? ", spectral_norm=true" : "", activation);
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, Pair2d kernel, const ConvTranspose2dArgs& a,
                                 bool with_bias, const SpectralNormOptions& sn)
    : Module("ConvTranspose2d"), in_channels(in), out_channels(out), kernel_size(kernel), args(a) {
  check_channels("ConvTranspose2d", in, out, kernel, a.group_count);
  init_parameters(*this, "ConvTranspose2d", {in, out / a.group_count, kernel.h, kernel.w}, out,
                  with_bias, sn, 1, weight, bias, spectral_norm);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  if (spectral_norm.enabled()) weight = spectral_norm.weight(is_training());
  return ops::conv_transpose2d(x, weight, bias, args);
}

std::string ConvTranspose2d::extra_repr() const {
  return fmt::format(
      "{}, {}, kernel_size={}, stride={}, padding={}, output_padding={}, dilation={}, groups={}, bias={}{}",
      in_channels, out_channels, pair_str(kernel_size), pair_str(args.stride_hw), pair_str(args.padding_hw),
      pair_str(args.output_padding_hw), pair_str(args.dilation_hw), args.group_count, bias.defined(),
      spectral_norm.enabled() ? ", spectral_norm=true" : "");
}

}  // namespace nova::nn
