// nn/linear.h: Linear, the fully connected layer y = x W^T + b.
//   x [..., in_features] -> y [..., out_features]
//   weight [out_features, in_features], bias [out_features]
// Initialised as PyTorch does: kaiming_uniform_(weight, a = sqrt(5)), which
// works out to U(-1/sqrt(in), 1/sqrt(in)), and the bias from the same range.
// With spectral norm (nn/spectral_norm.h) the trained parameter is
// weight_orig, and weight is weight_orig / sigma, recomputed by each forward.
#pragma once

#include "nn/module.h"
#include "nn/spectral_norm.h"

namespace nova::nn {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true,
         const SpectralNormOptions& spectral_norm = {});

  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Tensor weight;  // the parameter; with spectral norm, the last forward's weight_orig / sigma
  Tensor bias;    // undefined when built with bias = false
  SpectralNorm spectral_norm;  // enabled() when built with spectral_norm.enabled
};

}  // namespace nova::nn
