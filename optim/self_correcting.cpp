// optim/self_correcting.cpp: Algorithm 3 of the thesis (section 2.2,
// papers/000_*.txt lines 1139-1160), written as the listing reads: only the
// signs of inner products pick the branch ("it is enough to check the inner
// product's sign", line 1180), and the corrections are the projections of
// lines 7, 10 and 14.
//
// Readings: "angle < 90 degrees" is a strictly positive inner product, so an
// exactly orthogonal pair takes the correcting branch (whose correction is
// then 0: w_E = 0 in line 10, w_N = 0 in lines 7/14). Lines 7 and 14 are both
// -<w_C g_C + w_E g_E, g_N> / ||g_N||^2 with that branch's w_C, w_E (line 14
// expanded with w_E of line 10); the code uses that one form.
#include "optim/self_correcting.h"

#include <cmath>
#include <utility>

#include "optim/adaptive_weighting.h"

namespace nova::optim {

namespace {

/// num / den, or 0 when den is 0 (then num is 0 too, by Cauchy-Schwarz: the
/// projection on a zero vector is nothing).
double safe_div(double num, double den) { return den > 0 ? num / den : 0.0; }

}  // namespace

SelfCorrectingReport self_correcting_weights(const ops::Dot6& d, bool three,
                                             const SelfCorrectingOptions& o) {
  const double cc = d.aa, ee = d.bb, ce = d.ab;
  const double nn = three ? d.cc : 0, cn = three ? d.ac : 0, en = three ? d.bc : 0;
  NOVA_CHECK(std::isfinite(cc) && std::isfinite(ee) && std::isfinite(ce) && std::isfinite(nn) &&
                 std::isfinite(cn) && std::isfinite(en),
             "SelfCorrecting: the gradients' inner products are not finite (<C,C> {}, <E,E> {}, "
             "<C,E> {}, <N,N> {}, <C,N> {}, <E,N> {}): a gradient holds NaN or Inf",
             cc, ee, ce, nn, cn, en);
  SelfCorrectingReport rep;
  rep.three_terms = three;
  rep.w_c = 1;
  if (ce > 0) {  // line 2: angle(g_C, g_E) < 90
    rep.w_e = 1;  // line 3
  } else {
    rep.w_e = -safe_div(ce, ee + o.norm_guard);  // line 10
    rep.corrected_e = true;
  }
  if (three) {
    const double vn = rep.w_c * cn + rep.w_e * en;  // <w_C g_C + w_E g_E, g_N>
    if (vn > 0) {  // lines 4 / 11
      rep.w_n = 1;  // lines 5 / 12
    } else {
      rep.w_n = -safe_div(vn, nn + o.norm_guard);  // lines 7 / 14
      rep.corrected_n = true;
    }
  } else {
    rep.w_n = 0;
  }
  // the update u = w_C g_C + w_E g_E + w_N g_N, from the same inner products
  const double wc = rep.w_c, we = rep.w_e, wn = rep.w_n;
  const double uc = wc * cc + we * ce + wn * cn;
  const double ue = wc * ce + we * ee + wn * en;
  const double un = wc * cn + we * en + wn * nn;
  const double uu = std::max(0.0, wc * wc * cc + we * we * ee + wn * wn * nn +
                                      2 * (wc * we * ce + wc * wn * cn + we * wn * en));
  rep.angle_c_e = angle_degrees(ce, cc, ee);
  rep.angle_update_c = angle_degrees(uc, uu, cc);
  rep.angle_update_e = angle_degrees(ue, uu, ee);
  if (three) {
    rep.angle_c_n = angle_degrees(cn, cc, nn);
    rep.angle_e_n = angle_degrees(en, ee, nn);
    rep.angle_update_n = angle_degrees(un, uu, nn);
  }
  auto obtuse = [&](double ug, double gg) {
    return uu > 0 && gg > 0 && ug / std::sqrt(uu * gg) < -kObtuseCos;
  };
  rep.obtuse_to_c = obtuse(uc, cc);
  rep.obtuse_to_e = obtuse(ue, ee);
  return rep;
}

SelfCorrecting::SelfCorrecting(std::vector<Tensor> params, std::unique_ptr<Optimizer> inner,
                               SelfCorrectingOptions options)
    : params_(std::move(params)), inner_(std::move(inner)), options_(options) {
  const char* op = "SelfCorrecting";
  check_weighted_setup(op, params_, inner_.get());
  NOVA_CHECK(std::isfinite(options_.norm_guard) && options_.norm_guard >= 0,
             "{}: norm_guard must be >= 0, got {}", op, options_.norm_guard);
}

SelfCorrectingReport SelfCorrecting::step(const Tensor& g_c, const Tensor& g_e,
                                          const Tensor& g_n) {
  const char* op = "SelfCorrecting::step";
  NOVA_CHECK(g_c.defined() && g_e.defined(), "{}: g_c and g_e must be defined", op);
  const bool three = g_n.defined();
  ops::Dot6 d;
  if (three) {
    d = ops::dot6(g_c, g_e, g_n);  // one pass over the three
  } else {
    const ops::Dot3 d3 = ops::dot3(g_c, g_e);
    d.aa = d3.aa;
    d.bb = d3.bb;
    d.ab = d3.ab;
  }
  SelfCorrectingReport rep = self_correcting_weights(d, three, options_);
  write_combined_grad(op, params_, g_c, rep.w_c, g_e, rep.w_e, g_n, rep.w_n);
  inner_->step();
  ++counts_.steps;
  counts_.sc3_steps += three ? 1 : 0;
  counts_.corrected_e += rep.corrected_e ? 1 : 0;
  counts_.corrected_n += rep.corrected_n ? 1 : 0;
  counts_.obtuse_to_c += rep.obtuse_to_c ? 1 : 0;
  counts_.obtuse_to_e += rep.obtuse_to_e ? 1 : 0;
  last_ = rep;
  return rep;
}

Optimizer& SelfCorrecting::inner() { return *inner_; }

namespace {
/// The counts by the names state_dict stores them under.
std::vector<std::pair<const char*, int64_t SelfCorrectingCounts::*>> count_fields() {
  return {{"counts.steps", &SelfCorrectingCounts::steps},
          {"counts.sc3_steps", &SelfCorrectingCounts::sc3_steps},
          {"counts.corrected_e", &SelfCorrectingCounts::corrected_e},
          {"counts.corrected_n", &SelfCorrectingCounts::corrected_n},
          {"counts.obtuse_to_c", &SelfCorrectingCounts::obtuse_to_c},
          {"counts.obtuse_to_e", &SelfCorrectingCounts::obtuse_to_e}};
}
}  // namespace

StateDict SelfCorrecting::state_dict() const {
  StateDict out;
  for (const auto& [key, field] : count_fields()) out.insert(key, int64_scalar(counts_.*field));
  insert_prefixed(&out, "inner", inner_->state_dict());
  return out;
}

void SelfCorrecting::check_state_dict(const StateDict& state) const {
  const char* op = "SelfCorrecting::load_state_dict";
  std::vector<std::string> known;
  for (const auto& [key, field] : count_fields()) {
    (void)field;
    NOVA_CHECK(read_int64(state, key, op) >= 0, "{}: '{}' must be >= 0", op, key);
    known.push_back(key);
  }
  check_wrapper_state(state, known, *inner_, op);
}

void SelfCorrecting::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  inner_->load_state_dict(sub_state(state, "inner"));
  for (const auto& [key, field] : count_fields())
    counts_.*field = read_int64(state, key, "SelfCorrecting::load_state_dict");
  last_ = SelfCorrectingReport();
}

}  // namespace nova::optim
