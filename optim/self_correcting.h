// optim/self_correcting.h: the self-correcting discriminator of the thesis
// (section 2.2, Algorithm 3, Theorem 4) as an optimizer wrapper.
//
// The discriminator loss has two terms (SC2: clean C and enhanced E, eq.
// 2.53) or three (SC3: plus the noisy term N, eq. 2.54). Each step weighs
// their flat gradients g_C, g_E (, g_N) by Algorithm 3, which reads only the
// signs of inner products, writes w_C g_C + w_E g_E (+ w_N g_N) into the
// parameters' .grad and lets an inner optimizer step:
//
//   optim::SelfCorrecting sc(params, optim::make_aw_inner_adam(params, lr));
//   auto g = autograd::grad_split({loss_c, loss_e, loss_n}, params);
//   auto report = sc.step(g[0], g[1], g[2]);   // report.obtuse_to_c, ...
//
// Algorithm 3 (papers/000_*.txt lines 1139-1160):
//   <g_C,g_E> > 0:  w_C = 1, w_E = 1                       (lines 2-3)
//   otherwise:      w_C = 1, w_E = -<g_C,g_E>/||g_E||^2     (line 10)
//   with g_N:  v = w_C g_C + w_E g_E;
//     <v,g_N> > 0:  w_N = 1                                 (lines 4-5, 11-12)
//     otherwise:    w_N = -<v,g_N>/||g_N||^2                (lines 7, 14)
//
// What it guarantees (THESIS-NOTES.md, checked by the tests): SC2's update is
// never obtuse to g_C nor g_E, and is at 90 degrees to g_E when w_E was
// corrected. SC3's update is never obtuse to g_N (90 degrees when w_N was
// corrected) but CAN be obtuse to g_C or g_E: the sentence before the
// algorithm (line 1136) claims more than the algorithm does. Those steps are
// flagged in the report and counted (counts()).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/optim.h"
#include "core/tensor.h"
#include "optim/optimizer.h"

namespace nova::optim {

struct SelfCorrectingOptions {
  /// Added to ||g_E||^2 and ||g_N||^2 in the correction denominators. The
  /// thesis has none (0, the default, is Algorithm 3 exactly); a zero
  /// gradient needs none either: its correction term is 0/0, taken as 0.
  double norm_guard = 0.0;
};

/// What one step chose and where the update u points. Angles in degrees from
/// the same inner products as the weights (90 with a zero vector); the _n
/// fields are 0 for SC2.
struct SelfCorrectingReport {
  bool three_terms = false;      // SC3 (g_N given) or SC2
  double w_c = 1, w_e = 1, w_n = 0;
  bool corrected_e = false;      // <g_C,g_E> <= 0: w_E from line 10
  bool corrected_n = false;      // SC3 and <w_C g_C + w_E g_E, g_N> <= 0: w_N from line 7/14
  double angle_c_e = 0, angle_c_n = 0, angle_e_n = 0;
  double angle_update_c = 0, angle_update_e = 0, angle_update_n = 0;
  /// The update is obtuse to g_C / g_E: cos(angle) < -kObtuseCos (beyond
  /// the rounding of the inner products). Never for SC2; it happens for SC3.
  bool obtuse_to_c = false, obtuse_to_e = false;
};

/// Cosine below which the report calls an angle obtuse.
constexpr double kObtuseCos = 1e-9;

/// How often each thing happened over all steps.
struct SelfCorrectingCounts {
  int64_t steps = 0, sc3_steps = 0;
  int64_t corrected_e = 0, corrected_n = 0;
  int64_t obtuse_to_c = 0, obtuse_to_e = 0;  // steps whose update was obtuse to g_C / g_E
};

/// Algorithm 3's weights and report from the inner products of g_C, g_E, g_N
/// (a = C, b = E, c = N; three_terms = false ignores cc, ac, bc). Touches no
/// tensor (SelfCorrecting::step calls it; tests call it on exact values).
/// Throws nova::Error on non-finite inner products.
SelfCorrectingReport self_correcting_weights(const ops::Dot6& d, bool three_terms,
                                             const SelfCorrectingOptions& options = {});

class SelfCorrecting {
 public:
  /// `inner` updates `params` (e.g. make_aw_inner_adam(params, lr)); params:
  /// the parameters the flat gradients are over, in that order (one floating
  /// dtype, one device).
  SelfCorrecting(std::vector<Tensor> params, std::unique_ptr<Optimizer> inner,
                 SelfCorrectingOptions options = {});
  /// g_c, g_e (, g_n for SC3): flat gradients over params (as grad_split
  /// returns). One dot3/dot6 pass for the inner products, one weighted_sum_
  /// into the params' .grad (overwritten), then inner->step().
  SelfCorrectingReport step(const Tensor& g_c, const Tensor& g_e, const Tensor& g_n = Tensor());
  Optimizer& inner();
  const SelfCorrectingOptions& options() const { return options_; }
  const SelfCorrectingCounts& counts() const { return counts_; }
  /// The report of the last step (all defaults before the first).
  const SelfCorrectingReport& last_report() const { return last_; }

  /// What a resumed run needs: the counts ("counts.steps", "counts.sc3_steps",
  /// "counts.corrected_e", "counts.corrected_n", "counts.obtuse_to_c",
  /// "counts.obtuse_to_e"; I64 0-d) and the inner optimizer's state_dict
  /// under "inner.". As for AdaptiveWeighting, the weights need no history:
  /// the counts keep the report whole; last_report() is not saved.
  StateDict state_dict() const;
  /// Throws what load_state_dict would throw ("SelfCorrecting::load_state_dict: ..."),
  /// changing nothing.
  void check_state_dict(const StateDict& state) const;
  /// Restores the counts and the inner optimizer's state; all or nothing.
  void load_state_dict(const StateDict& state);

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<Optimizer> inner_;
  SelfCorrectingOptions options_;
  SelfCorrectingCounts counts_;
  SelfCorrectingReport last_;
};

}  // namespace nova::optim
