// optim/adaptive_weighting.cpp: Algorithms 1 and 2 of the thesis (section
// 2.1, papers/000_*.txt lines 542-638) and the gradient write shared with
// SelfCorrecting. Line numbers below are the algorithms' own line numbers.
//
// Readings where the text leaves room (chosen to match the equations):
// - "||g_f||_2^2 ||g_r||_2" in lines 7/13 uses the guarded squared norm
//   <f,f> + norm_guard and the guarded norm sqrt(<r,r> + norm_guard), as the
//   authors' code; with norm_guard = 0 these are exactly Theorems 2 and 3.
// - epsilon is added to both weights in every case, as written (lines 7-18);
//   it moves the update off the exact 90 degrees of Theorems 2/3 by
//   epsilon (<g_r,g_f> + <g_f,g_f>) in <u,g_f> (case 1), and symmetrically in
//   case 3: the theorems hold for epsilon = 0.
// - Algorithm 2's listing misplaces its last "else" (lines 17-19 indented
//   under line 12's branch); the text says only the normalisation differs, so
//   its case structure is Algorithm 1's.
// - The inequalities are strict as written: s_r == alpha2, or
//   s_r == s_f - delta with s_r >= alpha1, falls through to case 5.
#include "optim/adaptive_weighting.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/autograd.h"
#include "core/factory.h"
#include "optim/flat_parameters.h"

namespace nova::optim {

namespace {

constexpr double kPi = 3.14159265358979323846;

/// 1/x, or 0 when x is 0 (only reachable with norm_guard = 0 and a zero
/// gradient, whose direction then contributes nothing anyway).
double safe_inv(double x) { return x > 0 ? 1.0 / x : 0.0; }

}  // namespace

double angle_degrees(double uv, double uu, double vv) {
  if (!(uu > 0) || !(vv > 0)) return 90.0;
  double c = uv / std::sqrt(uu * vv);
  c = std::min(1.0, std::max(-1.0, c));
  return std::acos(c) * 180.0 / kPi;
}

AdaptiveWeightingReport adaptive_weights(const ops::Dot3& d, double s_r, double s_f,
                                         const AdaptiveWeightingOptions& o) {
  const char* op = "AdaptiveWeighting";
  NOVA_CHECK(std::isfinite(s_r) && std::isfinite(s_f),
             "{}: mean scores must be finite, got s_r {} s_f {}", op, s_r, s_f);
  NOVA_CHECK(std::isfinite(d.aa) && std::isfinite(d.bb) && std::isfinite(d.ab),
             "{}: the gradients' inner products are not finite (<r,r> {}, <f,f> {}, <r,f> {}): "
             "a gradient holds NaN or Inf", op, d.aa, d.bb, d.ab);
  const double rr = d.aa, ff = d.bb, rf = d.ab;
  // guarded squared norms and norms (authors' code: + 1e-4 before the sqrt),
  // used in every denominator below
  const double rr_g = rr + o.norm_guard, ff_g = ff + o.norm_guard;
  const double nr = std::sqrt(rr_g), nf = std::sqrt(ff_g);
  const double eps = o.epsilon;
  // "angle > 90 degrees" is <g_r, g_f> < 0; at exactly 0 both branches give
  // the same weights (the correction term vanishes)
  const bool obtuse = rf < 0;

  AdaptiveWeightingReport rep;
  double w_r = 0, w_f = 0;
  if (s_r < s_f - o.delta || s_r < o.alpha1) {  // line 5: favour the real loss
    rep.case_id = obtuse ? 1 : 2;
    if (o.normalized) {
      if (obtuse) {
        // Alg. 1 line 7 (Theorem 2 case 2, eq. 2.19, proof 2.33-2.40): orthogonal to g_f
        w_r = safe_inv(nr) + eps;
        w_f = -rf * safe_inv(ff_g * nr) + eps;
      } else {
        // Alg. 1 line 9: along g_r
        w_r = safe_inv(nr) + eps;
        w_f = eps;
      }
    } else {
      if (obtuse) {
        // Alg. 2 line 7 (Theorem 3 case 1, eq. 2.42)
        w_r = 1 + eps;
        w_f = -rf * safe_inv(ff_g) + eps;
      } else {
        // Alg. 2 line 9
        w_r = 1 + eps;
        w_f = eps;
      }
    }
  } else if (s_r > s_f - o.delta && s_r > o.alpha2) {  // line 11: favour the fake loss
    rep.case_id = obtuse ? 3 : 4;
    if (o.normalized) {
      if (obtuse) {
        // Alg. 1 line 13 (Theorem 2 case 3, eq. 2.20, proof 2.41): orthogonal to g_r
        w_r = -rf * safe_inv(rr_g * nf) + eps;
        w_f = safe_inv(nf) + eps;
      } else {
        // Alg. 1 line 15: along g_f
        w_r = eps;
        w_f = safe_inv(nf) + eps;
      }
    } else {
      if (obtuse) {
        // Alg. 2 line 13 (Theorem 3 case 2, eq. 2.43)
        w_r = -rf * safe_inv(rr_g) + eps;
        w_f = 1 + eps;
      } else {
        // Alg. 2 line 15
        w_r = eps;
        w_f = 1 + eps;
      }
    }
  } else {  // line 17: both equally
    rep.case_id = 5;
    if (o.normalized) {
      // Alg. 1 line 18 (Theorem 2 case 1, eq. 2.18, proof 2.21-2.32): the bisector
      w_r = safe_inv(nr) + eps;
      w_f = safe_inv(nf) + eps;
    } else {
      // Alg. 2 line 18
      w_r = 1 + eps;
      w_f = 1 + eps;
    }
  }
  rep.w_r = w_r;
  rep.w_f = w_f;

  // Figure 2.4's angles from the same inner products: u = w_r g_r + w_f g_f,
  // <u,g_r> = w_r<r,r> + w_f<r,f>, <u,g_f> = w_r<r,f> + w_f<f,f>,
  // <u,u> = w_r^2<r,r> + 2 w_r w_f<r,f> + w_f^2<f,f> (>= 0 up to rounding)
  const double ur = w_r * rr + w_f * rf;
  const double uf = w_r * rf + w_f * ff;
  const double uu = std::max(0.0, w_r * w_r * rr + 2 * w_r * w_f * rf + w_f * w_f * ff);
  rep.angle_real_fake = angle_degrees(rf, rr, ff);
  rep.angle_update_real = angle_degrees(ur, uu, rr);
  rep.angle_update_fake = angle_degrees(uf, uu, ff);
  rep.norm_real = std::sqrt(std::max(0.0, rr));
  rep.norm_fake = std::sqrt(std::max(0.0, ff));
  return rep;
}

// ---- writing the combined gradient ----

Tensor grads_as_one_range(const std::vector<Tensor>& params) {
  Tensor first;  // the first non-empty grad: the range starts at its offset
  int64_t next = 0, total = 0;
  for (const Tensor& p : params) {
    if (p.numel() == 0) continue;
    Tensor g = p.grad();
    if (!g.defined() || !g.is_contiguous() || g.dtype() != p.dtype() ||
        g.shape() != p.shape() || g.requires_grad() || !g.is_leaf())
      return Tensor();
    if (!first.defined()) {
      first = g;
      next = g.offset();
    } else if (g.storage() != first.storage() || g.offset() != next) {
      return Tensor();
    }
    next += g.numel();
    total += g.numel();
  }
  if (!first.defined()) return Tensor();
  return first.storage_view(first.offset(), total);
}

void write_combined_grad(const char* op, const std::vector<Tensor>& params, const Tensor& a,
                         double wa, const Tensor& b, double wb, const Tensor& c, double wc) {
  int64_t total = 0;
  for (const Tensor& p : params) total += p.numel();
  const Tensor* flat[] = {&a, &b, &c};
  const char* names[] = {"first gradient", "second gradient", "third gradient"};
  for (int k = 0; k < 3; ++k) {
    const Tensor& t = *flat[k];
    if (k == 2 && !t.defined()) break;
    NOVA_CHECK(t.defined(), "{}: the {} is undefined", op, names[k]);
    NOVA_CHECK(t.dim() == 1 && t.numel() == total,
               "{}: the {} must be a flat 1-D vector of {} values (all parameters), got shape {}",
               op, names[k], total, t.shape().str());
    NOVA_CHECK(t.dtype() == params[0].dtype(), "{}: the {} is {}, the parameters are {}", op,
               names[k], dtype_name(t.dtype()), dtype_name(params[0].dtype()));
    NOVA_CHECK(t.device() == params[0].device(), "{}: the {} is on {}, the parameters on {}", op,
               names[k], t.device().str(), params[0].device().str());
  }
  NoGradGuard no_grad;
  if (Tensor range = grads_as_one_range(params); range.defined() && range.numel() == total) {
    ops::weighted_sum_(range, a, wa, b, wb, c, wc);
    return;
  }
  int64_t offset = 0;
  for (const Tensor& p : params) {
    const int64_t n = p.numel();
    Tensor g = p.grad();
    if (g.defined() && (g.requires_grad() || !g.is_leaf())) {
      g = g.detach();  // same memory, out of the graph
      p.set_grad(g);
    }
    if (!g.defined() || !g.is_contiguous() || g.shape() != p.shape() || g.dtype() != p.dtype() ||
        g.device() != p.device()) {
      g = empty(p.shape(), p.dtype(), p.device());
      p.set_grad(g);
    }
    auto piece = [&](const Tensor& t) {
      return t.defined() ? t.narrow(0, offset, n).view(p.shape()) : Tensor();
    };
    ops::weighted_sum_(g, piece(a), wa, piece(b), wb, piece(c), wc);
    offset += n;
  }
}

void check_weighted_setup(const char* op, const std::vector<Tensor>& params, const Optimizer* inner) {
  NOVA_CHECK(!params.empty(), "{}: got an empty parameter list", op);
  NOVA_CHECK(inner != nullptr, "{}: the inner optimizer is null", op);
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    NOVA_CHECK(p.defined() && p.is_floating_point(), "{}: parameter {} must be a defined floating tensor", op, i);
    NOVA_CHECK(p.dtype() == params[0].dtype() && p.device() == params[0].device(),
               "{}: all parameters need one dtype and device: parameter 0 is {} on {}, "
               "parameter {} is {} on {}", op, dtype_name(params[0].dtype()), params[0].device().str(), i,
               dtype_name(p.dtype()), p.device().str());
  }
}

// ---- AdaptiveWeighting ----

AdaptiveWeighting::AdaptiveWeighting(std::vector<Tensor> params, std::unique_ptr<Optimizer> inner,
                                     AdaptiveWeightingOptions options)
    : params_(std::move(params)), inner_(std::move(inner)), options_(options) {
  const char* op = "AdaptiveWeighting";
  check_weighted_setup(op, params_, inner_.get());
  const auto& o = options_;
  NOVA_CHECK(std::isfinite(o.alpha1) && std::isfinite(o.alpha2) && std::isfinite(o.delta),
             "{}: alpha1, alpha2 and delta must be finite, got {}, {}, {}", op, o.alpha1,
             o.alpha2, o.delta);
  NOVA_CHECK(std::isfinite(o.epsilon) && o.epsilon >= 0, "{}: epsilon must be >= 0, got {}", op,
             o.epsilon);
  NOVA_CHECK(std::isfinite(o.norm_guard) && o.norm_guard >= 0,
             "{}: norm_guard must be >= 0, got {}", op, o.norm_guard);
}

AdaptiveWeightingReport AdaptiveWeighting::step(const Tensor& grad_real, const Tensor& grad_fake,
                                                double s_r, double s_f,
                                                const Tensor& grad_extra) {
  const char* op = "AdaptiveWeighting::step";
  NOVA_CHECK(grad_real.defined() && grad_fake.defined(),
             "{}: grad_real and grad_fake must be defined", op);
  NOVA_CHECK(grad_real.shape() == grad_fake.shape(),
             "{}: grad_real has shape {}, grad_fake has shape {}", op, grad_real.shape().str(),
             grad_fake.shape().str());
  const ops::Dot3 d = ops::dot3(grad_real, grad_fake);  // one pass over both
  AdaptiveWeightingReport rep = adaptive_weights(d, s_r, s_f, options_);
  if (grad_extra.defined())
    write_combined_grad(op, params_, grad_real, rep.w_r, grad_fake, rep.w_f, grad_extra, 1.0);
  else
    write_combined_grad(op, params_, grad_real, rep.w_r, grad_fake, rep.w_f);
  inner_->step();
  ++case_counts_[size_t(rep.case_id)];
  ++steps_;
  last_ = rep;
  return rep;
}

AdaptiveWeightingReport AdaptiveWeighting::step_losses(const Tensor& loss_real, const Tensor& loss_fake,
                                                       double s_r, double s_f,
                                                       const autograd::GradSplitOptions& split,
                                                       const Tensor& loss_extra) {
  autograd::GradSplitResult g = autograd::grad_split_auto({loss_real, loss_fake}, params_, split);
  const Tensor extra = loss_extra.defined() ? flat_grad(loss_extra, params_) : Tensor();
  AdaptiveWeightingReport rep = step(g.grads[0], g.grads[1], s_r, s_f, extra);
  rep.grad_split = g.mode;
  rep.grad_split_reason = g.reason;
  last_ = rep;
  return rep;
}

Optimizer& AdaptiveWeighting::inner() { return *inner_; }

StateDict AdaptiveWeighting::state_dict() const {
  StateDict out;
  out.insert("steps", int64_scalar(steps_));
  out.insert("case_counts", from_vector(std::vector<int64_t>(case_counts_.begin(), case_counts_.end())));
  insert_prefixed(&out, "inner", inner_->state_dict());
  return out;
}

void AdaptiveWeighting::check_state_dict(const StateDict& state) const {
  const char* op = "AdaptiveWeighting::load_state_dict";
  NOVA_CHECK(read_int64(state, "steps", op) >= 0, "{}: 'steps' must be >= 0", op);
  read_int64_vector(state, "case_counts", int64_t(case_counts_.size()), op);
  check_wrapper_state(state, {"steps", "case_counts"}, *inner_, op);
}

void AdaptiveWeighting::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  const char* op = "AdaptiveWeighting::load_state_dict";
  inner_->load_state_dict(sub_state(state, "inner"));
  steps_ = read_int64(state, "steps", op);
  const std::vector<int64_t> counts = read_int64_vector(state, "case_counts", int64_t(case_counts_.size()), op);
  std::copy(counts.begin(), counts.end(), case_counts_.begin());
  last_ = AdaptiveWeightingReport();
}

std::unique_ptr<Optimizer> make_aw_inner_adam(std::vector<Tensor> params, double lr) {
  AdamOptions o;
  o.lr = lr;
  o.betas = {0.0, 0.999};
  return std::make_unique<Adam>(std::move(params), o);
}

}  // namespace nova::optim
