// core/normalization.cpp: checks, dispatch and autograd for layer_norm and
// batch_norm. The forward is one fused CPU kernel; the backward is written
// with ops so that create_graph (gradient penalties) can differentiate it.
//
// Derivative table. R = the dims the statistics are taken over (layer_norm:
// the normalized trailing dims; batch_norm: every dim but 1), n = elements per
// statistic, P = the dims the parameters are shared across (layer_norm: the
// leading dims; batch_norm: R), g = incoming gradient, shaped like x:
//   xhat  = (x - mu) * rstd,   rstd = 1 / sqrt(var + eps)   (mu, var over R)
//   dxhat = g * w              (g when there is no weight)
//   x     dx = rstd * (dxhat - mean_R(dxhat) - xhat * mean_R(dxhat * xhat))
//            (batch statistics: mu and var depend on x), or
//         dx = dxhat * rstd     (batch_norm in eval: mu, var are constants)
//   w     dw = sum_P(g * xhat)  -> normalized_shape / [C]
//   b     db = sum_P(g)         -> normalized_shape / [C]
// Saved: x, weight, mu and rstd (shaped to broadcast against x). When the
// backward itself is recorded (create_graph), mu and rstd are recomputed from
// x with ops, so that second derivatives see their dependence on x.
#include "core/normalization.h"

#include <cmath>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/reduce.h"
#include "core/views.h"
#include "kernels/cpu/normalization.h"
#include "kernels/cuda/normalization.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::record;

namespace {

/// The saved statistics of one normalisation, and where they come from.
struct NormStats {
  Tensor x, weight_b;       // input and weight shaped to broadcast against x
  Tensor mu, rstd;          // broadcast against x (size 1 along R)
  std::vector<int64_t> stat_dims;   // R
  std::vector<int64_t> param_dims;  // P (empty: parameters have x's shape)
  Shape param_shape;
  double eps = 0;
  bool batch_stats = true;  // mu/rstd are functions of x (not running stats)
};

/// Gradients of y = xhat * w + b for inputs (x, weight, bias), see the table.
Grads normalize_backward(const BackwardCtx& c, const NormStats& s) {
  const Tensor& g = c.grad;
  Tensor mu = s.mu, rstd = s.rstd;
  if (s.batch_stats && autograd::is_grad_enabled() && s.x.requires_grad()) {
    mu = mean(s.x, s.stat_dims, true);
    Tensor centred = s.x - mu;
    rstd = rsqrt(mean(centred * centred, s.stat_dims, true) + s.eps);
  }
  Tensor xhat = (s.x - mu) * rstd;
  auto sum_params = [&](const Tensor& t) {
    Tensor r = s.param_dims.empty() ? t : sum(t, s.param_dims);
    return reshape(r, s.param_shape);
  };
  Grads grads(3);
  if (c.needs(0)) {
    Tensor dxhat = s.weight_b.defined() ? g * s.weight_b : g;
    if (s.batch_stats) {
      grads[0] = rstd * (dxhat - mean(dxhat, s.stat_dims, true) -
                         xhat * mean(dxhat * xhat, s.stat_dims, true));
    } else {
      grads[0] = dxhat * rstd;
    }
  }
  if (c.needs(1)) grads[1] = sum_params(g * xhat);
  if (c.needs(2)) grads[2] = sum_params(g);
  return grads;
}

/// Checks an optional per-feature parameter (weight, bias, running stat).
void check_param(const char* op, const char* what, const Tensor& p, const Tensor& x,
                 const Shape& expected) {
  if (!p.defined()) return;
  NOVA_CHECK(p.shape() == expected, "{}: {} must have shape {}, got {} (input {})", op, what,
             expected.str(), p.shape().str(), x.shape().str());
  check_same_dtype(op, x, p);
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  check_defined(op, x);
  check_floating(op, x);
  check_same_device(op, {&x, &weight, &bias});
  const int k = normalized_shape.size();
  bool trailing = k >= 1 && k <= x.dim();
  for (int i = 0; trailing && i < k; ++i)
    trailing = x.size(x.dim() - k + i) == normalized_shape[i];
  NOVA_CHECK(trailing, "layer_norm: normalized_shape {} must equal the last dims of the input {}",
             normalized_shape.str(), x.shape().str());
  check_param(op, "weight", weight, x, normalized_shape);
  check_param(op, "bias", bias, x, normalized_shape);

  const int lead = x.dim() - k;
  const int64_t cols = normalized_shape.numel();
  const int64_t rows = cols ? x.numel() / cols : 0;
  Shape stat_shape = x.shape();  // leading dims, then 1s: broadcasts against x
  for (int d = lead; d < x.dim(); ++d) stat_shape[d] = 1;

  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor mu = empty(stat_shape, x.dtype(), x.device());
  Tensor rstd = empty(stat_shape, x.dtype(), x.device());
  // detach(): the kernel only reads the data; a copy must not join the graph
  Tensor xc = x.detach().contiguous().view({rows, cols});
  Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  switch (x.device().type) {
    case DeviceType::CPU:
      cpu::layer_norm_forward(xc, wc, bc, eps, y.view({rows, cols}), mu, rstd);
      break;
    case DeviceType::CUDA:
      cuda::layer_norm_forward(xc, wc, bc, eps, y.view({rows, cols}), mu, rstd);
      break;
  }

  if (autograd::any_requires_grad({&x, &weight, &bias})) {
    NormStats s;
    s.x = x;
    s.weight_b = weight;
    s.mu = mu;
    s.rstd = rstd;
    for (int d = lead; d < x.dim(); ++d) s.stat_dims.push_back(d);
    for (int d = 0; d < lead; ++d) s.param_dims.push_back(d);
    s.param_shape = normalized_shape;
    s.eps = eps;
    record(op, {x, weight, bias}, y, [s](const BackwardCtx& c) { return normalize_backward(c, s); });
  }
  return y;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  const char* op = "batch_norm";
  check_defined(op, x);
  check_floating(op, x);
  NOVA_CHECK(x.dim() >= 2, "batch_norm: input must be [N, C] or [N, C, L...], got {}",
             x.shape().str());
  check_same_device(op, {&x, &running_mean, &running_var, &weight, &bias});
  NOVA_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: running_mean and running_var must both be given or both be undefined");
  const int64_t N = x.size(0), C = x.size(1);
  const int64_t L = N * C > 0 ? x.numel() / (N * C) : 0;
  const Shape channels{C};
  check_param(op, "weight", weight, x, channels);
  check_param(op, "bias", bias, x, channels);
  check_param(op, "running_mean", running_mean, x, channels);
  check_param(op, "running_var", running_var, x, channels);
  const bool use_batch_stats = training || !running_mean.defined();
  NOVA_CHECK(!use_batch_stats || N * L > 1,
             "batch_norm: expected more than 1 value per channel when training, got input {}",
             x.shape().str());

  Tensor xc = x.detach().contiguous().view({N, C, L});
  Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor mu, rstd;  // [C]
  {
    NoGradGuard no_grad;
    if (use_batch_stats) {
      mu = empty(channels, x.dtype(), x.device());
      Tensor var = empty(channels, x.dtype(), x.device());
      switch (x.device().type) {
        case DeviceType::CPU: cpu::batch_norm_stats(xc, mu, var); break;
        case DeviceType::CUDA: cuda::batch_norm_stats(xc, mu, var); break;
      }
      rstd = rsqrt(var + eps);
      if (training && running_mean.defined()) {
        const double n = double(N * L);
        Tensor rm = running_mean, rv = running_var;  // handles: the updates write through
        rm.mul_(1.0 - momentum).add_(mu, momentum);
        rv.mul_(1.0 - momentum).add_(var * (n / (n - 1.0)), momentum);
      }
    } else {
      mu = running_mean.detach().contiguous();
      rstd = rsqrt(running_var.detach() + eps).contiguous();
    }
  }
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  switch (x.device().type) {
    case DeviceType::CPU: cpu::batch_norm_apply(xc, mu, rstd, wc, bc, y.view({N, C, L})); break;
    case DeviceType::CUDA: cuda::batch_norm_apply(xc, mu, rstd, wc, bc, y.view({N, C, L})); break;
  }

  if (autograd::any_requires_grad({&x, &weight, &bias})) {
    Shape bshape = Shape::filled(x.dim(), 1);  // [1, C, 1, ...]
    bshape[1] = C;
    NormStats s;
    s.x = x;
    s.weight_b = weight.defined() ? reshape(weight, bshape) : Tensor();
    s.mu = reshape(mu, bshape);
    s.rstd = reshape(rstd, bshape);
    s.stat_dims.push_back(0);
    for (int d = 2; d < x.dim(); ++d) s.stat_dims.push_back(d);
    s.param_dims = s.stat_dims;
    s.param_shape = channels;
    s.eps = eps;
    s.batch_stats = use_batch_stats;
    record(op, {x, weight, bias}, y, [s](const BackwardCtx& c) { return normalize_backward(c, s); });
  }
  return y;
}

}  // namespace nova::ops
