// core/normalization.cpp: checks, dispatch and autograd for layer_norm and
// batch_norm. The forward is one fused CPU kernel; the backward is written
// with ops so that create_graph (gradient penalties) can differentiate it.
// One exception for speed: batch_norm with whole-batch statistics on the
// CPU, when no graph is recorded, runs the table below as one kernel
// (kernels/cpu/batch_norm_backward.h) that rounds as the ops do.
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
// Saved: x, weight, mu and rstd (shaped to broadcast against x), drawn by
// to_dot as "x, weight, mean, rstd". When the backward itself is recorded
// (create_graph), mu and rstd are recomputed from x with ops, so that second
// derivatives see their dependence on x.
//
// Per-group batch_norm (forward under RowGroupsGuard, core/grad_split.h): the
// rows of x are K contiguous groups and each group gets its own mu and var,
// exactly as if batch_norm ran on each group alone; mean_R above then means
// "over the rows of the row's group (and L)", formed with segment_sum and
// segment_repeat, so the backward stays made of ops.
//
// grad_split (core/grad_split.h), declared where each op records its node
// (node_options): the grouped rule sums dw and db per group of rows,
// dw_k = sum_P over group k's rows of g * xhat, [K, *param shape], and db_k
// likewise; dx is the ordinary one, formed in the same pass (it shares
// xhat). Row-locality: layer_norm is row-local when dim 0 is not
// normalised; batch_norm with running statistics is (it is affine per row),
// and so is per-group batch_norm for the groups of its forward (its grouped
// rule checks that grad_split uses the same ones); batch_norm with
// whole-batch statistics mixes all rows and is not (its hint says to use
// RowGroupsGuard).
#include "core/normalization.h"

#include <cmath>
#include <functional>
#include <optional>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/grad_split.h"
#include "core/reduce.h"
#include "core/segment.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/cpu/batch_norm_backward.h"
#include "kernels/normalization.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
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
  // per-group batch_norm: rows per group; mu and rstd are then per group,
  // [K, C, 1...], and counts [K, 1, 1...] holds each group's n_k * L
  std::vector<int64_t> groups;
  Tensor counts;
};

/// mean_R(t) shaped to broadcast against x: per statistic, or (per-group
/// batch_norm) per group of rows, repeated over the group's rows.
Tensor stat_mean(const Tensor& t, const NormStats& s) {
  if (s.groups.empty()) return mean(t, s.stat_dims, true);
  Tensor per_group = segment_sum(t, s.groups);  // [K, C, L...]
  std::vector<int64_t> rest;
  for (int d = 2; d < t.dim(); ++d) rest.push_back(d);
  if (!rest.empty()) per_group = sum(per_group, rest, true);  // [K, C, 1...]
  return segment_repeat(per_group / s.counts, s.groups);      // [N, C, 1...]
}

/// sum_P(t) into a parameter of param_shape.
Tensor sum_params(const Tensor& t, const NormStats& s) {
  Tensor r = s.param_dims.empty() ? t : sum(t, s.param_dims);
  return reshape(r, s.param_shape);
}

/// sum_P(t) with dim 0 summed per group of rows: [K, *param_shape]. (P
/// holds dim 0 whenever the node is row-local, the only case grad_split runs.)
Tensor sum_params_per_group(const Tensor& t, const NormStats& s, const std::vector<int64_t>& groups) {
  Tensor r = segment_sum(t, groups);  // dim 0 -> K
  std::vector<int64_t> rest;
  for (int64_t d : s.param_dims)
    if (d != 0) rest.push_back(d);
  if (!rest.empty()) r = sum(r, rest);
  Shape shape = s.param_shape;
  shape.insert(0, static_cast<int64_t>(groups.size()));
  return reshape(r, shape);
}

/// Gradients of y = xhat * w + b for inputs (x, weight, bias), see the
/// table; `sum_p` sums over P into a parameter (sum_params, or per group in
/// grad_split's grouped rule).
Grads normalize_backward(const BackwardCtx& c, const NormStats& s,
                         const std::function<Tensor(const Tensor&, const NormStats&)>& sum_p) {
  const Tensor& g = c.grad;
  Tensor mu = s.mu, rstd = s.rstd;
  if (s.batch_stats && autograd::is_grad_enabled() && s.x.requires_grad()) {
    mu = stat_mean(s.x, s);
    Tensor centred = s.x - mu;
    rstd = rsqrt(stat_mean(centred * centred, s) + s.eps);
  } else if (!s.groups.empty()) {
    mu = segment_repeat(mu, s.groups);  // [K, C, 1...] -> [N, C, 1...]
    rstd = segment_repeat(rstd, s.groups);
  }
  Tensor xhat = (s.x - mu) * rstd;
  Grads grads(3);
  if (c.needs(0)) {
    Tensor dxhat = s.weight_b.defined() ? g * s.weight_b : g;
    if (s.batch_stats) {
      grads[0] = rstd * (dxhat - stat_mean(dxhat, s) - xhat * stat_mean(dxhat * xhat, s));
    } else {
      grads[0] = dxhat * rstd;
    }
  }
  if (c.needs(1)) grads[1] = sum_p(g * xhat, s);
  if (c.needs(2)) grads[2] = sum_p(g, s);
  return grads;
}

/// batch_norm's backward with batch statistics as one CPU kernel
/// (kernels/cpu/batch_norm_backward.h, the same bits as normalize_backward's
/// ops) when no graph is recorded, the statistics are the whole batch's, and
/// x and the gradient are dense CPU tensors; nullopt otherwise (CUDA,
/// create_graph, per-group statistics: the ops).
std::optional<Grads> fused_batch_norm_backward(const BackwardCtx& c, const NormStats& s) {
  const Tensor& g = c.grad;
  const Tensor& x = s.x;
  if (!s.batch_stats || !s.groups.empty() || autograd::is_grad_enabled() || x.device().type != DeviceType::CPU ||
      g.device() != x.device() || g.dtype() != x.dtype() || g.shape() != x.shape() || !x.is_contiguous() ||
      !g.is_contiguous())
    return std::nullopt;
  const int64_t N = x.size(0), C = x.size(1), L = N * C > 0 ? x.numel() / (N * C) : 0;
  Grads grads(3);
  if (c.needs(0)) grads[0] = empty(x.shape(), x.dtype(), x.device());
  if (c.needs(1)) grads[1] = empty(s.param_shape, x.dtype(), x.device());
  if (c.needs(2)) grads[2] = empty(s.param_shape, x.dtype(), x.device());
  const Tensor xd = x.detach().view({N, C, L}), gd = g.view({N, C, L});
  const Tensor mu = s.mu.contiguous().view({C}), rstd = s.rstd.contiguous().view({C});
  const Tensor w = s.weight_b.defined() ? s.weight_b.detach().contiguous().view({C}) : Tensor();
  const Tensor gx = grads[0].defined() ? grads[0].view({N, C, L}) : Tensor();
  trace::KernelRun kernel_run("batch_norm_backward", {&xd, &gd, &mu, &rstd, &w}, {&gx, &grads[1], &grads[2]});
  cpu::batch_norm_backward(xd, gd, mu, rstd, w, gx, grads[1], grads[2]);
  kernel_run.finish();
  return grads;
}

/// grad_split's grouped rule (see the top): the same backward with dw and
/// db summed per group, [K, *param_shape]; dx is ordinary and shares xhat.
Grads normalize_grouped(const BackwardCtx& c, const NormStats& s, const std::vector<int64_t>& groups) {
  if (!s.groups.empty())
    NOVA_CHECK(groups == s.groups,
               "batch_norm: the forward used per-group statistics for groups of {} rows "
               "(RowGroupsGuard), but grad_split splits the batch into groups of {} rows; use the "
               "same group sizes for both",
               Shape(s.groups).str(), Shape(groups).str());
  auto per_group = [&](const Tensor& t, const NormStats&) { return sum_params_per_group(t, s, groups); };
  return normalize_backward(c, s, per_group);
}

/// What the node keeps (NodeOptions::saves, for the graph pictures): x, the
/// weight when there is one, the statistics, and per-group batch_norm's
/// element counts.
const char* saved_names(const NormStats& s) {
  if (s.counts.defined())
    return s.weight_b.defined() ? "x, weight, mean, rstd, group counts" : "x, mean, rstd, group counts";
  return s.weight_b.defined() ? "x, weight, mean, rstd" : "x, mean, rstd";
}

/// What layer_norm and batch_norm declare when they record their node: what
/// it saves, and for grad_split row-locality (with a hint for when it
/// fails) and the grouped rule for weight and bias.
NodeOptions node_options(const NormStats& s, bool row_local, const char* hint = nullptr) {
  auto rule = [s](const BackwardCtx& c, const std::vector<int64_t>& groups) {
    return normalize_grouped(c, s, groups);
  };
  return NodeOptions().row_local(row_local, hint).grouped({1, 2}, std::move(rule)).saves(saved_names(s));
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
  trace::KernelRun kernel_run(op, {&xc, &wc, &bc}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU:
      cpu::layer_norm_forward(xc, wc, bc, eps, y.view({rows, cols}), mu, rstd);
      break;
    case DeviceType::CUDA:
      cuda::layer_norm_forward(xc, wc, bc, eps, y.view({rows, cols}), mu, rstd);
      break;
  }
  kernel_run.finish();

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
    record(op, {x, weight, bias}, y, [s](const BackwardCtx& c) { return normalize_backward(c, s, sum_params); },
           node_options(s, lead >= 1));
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
  // under RowGroupsGuard batch statistics are taken per group of rows
  std::vector<int64_t> groups;
  std::vector<int64_t> offsets{0, N};  // one group: the whole batch
  if (use_batch_stats && autograd::current_row_groups()) {
    groups = *autograd::current_row_groups();
    offsets = segment_offsets(op, groups);
    NOVA_CHECK(offsets.back() == N,
               "batch_norm: the RowGroupsGuard groups {} add up to {} rows, but the input {} has {} rows",
               Shape(groups).str(), offsets.back(), x.shape().str(), N);
    for (size_t k = 0; k < groups.size(); ++k)
      NOVA_CHECK(groups[k] * L > 1,
                 "batch_norm: expected more than 1 value per channel in each RowGroupsGuard group, "
                 "group {} has {} rows of input {}", k, groups[k], x.shape().str());
  }
  const int64_t n_groups = static_cast<int64_t>(offsets.size()) - 1;

  Tensor xc = x.detach().contiguous().view({N, C, L});
  Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor mu, rstd;  // [n_groups, C] with batch statistics, else [C]
  {
    NoGradGuard no_grad;
    if (use_batch_stats) {
      mu = empty({n_groups, C}, x.dtype(), x.device());
      Tensor var = empty({n_groups, C}, x.dtype(), x.device());
      for (int64_t k = 0; k < n_groups; ++k) {
        Tensor xk = xc.narrow(0, offsets[k], offsets[k + 1] - offsets[k]);  // rows of group k
        trace::KernelRun kernel_run("batch_norm_stats", {&xk}, {});
        switch (x.device().type) {
          case DeviceType::CPU: cpu::batch_norm_stats(xk, mu.select(0, k), var.select(0, k)); break;
          case DeviceType::CUDA: cuda::batch_norm_stats(xk, mu.select(0, k), var.select(0, k)); break;
        }
        kernel_run.finish();
      }
      rstd = rsqrt(var + eps);
      if (training && running_mean.defined()) {
        Tensor rm = running_mean, rv = running_var;  // handles: the updates write through
        for (int64_t k = 0; k < n_groups; ++k) {     // once per group, in order
          const double n = double((offsets[k + 1] - offsets[k]) * L);
          rm.mul_(1.0 - momentum).add_(mu.select(0, k), momentum);
          rv.mul_(1.0 - momentum).add_(var.select(0, k) * (n / (n - 1.0)), momentum);
        }
      }
    } else {
      mu = running_mean.detach().contiguous();
      rstd = rsqrt(running_var.detach() + eps).contiguous();
    }
  }
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor yc = y.view({N, C, L});
  for (int64_t k = 0; k < n_groups; ++k) {
    const int64_t rows = offsets[k + 1] - offsets[k];
    Tensor xk = xc.narrow(0, offsets[k], rows), yk = yc.narrow(0, offsets[k], rows);
    Tensor mk = use_batch_stats ? mu.select(0, k) : mu, rk = use_batch_stats ? rstd.select(0, k) : rstd;
    trace::KernelRun kernel_run("batch_norm_apply", {&xk, &mk, &rk, &wc, &bc}, {&yk});
    switch (x.device().type) {
      case DeviceType::CPU: cpu::batch_norm_apply(xk, mk, rk, wc, bc, yk); break;
      case DeviceType::CUDA: cuda::batch_norm_apply(xk, mk, rk, wc, bc, yk); break;
    }
    kernel_run.finish();
  }

  if (autograd::any_requires_grad({&x, &weight, &bias})) {
    Shape bshape = Shape::filled(x.dim(), 1);  // [1, C, 1, ...]
    bshape[1] = C;
    NormStats s;
    s.x = x;
    s.weight_b = weight.defined() ? reshape(weight, bshape) : Tensor();
    if (groups.empty()) {
      s.mu = reshape(mu, bshape);
      s.rstd = reshape(rstd, bshape);
    } else {
      Shape gshape = bshape;  // [K, C, 1, ...]
      gshape[0] = n_groups;
      s.mu = reshape(mu, gshape);
      s.rstd = reshape(rstd, gshape);
      std::vector<double> counts;
      for (int64_t n : groups) counts.push_back(double(n * L));
      Shape cshape = Shape::filled(x.dim(), 1);  // [K, 1, 1, ...]
      cshape[0] = n_groups;
      s.counts = from_vector(counts, cshape, x.dtype(), x.device());
      s.groups = groups;
    }
    s.stat_dims.push_back(0);
    for (int d = 2; d < x.dim(); ++d) s.stat_dims.push_back(d);
    s.param_dims = s.stat_dims;
    s.param_shape = channels;
    s.eps = eps;
    s.batch_stats = use_batch_stats;
    // running statistics: affine per row; per-group statistics: rows meet only
    // inside their group, which is what grad_split needs (see the top)
    record(op, {x, weight, bias}, y,
           [s](const BackwardCtx& c) {
             if (std::optional<Grads> fused = fused_batch_norm_backward(c, s)) return *fused;
             return normalize_backward(c, s, sum_params);
           },
           node_options(s, !use_batch_stats || !s.groups.empty(),
                        "batch_norm with batch statistics mixes rows: run the forward under "
                        "RowGroupsGuard for per-group statistics"));
  }
  return y;
}

}  // namespace nova::ops
