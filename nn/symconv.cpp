// nn/symconv.cpp: SCNN's layers (see symconv.h).
#include "nn/symconv.h"

#include <cmath>

#include "core/factory.h"
#include "core/symconv.h"
#include "nn/init.h"

namespace nova::nn {

namespace {

void check_sizes(const char* layer, int64_t in, int64_t out, int64_t kernel, int64_t padding) {
  NOVA_CHECK(in > 0 && out > 0, "{}: channel counts must be > 0, got {} and {}", layer, in, out);
  NOVA_CHECK(kernel > 0, "{}: kernel_size must be > 0, got {}", layer, kernel);
  NOVA_CHECK(padding >= 0, "{}: padding must be >= 0, got {}", layer, padding);
}

/// weight [C(C+1)/2, in, out] half-Glorot, bias [out] as nn.Conv2d's, for a
/// full kernel of full_in input channels (see symconv.h).
void init_parameters(Module& m, int64_t in, int64_t full_in, int64_t out, int64_t kernel, bool with_bias,
                     Tensor& weight, Tensor& bias) {
  weight = m.register_parameter("weight", empty({kernel * (kernel + 1) / 2, in, out}));
  init::normal_(weight, 0.0, 1.0 / std::sqrt(2.0 * double(full_in + out)));
  if (with_bias) {
    const double bound = 1.0 / std::sqrt(double(full_in * kernel * kernel));
    bias = m.register_parameter("bias", empty({out}));
    init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

SymmetryGeneratingConv2d::SymmetryGeneratingConv2d(int64_t n, int64_t out, int64_t kernel, int64_t pad,
                                                   bool with_bias)
    : Module("SymmetryGeneratingConv2d"), features(n), out_channels(out), kernel_size(kernel), padding(pad) {
  check_sizes("SymmetryGeneratingConv2d", n, out, kernel, pad);
  init_parameters(*this, n, 2 * n, out, kernel, with_bias, weight, bias);
}

Tensor SymmetryGeneratingConv2d::forward(const Tensor& x) {
  return ops::sym_generating_conv2d(x, weight, bias, padding);
}

Tensor SymmetryGeneratingConv2d::full_weight() const { return ops::sym_generating_kernel(weight); }

std::string SymmetryGeneratingConv2d::extra_repr() const {
  return fmt::format("{}, {}, kernel_size={}, padding={}, bias={}", features, out_channels, kernel_size, padding,
                     bias.defined());
}

SymmetryPreservingConv2d::SymmetryPreservingConv2d(int64_t in, int64_t out, int64_t kernel, int64_t pad,
                                                   bool with_bias)
    : Module("SymmetryPreservingConv2d"), in_channels(in), out_channels(out), kernel_size(kernel), padding(pad) {
  check_sizes("SymmetryPreservingConv2d", in, out, kernel, pad);
  init_parameters(*this, in, in, out, kernel, with_bias, weight, bias);
}

Tensor SymmetryPreservingConv2d::forward(const Tensor& x) {
  return ops::sym_preserving_conv2d(x, weight, bias, padding);
}

Tensor SymmetryPreservingConv2d::full_weight() const { return ops::sym_preserving_kernel(weight); }

std::string SymmetryPreservingConv2d::extra_repr() const {
  return fmt::format("{}, {}, kernel_size={}, padding={}, bias={}", in_channels, out_channels, kernel_size, padding,
                     bias.defined());
}

Tensor SymmetricBatchNorm::forward(const Tensor& x) {
  NOVA_CHECK(x.defined() && x.dim() == 3 && x.size(1) == num_features,
             "SymmetricBatchNorm: expected packed input [N, {}, L(L+1)/2], got {}", num_features,
             x.defined() ? x.shape().str() : "an undefined tensor");
  return ops::sym_pack(BatchNorm::forward(ops::sym_unpack(x)));
}

void SymmetricBatchNorm::check_input(const Tensor& x) const {
  NOVA_CHECK(x.dim() == 4 && x.size(1) == num_features && x.size(2) == x.size(3),
             "SymmetricBatchNorm: expected the unpacked map [N, {}, L, L], got {}", num_features, x.shape().str());
}

}  // namespace nova::nn
