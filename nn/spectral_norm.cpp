// nn/spectral_norm.cpp: the power iteration and the normalised weight (see
// spectral_norm.h).
#include "nn/spectral_norm.h"

#include <cmath>
#include <utility>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/matmul.h"
#include "core/reduce.h"

namespace nova::nn {

namespace {

/// x / max(||x||, eps) for a vector x (F.normalize), on x's device: no
/// host read, so a CUDA forward does not wait for the GPU here.
Tensor normalize(const Tensor& x, double eps) {
  return x / ops::clamp(ops::norm(x, 2.0), eps, INFINITY);
}

/// W_mat v (or W_mat^T v when transposed) for a matrix and a vector.
Tensor matvec(const Tensor& w, const Tensor& v) {
  return ops::matmul(w, v.unsqueeze(1)).squeeze(1);
}

}  // namespace

SpectralNorm::SpectralNorm(Module& owner, const Tensor& initial_weight,
                           const SpectralNormOptions& opts, const char* what)
    : options(opts) {
  NOVA_CHECK(initial_weight.dim() >= 2, "{}: spectral norm needs a weight of at least 2 dims, got {}",
             what, initial_weight.shape().str());
  NOVA_CHECK(options.power_iterations >= 1,
             "{}: spectral norm needs power_iterations >= 1, got {}", what,
             options.power_iterations);
  NOVA_CHECK(options.dim == 0 || options.dim == 1, "{}: spectral norm dim must be 0 or 1, got {}",
             what, options.dim);
  weight_orig = owner.register_parameter("weight_orig", initial_weight);
  const Tensor m = matrix();
  NoGradGuard no_grad;
  u = owner.register_buffer("weight_u", normalize(randn({m.size(0)}, m.dtype()), options.eps));
  v = owner.register_buffer("weight_v", normalize(randn({m.size(1)}, m.dtype()), options.eps));
}

Tensor SpectralNorm::matrix() const {
  Tensor w = options.dim == 0 ? weight_orig : weight_orig.transpose(0, 1);
  return w.reshape({w.size(0), -1});
}

Tensor SpectralNorm::sigma() const {
  return ops::sum(u * matvec(matrix(), v));
}

Tensor SpectralNorm::weight(bool training) {
  if (training) {
    NoGradGuard no_grad;
    Tensor m = matrix().detach();
    Tensor nu = u, nv = v;
    for (int i = 0; i < options.power_iterations; ++i) {
      nv = normalize(matvec(m.transpose(0, 1), nu), options.eps);
      nu = normalize(matvec(m, nv), options.eps);
    }
    u.copy_(nu);
    v.copy_(nv);
  }
  return weight_orig / sigma();
}

}  // namespace nova::nn
