// optim/adaptive_weighting.h: the adaptive weighted discriminator of the
// thesis (section 2.1, Algorithms 1 and 2, Theorems 2 and 3) as an optimizer
// wrapper.
//
// A discriminator loss is L_D = L_r + L_f (real part, fake part). Instead of
// the gradient of the sum, each step uses w_r g_r + w_f g_f, with weights
// chosen from the mean discriminator scores s_r, s_f and from the inner
// products of g_r and g_f, so that (to first order) the step does not
// decrease the loss part the current situation favours (the discriminator
// *ascends* its objective; in nova's minimisation convention the same rule
// keeps the step from increasing the favoured loss). The weights are plain
// numbers (no gradient flows through them); the combined gradient is written
// into the parameters' .grad and an inner optimizer (Adam with beta1 = 0,
// beta2 = 0.999, as the thesis's experiments) takes the step.
//
//   auto params = D.parameters();
//   optim::AdaptiveWeighting aw(params, optim::make_aw_inner_adam(params, 2e-4));
//   auto g = autograd::grad_split({loss.real, loss.fake}, params);
//   auto report = aw.step(g[0], g[1], s_r, s_f);   // report.case_id, w_r, angles
// or, in one call from the two loss parts (grad_split inside):
//   auto report = aw.step_losses(loss.real, loss.fake, s_r, s_f, split);
//
// The case table (Algorithm 1 lines 5-19, Algorithm 2 the same lines), in
// this order (THESIS-NOTES.md):
//   s_r < s_f - delta  or  s_r < alpha1   -> case 1 (<g_r,g_f> < 0) / case 2
//   s_r > s_f - delta  and s_r > alpha2   -> case 3 (<g_r,g_f> < 0) / case 4
//   otherwise                             -> case 5
// The weights of each case are in adaptive_weighting.cpp next to the lines
// they come from.
//
// Zero gradients: as in the authors' code, norm_guard (1e-4) is added to each
// squared norm before the square root, and that guarded value is used in
// every denominator, so a zero gradient gives finite weights. With
// norm_guard = 0 (only for exact theorem checks) a zero norm's reciprocal is
// taken as 0: weights stay finite, never NaN or Inf.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/grad_split.h"
#include "core/optim.h"
#include "core/tensor.h"
#include "optim/optimizer.h"

namespace nova::optim {

struct AdaptiveWeightingOptions {
  bool normalized = true;  // Algorithm 1 (true) or Algorithm 2 (false)
  double alpha1 = 0.5, alpha2 = 0.75, epsilon = 0.05, delta = 0.05;
  double norm_guard = 1e-4;  // added to each squared norm before the sqrt (authors' code)
};

/// What one step chose and how the update sits between g_r and g_f. The
/// angles are in degrees (Figure 2.4), computed from the same inner products
/// as the weights (no extra pass), with unguarded norms; an angle with a zero
/// vector is reported as 90 (a zero vector is orthogonal to everything). The
/// update is the aw part w_r g_r + w_f g_f (grad_extra not included).
struct AdaptiveWeightingReport {
  int case_id = 0;           // 1..5 as in the thesis
  double w_r = 1, w_f = 1;
  double angle_real_fake = 0, angle_update_real = 0, angle_update_fake = 0;  // degrees (Figure 2.4)
  double norm_real = 0, norm_fake = 0;  // ||g_r||, ||g_f|| (unguarded)
  // step_losses only: the grad_split path that computed g_r and g_f (fused
  // or reference), and why the fused one was not taken when the split was
  // automatic (empty otherwise)
  autograd::GradSplitMode grad_split = autograd::GradSplitMode::reference;
  std::string grad_split_reason;
};

/// The weights and report of Algorithm 1 (options.normalized) or 2 from the
/// three inner products d = {<g_r,g_r>, <g_f,g_f>, <g_r,g_f>} and the mean
/// scores: the whole decision of one step, without touching any tensor
/// (AdaptiveWeighting::step calls it; tests call it on exact values).
/// Throws nova::Error on non-finite s_r, s_f or inner products.
AdaptiveWeightingReport adaptive_weights(const ops::Dot3& d, double s_r, double s_f,
                                         const AdaptiveWeightingOptions& options);

/// The angle in degrees between vectors u and v from <u,v>, <u,u>, <v,v>
/// (cosine clamped to [-1, 1]; 90 when either is zero).
double angle_degrees(double uv, double uu, double vv);

/// A 1-D view covering the .grad of every parameter when those grads are one
/// dense range of one storage in parameter order (parameters of a
/// FlatParameters: the grad views of its buffer), so one kernel can write
/// them all; an undefined Tensor otherwise (a grad missing, non-contiguous,
/// on another storage or out of order). Empty parameters are skipped.
Tensor grads_as_one_range(const std::vector<Tensor>& params);

/// Writes wa a + wb b (+ wc c) into the .grad of params, where a, b, c are
/// flat 1-D vectors over all params (in order; c may be undefined). Grads
/// are overwritten, not accumulated: one weighted_sum_ over the single range
/// when grads_as_one_range finds one, else one per parameter (missing or
/// non-contiguous grads are replaced by fresh contiguous tensors; a grad in a
/// graph is detached first, as zero_grad does). Shared by AdaptiveWeighting
/// and SelfCorrecting; checks sizes, dtype and device.
void write_combined_grad(const char* op, const std::vector<Tensor>& params, const Tensor& a,
                         double wa, const Tensor& b, double wb, const Tensor& c = Tensor(),
                         double wc = 0.0);

/// The constructor checks AdaptiveWeighting and SelfCorrecting share: a
/// non-empty list of defined floating parameters of one dtype and device,
/// and an inner optimizer. Throws nova::Error naming `op`.
void check_weighted_setup(const char* op, const std::vector<Tensor>& params, const Optimizer* inner);

class AdaptiveWeighting {
 public:
  /// `inner` updates `params` (e.g. make_aw_inner_adam(params, lr)). params:
  /// the parameters the flat gradients are over, in that order (one floating
  /// dtype, one device). `inner` must step the same parameters (or a flat
  /// buffer whose .grad holds their grads). Throws nova::Error on an empty
  /// list, a null inner optimizer or bad options (epsilon, norm_guard < 0,
  /// non-finite thresholds).
  AdaptiveWeighting(std::vector<Tensor> params, std::unique_ptr<Optimizer> inner,
                    AdaptiveWeightingOptions options = {});
  /// grad_real/grad_fake: flat gradients over params (as grad_split returns); s_r, s_f: mean
  /// sigmoid(D) on real / fake. grad_extra (optional): added unweighted (regularisers, e.g. GP).
  /// Writes w_r g_r + w_f g_f (+ extra) into the params' .grad and calls inner->step().
  /// The inner products are one dot3 pass; the write is one weighted_sum_ pass
  /// (per parameter when the grads are not one range).
  AdaptiveWeightingReport step(const Tensor& grad_real, const Tensor& grad_fake, double s_r, double s_f,
                               const Tensor& grad_extra = Tensor());
  /// The same step from the two loss parts, in one call: g_r, g_f =
  /// autograd::grad_split({loss_real, loss_fake}, params(), split) (split.mode
  /// fused, reference or automatic; the report's grad_split says which path
  /// ran), plus the gradient of loss_extra over params() (optional: a
  /// regulariser such as lambda * gradient penalty, added unweighted, as
  /// grad_extra of step), then step(g_r, g_f, s_r, s_f, extra). Equal to
  /// making those calls yourself.
  AdaptiveWeightingReport step_losses(const Tensor& loss_real, const Tensor& loss_fake, double s_r,
                                      double s_f, const autograd::GradSplitOptions& split = {},
                                      const Tensor& loss_extra = Tensor());
  Optimizer& inner();
  const AdaptiveWeightingOptions& options() const { return options_; }
  const std::vector<Tensor>& params() const { return params_; }
  /// How many steps took each case: case_counts()[k] for case k = 1..5
  /// ([0] stays 0).
  const std::array<int64_t, 6>& case_counts() const { return case_counts_; }
  /// Steps taken.
  int64_t steps() const { return steps_; }
  /// The report of the last step (all defaults before the first).
  const AdaptiveWeightingReport& last_report() const { return last_; }

  /// What a resumed run needs: "steps" (I64 0-d), "case_counts" (I64 [6])
  /// and the inner optimizer's state_dict under "inner.". Each step's
  /// weights come from that step's gradients alone, so the counts only keep
  /// the report whole; last_report() is not saved (defaults until the next
  /// step). Options are not saved: build the object the same way.
  StateDict state_dict() const;
  /// Throws what load_state_dict would throw ("AdaptiveWeighting::load_state_dict: ..."),
  /// changing nothing.
  void check_state_dict(const StateDict& state) const;
  /// Restores the counts and the inner optimizer's state; all or nothing.
  void load_state_dict(const StateDict& state);

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<Optimizer> inner_;
  AdaptiveWeightingOptions options_;
  std::array<int64_t, 6> case_counts_{};
  int64_t steps_ = 0;
  AdaptiveWeightingReport last_;
};

/// Adam with the thesis's aw settings (beta1 = 0, beta2 = 0.999).
std::unique_ptr<Optimizer> make_aw_inner_adam(std::vector<Tensor> params, double lr);

}  // namespace nova::optim
