// tests/test_adaptive_weighting.cpp: the optimizer-internal ops dot3, dot6
// and weighted_sum_ (core/optim.h) against float64 references.
#include <cmath>
#include <random>
#include <vector>

#include "core/optim.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Inner product of two host vectors in long double (the reference).
double ref_dot(const std::vector<double>& a, const std::vector<double>& b) {
  long double acc = 0;
  for (size_t i = 0; i < a.size(); ++i) acc += (long double)a[i] * (long double)b[i];
  return double(acc);
}

/// sum |a_i b_i|: the scale that bounds the rounding of a double-accumulated dot.
double abs_dot(const std::vector<double>& a, const std::vector<double>& b) {
  double acc = 0;
  for (size_t i = 0; i < a.size(); ++i) acc += std::abs(a[i] * b[i]);
  return acc;
}

/// |got - want| within `rel` of the sum of |products| (what double accumulation guarantees).
void require_dot(double got, const std::vector<double>& a, const std::vector<double>& b,
                 double rel) {
  const double want = ref_dot(a, b);
  INFO("got " << got << " want " << want);
  REQUIRE(std::abs(got - want) <= rel * abs_dot(a, b) + 1e-300);
}

const std::vector<int64_t> kSizes = {0, 1, 7, 1000, 100003};

}  // namespace

TEST_CASE("dot3 gives <a,a>, <b,b>, <a,b> of float64 and float32 vectors", "[optim][aw]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    for (int64_t n : kSizes) {
      INFO(dtype_name(dtype) << " n " << n);
      Tensor a = uniform({n}, -1.0, 1.0, dtype), b = uniform({n}, -2.0, 0.5, dtype);
      auto va = values(a), vb = values(b);
      ops::Dot3 d = ops::dot3(a, b);
      // products of float32 values are exact in double, so both dtypes meet
      // the double-accumulation bound
      require_dot(d.aa, va, va, 1e-13);
      require_dot(d.bb, vb, vb, 1e-13);
      require_dot(d.ab, va, vb, 1e-13);
      if (n == 0) REQUIRE((d.aa == 0 && d.bb == 0 && d.ab == 0));
    }
  }
}

TEST_CASE("dot3 is deterministic and reads non-contiguous inputs", "[optim][aw]") {
  Tensor a = randn({200003}, kFloat64), b = randn({200003}, kFloat64);
  ops::Dot3 d1 = ops::dot3(a, b), d2 = ops::dot3(a, b);
  REQUIRE(d1.aa == d2.aa);
  REQUIRE(d1.bb == d2.bb);
  REQUIRE(d1.ab == d2.ab);
  // a transposed 2-D pair: the same products as their contiguous copies
  Tensor m = randn({5, 3}, kFloat64), k = randn({5, 3}, kFloat64);
  ops::Dot3 t = ops::dot3(m.t(), k.t());
  require_dot(t.ab, values(m), values(k), 1e-14);
  require_dot(t.aa, values(m), values(m), 1e-14);
}

TEST_CASE("dot6 gives the six inner products of three vectors", "[optim][aw]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    for (int64_t n : kSizes) {
      INFO(dtype_name(dtype) << " n " << n);
      Tensor a = uniform({n}, -1.0, 1.0, dtype), b = uniform({n}, -2.0, 0.5, dtype);
      Tensor c = uniform({n}, -0.5, 3.0, dtype);
      auto va = values(a), vb = values(b), vc = values(c);
      ops::Dot6 d = ops::dot6(a, b, c);
      require_dot(d.aa, va, va, 1e-13);
      require_dot(d.bb, vb, vb, 1e-13);
      require_dot(d.cc, vc, vc, 1e-13);
      require_dot(d.ab, va, vb, 1e-13);
      require_dot(d.ac, va, vc, 1e-13);
      require_dot(d.bc, vb, vc, 1e-13);
    }
  }
}

TEST_CASE("dot3/dot6 refuse mismatched operands", "[optim][aw]") {
  Tensor a = zeros({4}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::dot3(a, zeros({5}, kFloat64)), "shape");
  REQUIRE_THROWS_NOVA(ops::dot3(a, zeros({4}, kFloat32)), "float32");
  REQUIRE_THROWS_NOVA(ops::dot3(a, Tensor()), "undefined");
  REQUIRE_THROWS_NOVA(ops::dot6(a, a, zeros({4}, kInt64)), "floating");
}

TEST_CASE("weighted_sum_ writes wa a + wb b (+ wc c) in one pass", "[optim][aw]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    for (int64_t n : kSizes) {
      INFO(dtype_name(dtype) << " n " << n);
      Tensor a = uniform({n}, -1.0, 1.0, dtype), b = uniform({n}, -1.0, 1.0, dtype);
      Tensor c = uniform({n}, -1.0, 1.0, dtype);
      auto va = values(a), vb = values(b), vc = values(c);
      const double wa = 0.75, wb = -1.3, wc = 2.5;
      Tensor out2 = full({n}, 9.0, dtype), out3 = full({n}, 9.0, dtype);
      ops::weighted_sum_(out2, a, wa, b, wb);
      ops::weighted_sum_(out3, a, wa, b, wb, c, wc);
      auto o2 = values(out2), o3 = values(out3);
      // one rounding to the output dtype
      const double tol = dtype == kFloat64 ? 1e-15 : 1e-6;
      double worst = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double w2 = wa * va[i] + wb * vb[i];
        const double w3 = w2 + wc * vc[i];
        worst = std::max(worst, std::abs(o2[i] - w2) / std::max(1.0, std::abs(w2)));
        worst = std::max(worst, std::abs(o3[i] - w3) / std::max(1.0, std::abs(w3)));
      }
      REQUIRE(worst <= tol);
    }
  }
}

TEST_CASE("weighted_sum_ may write into one of its inputs; views and checks", "[optim][aw]") {
  Tensor a = from_vector({1.0, 2.0, 3.0}, {3}, kFloat64);
  Tensor b = from_vector({10.0, 20.0, 30.0}, {3}, kFloat64);
  ops::weighted_sum_(a, a, 2.0, b, 0.5);
  REQUIRE(values(a) == std::vector<double>({7.0, 14.0, 21.0}));
  // a view of a larger buffer (the FlatParameters case): only its range changes
  Tensor buf = zeros({6}, kFloat64);
  ops::weighted_sum_(buf.narrow(0, 2, 3), a, 1.0, b, -1.0);
  REQUIRE(values(buf) == std::vector<double>({0, 0, -3.0, -6.0, -9.0, 0}));
  // non-contiguous inputs are read correctly
  Tensor m = from_vector({1.0, 2.0, 3.0, 4.0}, {2, 2}, kFloat64);
  Tensor out = zeros({2, 2}, kFloat64);
  ops::weighted_sum_(out, m.t(), 1.0, m, 0.0);
  REQUIRE(values(out) == std::vector<double>({1.0, 3.0, 2.0, 4.0}));
  REQUIRE_THROWS_NOVA(ops::weighted_sum_(out.t(), m, 1.0, m, 1.0), "contiguous");
  REQUIRE_THROWS_NOVA(ops::weighted_sum_(out, m, 1.0, zeros({4}, kFloat64), 1.0), "shape");
  REQUIRE_THROWS_NOVA(ops::weighted_sum_(out, m, NAN, m, 1.0), "finite");
  Tensor leaf_param = zeros({2, 2}, kFloat64).requires_grad_();
  REQUIRE_THROWS_NOVA(ops::weighted_sum_(leaf_param, m, 1.0, m, 1.0), "autograd");
  {
    NoGradGuard no_grad;
    ops::weighted_sum_(leaf_param, m, 1.0, m, 1.0);
  }
  REQUIRE(values(leaf_param) == std::vector<double>({2.0, 4.0, 6.0, 8.0}));
}

// ===========================================================================
// AdaptiveWeighting (Algorithms 1 and 2; Theorems 2 and 3)
// ===========================================================================

#include "optim/adaptive_weighting.h"
#include "optim/flat_parameters.h"

namespace {

using Vec = std::vector<double>;
constexpr double kPi = 3.14159265358979323846;

long double ldot(const Vec& a, const Vec& b) {
  long double acc = 0;
  for (size_t i = 0; i < a.size(); ++i) acc += (long double)a[i] * (long double)b[i];
  return acc;
}

/// cos of the angle between u and v, computed directly from the vectors.
double direct_cos(const Vec& u, const Vec& v) {
  return double(ldot(u, v) / std::sqrt(ldot(u, u) * ldot(v, v)));
}

/// The angle in degrees between u and v, computed directly from the vectors.
double direct_angle(const Vec& u, const Vec& v) {
  double c = std::max(-1.0, std::min(1.0, direct_cos(u, v)));
  return std::acos(c) * 180.0 / kPi;
}

Vec combine(double wr, const Vec& r, double wf, const Vec& f) {
  Vec u(r.size());
  for (size_t i = 0; i < r.size(); ++i) u[i] = wr * r[i] + wf * f[i];
  return u;
}

Tensor tensor_of(const Vec& v) { return from_vector(v, {int64_t(v.size())}, kFloat64); }

/// Random gradient pairs: dimension 2..12, entries N(0,1) times a scale
/// 10^U(-3, 3) per vector, and the sign of <r,f> as asked.
struct PairSource {
  std::mt19937_64 rng;
  double min_exponent, max_exponent;
  explicit PairSource(uint64_t seed, double min_exp = -3, double max_exp = 3)
      : rng(seed), min_exponent(min_exp), max_exponent(max_exp) {}

  Vec vec(size_t n) {
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> expo(min_exponent, max_exponent);
    const double scale = std::pow(10.0, expo(rng));
    Vec v(n);
    for (double& x : v) x = scale * normal(rng);
    return v;
  }
  /// obtuse: <r,f> < 0; else > 0.
  std::pair<Vec, Vec> pair(bool obtuse) {
    std::uniform_int_distribution<size_t> dim(2, 12);
    const size_t n = dim(rng);
    Vec r = vec(n), f = vec(n);
    if ((ldot(r, f) < 0) != obtuse)
      for (double& x : f) x = -x;
    return {r, f};
  }
};

/// Mean scores that select each case group under the default thresholds.
struct Scores {
  double s_r, s_f;
};
constexpr Scores kFavourReal{0.3, 0.6};   // cases 1/2 (s_r < alpha1)
constexpr Scores kFavourFake{0.9, 0.2};   // cases 3/4 (s_r > alpha2, s_r > s_f - delta)
constexpr Scores kBoth{0.6, 0.4};         // case 5

optim::AdaptiveWeightingOptions exact_options(bool normalized) {
  optim::AdaptiveWeightingOptions o;
  o.normalized = normalized;
  o.epsilon = 0;
  o.norm_guard = 0;
  return o;
}

constexpr int kDraws = 1000;

/// The report's angles equal the angles computed from the update vector
/// (to 1e-5 degrees: near 0 and 180 degrees acos turns a cosine rounded at
/// 1e-16 into an angle error of about sqrt(2e-16) rad = 1e-6 degrees).
void require_report_angles(const optim::AdaptiveWeightingReport& rep, const Vec& r, const Vec& f) {
  Vec u = combine(rep.w_r, r, rep.w_f, f);
  REQUIRE(std::abs(rep.angle_real_fake - direct_angle(r, f)) <= 1e-5);
  REQUIRE(std::abs(rep.angle_update_real - direct_angle(u, r)) <= 1e-5);
  REQUIRE(std::abs(rep.angle_update_fake - direct_angle(u, f)) <= 1e-5);
  REQUIRE(std::abs(rep.norm_real - std::sqrt(double(ldot(r, r)))) <= 1e-12 * rep.norm_real);
  REQUIRE(std::abs(rep.norm_fake - std::sqrt(double(ldot(f, f)))) <= 1e-12 * rep.norm_fake);
}

}  // namespace

TEST_CASE("Algorithm 1, epsilon 0: cases 1 and 3 are at 90 degrees (Theorem 2 cases 2, 3)",
          "[optim][aw]") {
  PairSource src(1);
  const auto o = exact_options(true);
  for (int i = 0; i < kDraws; ++i) {
    auto [r, f] = src.pair(true);
    const double rr = double(ldot(r, r)), ff = double(ldot(f, f)), rf = double(ldot(r, f));
    // case 1 (line 7): w_r = 1/|r|, w_f = -<r,f>/(|f|^2 |r|)
    auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r,
                                       kFavourReal.s_f, o);
    REQUIRE(rep.case_id == 1);
    REQUIRE(rep.w_r == Approx(1 / std::sqrt(rr)).epsilon(1e-12));
    REQUIRE(rep.w_f == Approx(-rf / (ff * std::sqrt(rr))).epsilon(1e-12));
    Vec u = combine(rep.w_r, r, rep.w_f, f);
    REQUIRE(std::abs(direct_angle(u, f) - 90.0) <= 1e-9);
    REQUIRE(direct_angle(u, r) <= 90.0 + 1e-9);
    require_report_angles(rep, r, f);
    REQUIRE(std::abs(rep.angle_update_fake - 90.0) <= 1e-9);
    // case 3 (line 13): w_r = -<r,f>/(|r|^2 |f|), w_f = 1/|f|
    rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourFake.s_r,
                                  kFavourFake.s_f, o);
    REQUIRE(rep.case_id == 3);
    REQUIRE(rep.w_r == Approx(-rf / (rr * std::sqrt(ff))).epsilon(1e-12));
    REQUIRE(rep.w_f == Approx(1 / std::sqrt(ff)).epsilon(1e-12));
    u = combine(rep.w_r, r, rep.w_f, f);
    REQUIRE(std::abs(direct_angle(u, r) - 90.0) <= 1e-9);
    REQUIRE(direct_angle(u, f) <= 90.0 + 1e-9);
    require_report_angles(rep, r, f);
    REQUIRE(std::abs(rep.angle_update_real - 90.0) <= 1e-9);
  }
}

TEST_CASE("Algorithm 1, epsilon 0: cases 2 and 4 follow one gradient, both angles <= 90",
          "[optim][aw]") {
  PairSource src(2);
  const auto o = exact_options(true);
  for (int i = 0; i < kDraws; ++i) {
    auto [r, f] = src.pair(false);
    const double rr = double(ldot(r, r)), ff = double(ldot(f, f));
    auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r,
                                       kFavourReal.s_f, o);
    REQUIRE(rep.case_id == 2);  // line 9: w_r = 1/|r|, w_f = 0
    REQUIRE(rep.w_r == Approx(1 / std::sqrt(rr)).epsilon(1e-12));
    REQUIRE(rep.w_f == 0.0);
    Vec u = combine(rep.w_r, r, rep.w_f, f);
    REQUIRE(direct_cos(u, r) == Approx(1.0).epsilon(1e-12));
    REQUIRE(direct_angle(u, f) <= 90.0);
    require_report_angles(rep, r, f);
    rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourFake.s_r,
                                  kFavourFake.s_f, o);
    REQUIRE(rep.case_id == 4);  // line 15: w_r = 0, w_f = 1/|f|
    REQUIRE(rep.w_r == 0.0);
    REQUIRE(rep.w_f == Approx(1 / std::sqrt(ff)).epsilon(1e-12));
    u = combine(rep.w_r, r, rep.w_f, f);
    REQUIRE(direct_cos(u, f) == Approx(1.0).epsilon(1e-12));
    REQUIRE(direct_angle(u, r) <= 90.0);
    require_report_angles(rep, r, f);
  }
}

TEST_CASE("Algorithm 1, epsilon 0: case 5 is the angle bisector (Theorem 2 case 1, eq. 2.18)",
          "[optim][aw]") {
  PairSource src(3);
  const auto o = exact_options(true);
  for (int i = 0; i < 2 * kDraws; ++i) {
    auto [r, f] = src.pair(i % 2 == 0);
    auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kBoth.s_r,
                                       kBoth.s_f, o);
    REQUIRE(rep.case_id == 5);
    REQUIRE(rep.w_r == Approx(1 / std::sqrt(double(ldot(r, r)))).epsilon(1e-12));
    REQUIRE(rep.w_f == Approx(1 / std::sqrt(double(ldot(f, f)))).epsilon(1e-12));
    Vec u = combine(rep.w_r, r, rep.w_f, f);
    // angle(u, r) = angle(u, f) = angle(r, f) / 2, compared as cosines (eq. 2.32)
    const double half = std::cos(std::acos(direct_cos(r, f)) / 2);
    REQUIRE(std::abs(direct_cos(u, r) - half) <= 1e-10);
    REQUIRE(std::abs(direct_cos(u, f) - half) <= 1e-10);
    REQUIRE(direct_angle(u, r) <= 90.0);
    REQUIRE(direct_angle(u, f) <= 90.0);
    require_report_angles(rep, r, f);
  }
}

TEST_CASE("Algorithm 2, epsilon 0: Theorem 3's angles in cases 1-4, weights of case 5",
          "[optim][aw]") {
  PairSource src(4);
  const auto o = exact_options(false);
  for (int i = 0; i < kDraws; ++i) {
    {
      auto [r, f] = src.pair(true);
      const double rr = double(ldot(r, r)), ff = double(ldot(f, f)), rf = double(ldot(r, f));
      // case 1 (line 7): w_r = 1, w_f = -<r,f>/|f|^2  (eq. 2.42)
      auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r,
                                         kFavourReal.s_f, o);
      REQUIRE(rep.case_id == 1);
      REQUIRE(rep.w_r == 1.0);
      REQUIRE(rep.w_f == Approx(-rf / ff).epsilon(1e-12));
      Vec u = combine(rep.w_r, r, rep.w_f, f);
      REQUIRE(std::abs(direct_angle(u, f) - 90.0) <= 1e-9);
      REQUIRE(direct_angle(u, r) <= 90.0 + 1e-9);
      require_report_angles(rep, r, f);
      // case 3 (line 13): w_r = -<r,f>/|r|^2, w_f = 1  (eq. 2.43)
      rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourFake.s_r,
                                    kFavourFake.s_f, o);
      REQUIRE(rep.case_id == 3);
      REQUIRE(rep.w_r == Approx(-rf / rr).epsilon(1e-12));
      REQUIRE(rep.w_f == 1.0);
      u = combine(rep.w_r, r, rep.w_f, f);
      REQUIRE(std::abs(direct_angle(u, r) - 90.0) <= 1e-9);
      REQUIRE(direct_angle(u, f) <= 90.0 + 1e-9);
      require_report_angles(rep, r, f);
      // case 5 (line 18): w_r = w_f = 1, no angle guarantee
      rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kBoth.s_r, kBoth.s_f, o);
      REQUIRE(rep.case_id == 5);
      REQUIRE((rep.w_r == 1.0 && rep.w_f == 1.0));
      require_report_angles(rep, r, f);
    }
    {
      auto [r, f] = src.pair(false);
      auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r,
                                         kFavourReal.s_f, o);
      REQUIRE(rep.case_id == 2);  // line 9: u = g_r
      REQUIRE((rep.w_r == 1.0 && rep.w_f == 0.0));
      REQUIRE(rep.angle_update_fake <= 90.0);
      require_report_angles(rep, r, f);
      rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourFake.s_r,
                                    kFavourFake.s_f, o);
      REQUIRE(rep.case_id == 4);  // line 15: u = g_f
      REQUIRE((rep.w_r == 0.0 && rep.w_f == 1.0));
      REQUIRE(rep.angle_update_real <= 90.0);
      require_report_angles(rep, r, f);
    }
  }
}

// The default norm guard (1e-4 added to each squared norm, as the authors'
// code) moves a weight by a factor sqrt(|g|^2 / (|g|^2 + 1e-4)): nothing at
// |g| >= 1, half the weight at |g| = 1e-2. The theorems above are checked
// with the guard at 0; the next three check what they promise (Theorem 2:
// cases 1, 3, 5, then 2 and 4; Theorem 3: every case) with the default guard
// where it should not matter, and the last shows where it does.

namespace {

/// Whether the default guard should not matter for (r, f): both squared
/// norms >= 10, and r, f more than 8 degrees from (anti)parallel. Why: an
/// update made orthogonal to g (cases 1 and 3 of either algorithm) has
/// <u, g> = <r, f> guard / (|g|^2 + guard), which tilts it off 90 degrees by
/// cot(angle(r, f)) guard / (|g|^2 + guard) rad: at most 7 * 1e-5 rad =
/// 0.004 degrees here (0.04 at |g|^2 = 1, which some draws reach). The
/// bisector (Algorithm 1 case 5) moves by about guard / (2 |g|^2) rad.
bool guard_negligible(const Vec& r, const Vec& f) {
  return std::min(ldot(r, r), ldot(f, f)) >= 10 && std::abs(direct_cos(r, f)) <= 0.99;
}

/// Those bounds with room, in degrees.
constexpr double kGuardTol = 0.01;

/// Pairs with per-entry scale 10^U(0, 3): norms from about 1 to 3,000, most
/// of them where guard_negligible holds.
PairSource large_pairs(uint64_t seed) { return PairSource(seed, 0.0, 3.0); }

}  // namespace

TEST_CASE("Algorithm 1, default norm guard, gradient norms above 3: Theorem 2's angles within 0.01 degrees",
          "[optim][aw]") {
  PairSource src = large_pairs(11);
  optim::AdaptiveWeightingOptions o = exact_options(true);
  o.norm_guard = optim::AdaptiveWeightingOptions{}.norm_guard;
  REQUIRE(o.norm_guard == 1e-4);
  constexpr double kTol = kGuardTol;
  int checked = 0;
  for (int i = 0; i < kDraws; ++i) {
    auto [r, f] = src.pair(true);
    if (!guard_negligible(r, f)) continue;
    ++checked;
    auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r, kFavourReal.s_f, o);
    REQUIRE(rep.case_id == 1);
    REQUIRE(std::abs(direct_angle(combine(rep.w_r, r, rep.w_f, f), f) - 90.0) <= kTol);
    rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourFake.s_r, kFavourFake.s_f, o);
    REQUIRE(rep.case_id == 3);
    REQUIRE(std::abs(direct_angle(combine(rep.w_r, r, rep.w_f, f), r) - 90.0) <= kTol);
    rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kBoth.s_r, kBoth.s_f, o);
    REQUIRE(rep.case_id == 5);
    Vec u = combine(rep.w_r, r, rep.w_f, f);
    REQUIRE(std::abs(direct_angle(u, r) - direct_angle(u, f)) <= kTol);  // still the bisector
    REQUIRE(std::abs(direct_angle(u, r) - direct_angle(r, f) / 2) <= kTol);
  }
  REQUIRE(checked > kDraws / 2);
}

TEST_CASE("Algorithm 1, default norm guard: cases 2 and 4 follow one gradient, as without it",
          "[optim][aw]") {
  // The guard scales w_r (case 2) or w_f (case 4) alone and the other weight
  // is 0 (epsilon 0), so the update keeps its direction exactly: along g_r
  // (case 2) or g_f (case 4), within 90 degrees of the other gradient.
  PairSource src = large_pairs(12);
  optim::AdaptiveWeightingOptions o = exact_options(true);
  o.norm_guard = optim::AdaptiveWeightingOptions{}.norm_guard;
  for (int i = 0; i < kDraws; ++i) {
    auto [r, f] = src.pair(false);
    const double rr = double(ldot(r, r)), ff = double(ldot(f, f));
    auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r, kFavourReal.s_f, o);
    REQUIRE(rep.case_id == 2);
    REQUIRE(rep.w_r == Approx(1 / std::sqrt(rr + 1e-4)).epsilon(1e-12));  // guarded
    REQUIRE(rep.w_f == 0.0);
    Vec u = combine(rep.w_r, r, rep.w_f, f);
    REQUIRE(direct_cos(u, r) == Approx(1.0).epsilon(1e-12));
    REQUIRE(direct_angle(u, f) <= 90.0);
    rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourFake.s_r, kFavourFake.s_f, o);
    REQUIRE(rep.case_id == 4);
    REQUIRE(rep.w_r == 0.0);
    REQUIRE(rep.w_f == Approx(1 / std::sqrt(ff + 1e-4)).epsilon(1e-12));
    u = combine(rep.w_r, r, rep.w_f, f);
    REQUIRE(direct_cos(u, f) == Approx(1.0).epsilon(1e-12));
    REQUIRE(direct_angle(u, r) <= 90.0);
  }
}

TEST_CASE("Algorithm 2, default norm guard, gradient norms above 3: Theorem 3's angles within 0.01 degrees",
          "[optim][aw]") {
  // Algorithm 2's only guarded weights are case 1's w_f = -<r,f>/(|f|^2 +
  // guard) and case 3's w_r = -<r,f>/(|r|^2 + guard), the same ratios
  // w_f/w_r and w_r/w_f as Algorithm 1's cases 1 and 3, so the same bound
  // (guard_negligible) holds. Cases 2, 4 and 5 have no norm in them and stay
  // exact.
  PairSource src = large_pairs(13);
  optim::AdaptiveWeightingOptions o = exact_options(false);
  o.norm_guard = optim::AdaptiveWeightingOptions{}.norm_guard;
  REQUIRE(o.norm_guard == 1e-4);
  constexpr double kTol = kGuardTol;
  int checked = 0;
  for (int i = 0; i < kDraws; ++i) {
    {
      auto [r, f] = src.pair(false);
      auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r, kFavourReal.s_f, o);
      REQUIRE(rep.case_id == 2);  // u = g_r
      REQUIRE((rep.w_r == 1.0 && rep.w_f == 0.0));
      REQUIRE(rep.angle_update_fake <= 90.0);
      rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourFake.s_r, kFavourFake.s_f, o);
      REQUIRE(rep.case_id == 4);  // u = g_f
      REQUIRE((rep.w_r == 0.0 && rep.w_f == 1.0));
      REQUIRE(rep.angle_update_real <= 90.0);
    }
    {
      auto [r, f] = src.pair(true);
      if (!guard_negligible(r, f)) continue;
      ++checked;
      const double rr = double(ldot(r, r)), ff = double(ldot(f, f)), rf = double(ldot(r, f));
      auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r, kFavourReal.s_f, o);
      REQUIRE(rep.case_id == 1);
      REQUIRE(rep.w_r == 1.0);
      REQUIRE(rep.w_f == Approx(-rf / (ff + 1e-4)).epsilon(1e-12));
      Vec u = combine(rep.w_r, r, rep.w_f, f);
      REQUIRE(std::abs(direct_angle(u, f) - 90.0) <= kTol);  // eq. 2.42: orthogonal to g_f
      REQUIRE(direct_angle(u, r) <= 90.0 + kTol);
      rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourFake.s_r, kFavourFake.s_f, o);
      REQUIRE(rep.case_id == 3);
      REQUIRE(rep.w_r == Approx(-rf / (rr + 1e-4)).epsilon(1e-12));
      REQUIRE(rep.w_f == 1.0);
      u = combine(rep.w_r, r, rep.w_f, f);
      REQUIRE(std::abs(direct_angle(u, r) - 90.0) <= kTol);  // eq. 2.43: orthogonal to g_r
      REQUIRE(direct_angle(u, f) <= 90.0 + kTol);
      rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kBoth.s_r, kBoth.s_f, o);
      REQUIRE(rep.case_id == 5);
      REQUIRE((rep.w_r == 1.0 && rep.w_f == 1.0));
    }
  }
  REQUIRE(checked > kDraws / 2);
}

TEST_CASE("the default norm guard bends case 1 and case 5 where gradient norms are about 1e-2",
          "[optim][aw]") {
  // |r| = 1e-2, |f| = 1e-3, 120 degrees apart: the guard (1e-4) dominates
  // |f|^2 = 1e-6, so case 1's w_f shrinks about 100-fold and the update is
  // nearly g_r itself, far from orthogonal to g_f; case 5 leans to g_r.
  const Vec r = {1e-2, 0.0}, f = {-0.5e-3, 0.866025403784438e-3};
  optim::AdaptiveWeightingOptions o;  // defaults: normalized, epsilon 0.05, guard 1e-4
  o.epsilon = 0;
  auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r, kFavourReal.s_f, o);
  REQUIRE(rep.case_id == 1);
  REQUIRE(direct_angle(combine(rep.w_r, r, rep.w_f, f), f) > 115.0);  // 90 without the guard
  o.norm_guard = 0;
  rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r, kFavourReal.s_f, o);
  REQUIRE(std::abs(direct_angle(combine(rep.w_r, r, rep.w_f, f), f) - 90.0) <= 1e-9);
  o.norm_guard = 1e-4;
  rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kBoth.s_r, kBoth.s_f, o);
  REQUIRE(rep.case_id == 5);
  Vec u = combine(rep.w_r, r, rep.w_f, f);
  REQUIRE(direct_angle(u, r) < 30.0);  // 60 (the bisector) without the guard
}

TEST_CASE("the case table: order and strict inequalities as written", "[optim][aw]") {
  Tensor r = from_vector({1.0, 0.0}, {2}, kFloat64);
  Tensor f_obtuse = from_vector({-1.0, 1.0}, {2}, kFloat64);
  Tensor f_acute = from_vector({1.0, 1.0}, {2}, kFloat64);
  const ops::Dot3 obtuse = ops::dot3(r, f_obtuse), acute = ops::dot3(r, f_acute);
  optim::AdaptiveWeightingOptions o;
  struct Row {
    double s_r, s_f;
    int group;  // 1: cases 1/2, 3: cases 3/4, 5: case 5
  };
  const std::vector<Row> rows = {
      {0.3, 0.2, 1},    // s_r < alpha1
      {0.8, 0.9, 1},    // s_r < s_f - delta, although s_r > alpha2: line 5 comes first
      {0.76, 0.82, 1},  // s_r < s_f - delta (0.77)
      {0.9, 0.1, 3},    // s_r > alpha2 and s_r > s_f - delta
      {0.8, 0.84, 3},   // s_f - delta = 0.79 < s_r
      {0.6, 0.1, 5},    // alpha1 <= s_r <= alpha2
      {0.5, 0.1, 5},    // s_r == alpha1: not < alpha1
      {0.75, 0.0, 5},   // s_r == alpha2: not > alpha2
  };
  for (const Row& row : rows) {
    INFO("s_r " << row.s_r << " s_f " << row.s_f);
    const int c_obtuse = optim::adaptive_weights(obtuse, row.s_r, row.s_f, o).case_id;
    const int c_acute = optim::adaptive_weights(acute, row.s_r, row.s_f, o).case_id;
    REQUIRE(c_obtuse == (row.group == 5 ? 5 : row.group));
    REQUIRE(c_acute == (row.group == 5 ? 5 : row.group + 1));
  }
  // configurable thresholds
  o.alpha1 = 0.2;
  o.alpha2 = 0.4;
  REQUIRE(optim::adaptive_weights(obtuse, 0.3, 0.1, o).case_id == 5);
  REQUIRE(optim::adaptive_weights(obtuse, 0.45, 0.1, o).case_id == 3);
  o.delta = 0.5;
  REQUIRE(optim::adaptive_weights(obtuse, 0.45, 0.9, o).case_id == 3);  // 0.45 > 0.9 - 0.5
  // <r,f> == 0 exactly: the acute branch, and the obtuse formulas agree there
  o = {};
  Tensor f_right = from_vector({0.0, 2.0}, {2}, kFloat64);
  const ops::Dot3 right = ops::dot3(r, f_right);
  REQUIRE(optim::adaptive_weights(right, 0.3, 0.6, o).case_id == 2);
  REQUIRE(optim::adaptive_weights(right, 0.3, 0.6, o).w_f == o.epsilon);
}

TEST_CASE("default options: the weights are the thesis formulas with guarded norms plus epsilon",
          "[optim][aw]") {
  PairSource src(5);
  const double eps = 0.05, guard = 1e-4;
  for (bool normalized : {true, false}) {
    optim::AdaptiveWeightingOptions o;
    o.normalized = normalized;
    for (int i = 0; i < 200; ++i) {
      auto [r, f] = src.pair(i % 2 == 0);
      const double rr = double(ldot(r, r)), ff = double(ldot(f, f)), rf = double(ldot(r, f));
      const double nr = std::sqrt(rr + guard), nf = std::sqrt(ff + guard);
      const ops::Dot3 d = ops::dot3(tensor_of(r), tensor_of(f));
      const bool obtuse = rf < 0;
      auto check = [&](Scores s, double want_r, double want_f) {
        auto rep = optim::adaptive_weights(d, s.s_r, s.s_f, o);
        REQUIRE(rep.w_r == Approx(want_r).epsilon(1e-12));
        REQUIRE(rep.w_f == Approx(want_f).epsilon(1e-12));
      };
      if (normalized) {
        check(kFavourReal, 1 / nr + eps, obtuse ? -rf / (nf * nf * nr) + eps : eps);
        check(kFavourFake, obtuse ? -rf / (nr * nr * nf) + eps : eps, 1 / nf + eps);
        check(kBoth, 1 / nr + eps, 1 / nf + eps);
      } else {
        check(kFavourReal, 1 + eps, obtuse ? -rf / (nf * nf) + eps : eps);
        check(kFavourFake, obtuse ? -rf / (nr * nr) + eps : eps, 1 + eps);
        check(kBoth, 1 + eps, 1 + eps);
      }
    }
  }
}

TEST_CASE("epsilon: its exact effect on case 1, and it keeps the update alive near a zero gradient",
          "[optim][aw]") {
  // Case 1 with epsilon (no guard): <u, g_f> = epsilon (<r,f> + <f,f>), so
  // the update leaves 90 degrees by that term only (and is obtuse to g_f
  // when <r,f> < -<f,f>, i.e. |g_r| cos > |g_f| in the obtuse direction).
  PairSource src(6);
  optim::AdaptiveWeightingOptions o = exact_options(true);
  o.epsilon = 0.05;
  for (int i = 0; i < kDraws; ++i) {
    auto [r, f] = src.pair(true);
    auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), kFavourReal.s_r,
                                       kFavourReal.s_f, o);
    REQUIRE(rep.case_id == 1);
    Vec u = combine(rep.w_r, r, rep.w_f, f);
    const double want = 0.05 * double(ldot(r, f) + ldot(f, f));
    const double scale = std::sqrt(double(ldot(u, u) * ldot(f, f)));
    REQUIRE(std::abs(double(ldot(u, f)) - want) <= 1e-12 * scale);
  }
  // A (near) zero g_f in case 4 ("w_r = 0 but grad L_f almost zero", text
  // after Algorithm 2): with epsilon 0 the update practically vanishes;
  // epsilon keeps epsilon * g_r in it.
  Vec r = {0.6, -0.8, 0.0}, f = {2e-13, 1e-13, 0.0};  // <r,f> > 0: case 4
  for (bool normalized : {true, false}) {
    INFO("normalized " << normalized);
    optim::AdaptiveWeightingOptions with_eps;  // defaults: guard 1e-4, epsilon 0.05
    with_eps.normalized = normalized;
    optim::AdaptiveWeightingOptions no_eps = with_eps;
    no_eps.epsilon = 0;
    const ops::Dot3 d = ops::dot3(tensor_of(r), tensor_of(f));
    auto rep0 = optim::adaptive_weights(d, kFavourFake.s_r, kFavourFake.s_f, no_eps);
    auto rep1 = optim::adaptive_weights(d, kFavourFake.s_r, kFavourFake.s_f, with_eps);
    REQUIRE(rep0.case_id == 4);
    REQUIRE(rep1.case_id == 4);
    Vec u0 = combine(rep0.w_r, r, rep0.w_f, f), u1 = combine(rep1.w_r, r, rep1.w_f, f);
    REQUIRE(std::sqrt(double(ldot(u0, u0))) < 1e-9);
    REQUIRE(std::sqrt(double(ldot(u1, u1))) == Approx(0.05).epsilon(1e-6));  // epsilon |g_r|
    REQUIRE(rep1.angle_update_real < 1e-3);
  }
}

TEST_CASE("exactly zero gradients give finite weights and angles, never NaN", "[optim][aw]") {
  const Vec z = {0.0, 0.0, 0.0}, g = {1.0, -2.0, 0.5};
  const std::vector<std::pair<Vec, Vec>> pairs = {{z, g}, {g, z}, {z, z}};
  for (double guard : {1e-4, 0.0}) {
    for (bool normalized : {true, false}) {
      optim::AdaptiveWeightingOptions o;
      o.normalized = normalized;
      o.norm_guard = guard;
      for (const auto& [r, f] : pairs) {
        for (Scores s : {kFavourReal, kFavourFake, kBoth}) {
          auto rep = optim::adaptive_weights(ops::dot3(tensor_of(r), tensor_of(f)), s.s_r, s.s_f, o);
          INFO("guard " << guard << " normalized " << normalized << " case " << rep.case_id);
          for (double v : {rep.w_r, rep.w_f, rep.angle_real_fake, rep.angle_update_real,
                           rep.angle_update_fake, rep.norm_real, rep.norm_fake})
            REQUIRE(std::isfinite(v));
          REQUIRE(rep.angle_real_fake == 90.0);  // an angle with a zero vector
        }
      }
    }
  }
  // through step(): the gradients and the Adam-updated parameters stay finite
  Tensor p = from_vector({1.0, 2.0, 3.0}, {3}, kFloat64).requires_grad_();
  optim::AdaptiveWeighting aw({p}, optim::make_aw_inner_adam({p}, 0.1));
  for (Scores s : {kFavourReal, kFavourFake, kBoth}) {
    aw.step(zeros({3}, kFloat64), zeros({3}, kFloat64), s.s_r, s.s_f);
    aw.step(zeros({3}, kFloat64), tensor_of(g), s.s_r, s.s_f);
    for (double v : values(p.grad())) REQUIRE(std::isfinite(v));
    for (double v : values(p.detach())) REQUIRE(std::isfinite(v));
  }
}

namespace {

/// Parameters of a few shapes (float64), their total size.
std::vector<Tensor> make_params(int64_t* total) {
  std::vector<Tensor> ps;
  *total = 0;
  for (const Shape& shape : std::vector<Shape>{{3, 4}, {4}, {0}, {2, 2, 3}, {1}}) {
    ps.push_back(uniform(shape, -1.0, 1.0, kFloat64).requires_grad_());
    *total += ps.back().numel();
  }
  return ps;
}

std::vector<Tensor> clones(const std::vector<Tensor>& ps) {
  std::vector<Tensor> out;
  for (const Tensor& p : ps) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

const std::vector<Scores> kStepScores = {kFavourReal, kFavourFake, kBoth, kFavourReal,
                                         {0.8, 0.9}, kFavourFake};

}  // namespace

TEST_CASE("step: params move exactly as inner Adam (beta1 0, beta2 0.999) on w_r g_r + w_f g_f",
          "[optim][aw]") {
  for (bool normalized : {true, false}) {
    for (bool extra : {false, true}) {
      INFO("normalized " << normalized << " extra " << extra);
      int64_t total = 0;
      std::vector<Tensor> ps = make_params(&total);
      std::vector<Tensor> ref = clones(ps);
      optim::AdaptiveWeightingOptions o;
      o.normalized = normalized;
      optim::AdaptiveWeighting aw(ps, optim::make_aw_inner_adam(ps, 1e-2), o);
      optim::Adam ref_adam(ref, optim::AdamOptions{1e-2, {0.0, 0.999}});
      std::array<int64_t, 6> seen{};
      for (size_t step = 0; step < kStepScores.size(); ++step) {
        Tensor gr = randn({total}, kFloat64), gf = randn({total}, kFloat64);
        Tensor ge = extra ? randn({total}, kFloat64) : Tensor();
        if (step % 2) gf.mul_(-3.0);
        auto rep = aw.step(gr, gf, kStepScores[step].s_r, kStepScores[step].s_f, ge);
        ++seen[size_t(rep.case_id)];
        // the report's weights are those of adaptive_weights on the same inner products
        auto want = optim::adaptive_weights(ops::dot3(gr, gf), kStepScores[step].s_r,
                                            kStepScores[step].s_f, o);
        REQUIRE(rep.case_id == want.case_id);
        REQUIRE(rep.w_r == want.w_r);
        REQUIRE(rep.w_f == want.w_f);
        // reference: the same Adam fed the combined gradient built here
        auto vr = values(gr), vf = values(gf);
        Vec u = combine(rep.w_r, vr, rep.w_f, vf);
        if (extra) {
          auto ve = values(ge);
          for (size_t i = 0; i < u.size(); ++i) u[i] += ve[i];
        }
        int64_t off = 0;
        for (size_t k = 0; k < ref.size(); ++k) {
          const int64_t n = ref[k].numel();
          ref[k].set_grad(from_vector(Vec(u.begin() + off, u.begin() + off + n), ref[k].shape(),
                                      kFloat64));
          // the combined gradient landed in the param's .grad
          REQUIRE(max_abs_diff(ps[k].grad(), ref[k].grad()) <= 1e-15);
          off += n;
        }
        ref_adam.step();
        for (size_t k = 0; k < ps.size(); ++k)
          REQUIRE(max_abs_diff(ps[k].detach(), ref[k].detach()) <= 1e-14);
      }
      REQUIRE(aw.case_counts() == seen);
      REQUIRE(aw.steps() == int64_t(kStepScores.size()));
      REQUIRE(aw.case_counts()[0] == 0);
      REQUIRE(aw.last_report().case_id > 0);
      // the inner optimizer is Adam with beta1 = 0, beta2 = 0.999
      REQUIRE(aw.inner().param_groups()[0].option("beta1") == 0.0);
      REQUIRE(aw.inner().param_groups()[0].option("beta2") == 0.999);
    }
  }
}

TEST_CASE("step over FlatParameters: one range of grads, same result as separate parameters",
          "[optim][aw]") {
  int64_t total = 0;
  std::vector<Tensor> separate = make_params(&total);
  std::vector<Tensor> flat_params = clones(separate);
  optim::FlatParameters flat(flat_params);
  // the grads are views of flat.grad() in order: one range
  Tensor range = optim::grads_as_one_range(flat.params());
  REQUIRE(range.defined());
  REQUIRE(range.numel() == total);
  REQUIRE(range.storage() == flat.grad().storage());
  REQUIRE(range.offset() == flat.grad().offset());
  // separate grads (or missing ones) are no single range
  REQUIRE_FALSE(optim::grads_as_one_range(separate).defined());
  std::vector<Tensor> reversed(flat.params().rbegin(), flat.params().rend());
  REQUIRE_FALSE(optim::grads_as_one_range(reversed).defined());

  optim::AdaptiveWeighting aw_sep(separate, optim::make_aw_inner_adam(separate, 1e-2));
  // inner Adam steps the flat buffer as one parameter (one fused kernel)
  optim::AdaptiveWeighting aw_flat(flat.params(), optim::make_aw_inner_adam({flat.data()}, 1e-2));
  for (size_t step = 0; step < kStepScores.size(); ++step) {
    Tensor gr = randn({total}, kFloat64), gf = randn({total}, kFloat64);
    gf.mul_(-2.0);
    auto a = aw_sep.step(gr, gf, kStepScores[step].s_r, kStepScores[step].s_f);
    auto b = aw_flat.step(gr, gf, kStepScores[step].s_r, kStepScores[step].s_f);
    REQUIRE(a.case_id == b.case_id);
    Vec u = combine(a.w_r, values(gr), a.w_f, values(gf));
    REQUIRE(max_abs_diff(flat.grad(), from_vector(u, {total}, kFloat64)) <= 1e-15);
    for (size_t k = 0; k < separate.size(); ++k)
      REQUIRE(max_abs_diff(separate[k].detach(), flat.params()[k].detach()) <= 1e-14);
  }
}

TEST_CASE("step replaces missing, non-contiguous or in-graph grads; float32 works",
          "[optim][aw]") {
  Tensor p = zeros({2, 3}, kFloat32).requires_grad_();
  Tensor q = zeros({3}, kFloat32).requires_grad_();
  p.set_grad(zeros({3, 2}, kFloat32).t());  // a transposed (non-contiguous) grad
  optim::AdaptiveWeightingOptions o;
  o.normalized = false;
  optim::AdaptiveWeighting aw({p, q}, std::make_unique<optim::SGD>(std::vector<Tensor>{p, q},
                                                                    optim::SGDOptions{1.0}), o);
  Tensor gr = from_vector({1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0}, {9}, kFloat32);
  Tensor gf = from_vector({1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}, {9}, kFloat32);
  auto rep = aw.step(gr, gf, 0.6, 0.4);  // case 5, Algorithm 2: both weights 1.05
  REQUIRE(rep.case_id == 5);
  REQUIRE(p.grad().is_contiguous());
  Vec want;
  for (int i = 1; i <= 9; ++i) want.push_back(1.05 * i + 1.05);
  auto gp = values(p.grad()), gq = values(q.grad());
  for (int i = 0; i < 6; ++i) REQUIRE(gp[size_t(i)] == Approx(want[size_t(i)]).epsilon(1e-6));
  for (int i = 0; i < 3; ++i) REQUIRE(gq[size_t(i)] == Approx(want[size_t(6 + i)]).epsilon(1e-6));
  // SGD with lr 1: params = -grad
  REQUIRE(values(q.detach())[0] == Approx(-want[6]).epsilon(1e-6));
}

TEST_CASE("AdaptiveWeighting refuses bad input with clear errors", "[optim][aw]") {
  Tensor p = zeros({4}, kFloat64).requires_grad_();
  auto make = [&](optim::AdaptiveWeightingOptions o) {
    return optim::AdaptiveWeighting({p}, optim::make_aw_inner_adam({p}, 1e-3), o);
  };
  optim::AdaptiveWeightingOptions bad;
  bad.epsilon = -1;
  REQUIRE_THROWS_NOVA(make(bad), "epsilon");
  bad = {};
  bad.norm_guard = -1;
  REQUIRE_THROWS_NOVA(make(bad), "norm_guard");
  bad = {};
  bad.alpha1 = NAN;
  REQUIRE_THROWS_NOVA(make(bad), "alpha1");
  REQUIRE_THROWS_NOVA(optim::AdaptiveWeighting({p}, nullptr), "inner optimizer is null");
  REQUIRE_THROWS_NOVA(optim::AdaptiveWeighting({}, optim::make_aw_inner_adam({p}, 1e-3)), "empty");
  optim::AdaptiveWeighting aw = make({});
  Tensor g = randn({4}, kFloat64);
  REQUIRE_THROWS_NOVA(aw.step(randn({5}, kFloat64), randn({5}, kFloat64), 0.5, 0.5), "4 values");
  REQUIRE_THROWS_NOVA(aw.step(g, randn({3}, kFloat64), 0.5, 0.5), "shape");
  REQUIRE_THROWS_NOVA(aw.step(g.to(kFloat32), g.to(kFloat32), 0.5, 0.5), "float32");
  REQUIRE_THROWS_NOVA(aw.step(g, g, NAN, 0.5), "finite");
  REQUIRE_THROWS_NOVA(aw.step(g, g, 0.5, 0.5, randn({3}, kFloat64)), "third gradient");
  Tensor nan_grad = from_vector({1.0, NAN, 0.0, 0.0}, {4}, kFloat64);
  REQUIRE_THROWS_NOVA(aw.step(nan_grad, g, 0.5, 0.5), "NaN or Inf");
  REQUIRE(aw.steps() == 0);  // nothing was stepped
}

// ---- step_losses: the one-call step from the two loss parts ----

#include "core/grad_split.h"
#include "nn/activation.h"
#include "nn/gan_loss.h"
#include "nn/linear.h"
#include "nn/sequential.h"

namespace {

/// Two copies of one small float64 MLP critic x [n, 2] -> [n, 1].
std::pair<std::shared_ptr<nn::Sequential>, std::shared_ptr<nn::Sequential>> twin_critics() {
  auto make = [] {
    manual_seed(21);
    auto d = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 8), std::make_shared<nn::Tanh>(),
                                              std::make_shared<nn::Linear>(8, 1));
    d->to(kFloat64);
    return d;
  };
  return {make(), make()};
}

}  // namespace

TEST_CASE("step_losses equals grad_split then step, for every split mode and with an extra loss",
          "[optim][aw]") {
  using autograd::GradSplitMode;
  for (GradSplitMode mode : {GradSplitMode::fused, GradSplitMode::reference, GradSplitMode::automatic}) {
    for (bool extra : {false, true}) {
      INFO("mode " << int(mode) << " extra " << extra);
      auto [one, two] = twin_critics();
      optim::AdaptiveWeighting aw_one(one->parameters(), optim::make_aw_inner_adam(one->parameters(), 1e-2));
      optim::AdaptiveWeighting aw_two(two->parameters(), optim::make_aw_inner_adam(two->parameters(), 1e-2));
      Generator data(4);
      for (size_t step = 0; step < kStepScores.size(); ++step) {
        Tensor x = uniform({10, 2}, -1, 1, kFloat64, kCPU, &data);
        const double s_r = kStepScores[step].s_r, s_f = kStepScores[step].s_f;
        // one call
        Tensor out1 = (*one)(x);
        auto l1 = nn::discriminator_loss(nn::GanLoss::minimax, out1.narrow(0, 0, 4), out1.narrow(0, 4, 6));
        autograd::GradSplitOptions split;
        split.mode = mode;
        split.batch_output = out1;
        split.group_sizes = {4, 6};
        Tensor e1 = extra ? ops::sum(ops::square(out1)) * 0.1 : Tensor();
        auto a = aw_one.step_losses(l1.real, l1.fake, s_r, s_f, split, e1);
        // the two-call path: the gradients by hand, then step
        Tensor out2 = (*two)(x);
        auto l2 = nn::discriminator_loss(nn::GanLoss::minimax, out2.narrow(0, 0, 4), out2.narrow(0, 4, 6));
        split.batch_output = out2;
        split.mode = mode == GradSplitMode::automatic ? GradSplitMode::fused : mode;
        auto g = autograd::grad_split({l2.real, l2.fake}, two->parameters(), split);
        Tensor ge = extra ? optim::flat_grad(ops::sum(ops::square(out2)) * 0.1, two->parameters()) : Tensor();
        auto b = aw_two.step(g[0], g[1], s_r, s_f, ge);

        REQUIRE(a.case_id == b.case_id);
        REQUIRE(a.w_r == b.w_r);
        REQUIRE(a.w_f == b.w_f);
        REQUIRE(a.grad_split == split.mode);  // automatic: an MLP splits fused
        REQUIRE(a.grad_split_reason.empty());
        REQUIRE(aw_one.last_report().grad_split == a.grad_split);
        for (size_t k = 0; k < one->parameters().size(); ++k)
          REQUIRE(max_abs_diff(one->parameters()[k].detach(), two->parameters()[k].detach()) == 0.0);
      }
      REQUIRE(aw_one.case_counts() == aw_two.case_counts());
    }
  }
}

TEST_CASE("step_losses reports reference, and why, when automatic cannot fuse", "[optim][aw]") {
  auto [d, unused] = twin_critics();
  (void)unused;
  optim::AdaptiveWeighting aw(d->parameters(), optim::make_aw_inner_adam(d->parameters(), 1e-2));
  Tensor x = uniform({10, 2}, -1, 1, kFloat64).requires_grad_();
  Tensor out = nn::gradient_normalize((*d)(x), x);  // GN-GAN: a double-backward graph
  auto loss = nn::discriminator_loss(nn::GanLoss::minimax, out.narrow(0, 0, 4), out.narrow(0, 4, 6));
  autograd::GradSplitOptions split;
  split.mode = autograd::GradSplitMode::automatic;
  split.batch_output = out;
  split.group_sizes = {4, 6};
  auto rep = aw.step_losses(loss.real, loss.fake, 0.6, 0.4, split);
  REQUIRE(rep.grad_split == autograd::GradSplitMode::reference);
  REQUIRE_FALSE(rep.grad_split_reason.empty());
  REQUIRE(aw.steps() == 1);
}
