// nn/spectral_norm.h: spectral normalisation (Miyato et al. 2018) as a
// weight parametrisation, the way torch.nn.utils.spectral_norm does it:
//
//   W_mat = weight_orig viewed as [rows, cols]   (rows: the output dim)
//   training forward, no grad:  v = n(W_mat^T u),  u = n(W_mat v)   (repeated
//       power_iterations times; n(x) = x / max(||x||, eps)), written back
//       into the buffers weight_u, weight_v
//   sigma = u^T W_mat v,   weight = weight_orig / sigma
//
// u and v are constants to autograd (as in PyTorch), and sigma is made of
// ops, so the gradient through sigma is exact, to any order. In eval mode the
// stored u and v are used unchanged. The owning layer (Linear, Conv2d,
// ConvTranspose2d, Embedding) registers weight_orig instead of weight, and
// the buffers weight_u [rows] and weight_v [cols], PyTorch's names, so a
// state_dict maps one to one.
#pragma once

#include <cstdint>

#include "nn/module.h"

namespace nova::nn {

struct SpectralNormOptions {
  bool enabled = false;
  int power_iterations = 1;  // per training forward; >= 1
  double eps = 1e-12;        // floor of the norms in n(x)
  int64_t dim = 0;           // the weight's output dim: 0, or 1 for ConvTranspose2d
  /// The options with enabled set: SpectralNormOptions::on().
  static SpectralNormOptions on(int power_iterations = 1) {
    SpectralNormOptions o;
    o.enabled = true;
    o.power_iterations = power_iterations;
    return o;
  }
};

class SpectralNorm {
 public:
  SpectralNorm() = default;
  /// Registers on owner: parameter weight_orig (= initial_weight, which
  /// must be at least 2-D), buffers weight_u = n(N(0, 1) draw) [rows] and
  /// weight_v likewise [cols]. `what` names the layer in errors.
  SpectralNorm(Module& owner, const Tensor& initial_weight, const SpectralNormOptions& options,
               const char* what);

  bool enabled() const { return weight_orig.defined(); }
  /// weight_orig / sigma; in training first updates u and v (see the top).
  Tensor weight(bool training);
  /// sigma = u^T W_mat v with the current u and v (differentiable in W).
  Tensor sigma() const;

  Tensor weight_orig, u, v;
  SpectralNormOptions options;

 private:
  /// weight_orig as [rows, cols], the output dim first.
  Tensor matrix() const;
};

/// The tensor an optimizer trains for a layer's weight: weight_orig when the
/// layer has spectral norm, weight otherwise (for initialisers and tests).
template <typename Layer>
Tensor trained_weight(const Layer& layer) {
  return layer.spectral_norm.enabled() ? layer.spectral_norm.weight_orig : layer.weight;
}

}  // namespace nova::nn
