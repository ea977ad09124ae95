// tests/test_self_correcting.cpp: Algorithm 3 (SC2 and SC3) on random float64
// gradient vectors: what it guarantees (Theorem 4 as far as the algorithm
// reaches, THESIS-NOTES.md), the weights of each branch, the obtuse-to-g_C/g_E
// flags and counters of SC3 on constructed examples, zero gradients, and the
// parameters moving exactly as the inner Adam on the combined gradient.
#include <cmath>
#include <random>
#include <vector>

#include "optim/self_correcting.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Vec = std::vector<double>;
constexpr double kPi = 3.14159265358979323846;
constexpr int kDraws = 1000;

long double ldot(const Vec& a, const Vec& b) {
  long double acc = 0;
  for (size_t i = 0; i < a.size(); ++i) acc += (long double)a[i] * (long double)b[i];
  return acc;
}

double direct_cos(const Vec& u, const Vec& v) {
  return double(ldot(u, v) / std::sqrt(ldot(u, u) * ldot(v, v)));
}

double direct_angle(const Vec& u, const Vec& v) {
  return std::acos(std::max(-1.0, std::min(1.0, direct_cos(u, v)))) * 180.0 / kPi;
}

Vec combine(const optim::SelfCorrectingReport& rep, const Vec& c, const Vec& e, const Vec& n) {
  Vec u(c.size());
  for (size_t i = 0; i < c.size(); ++i)
    u[i] = rep.w_c * c[i] + rep.w_e * e[i] + (n.empty() ? 0.0 : rep.w_n * n[i]);
  return u;
}

Tensor tensor_of(const Vec& v) { return from_vector(v, {int64_t(v.size())}, kFloat64); }

/// The inner products the optimizer uses, from host vectors (n empty: SC2).
ops::Dot6 dots(const Vec& c, const Vec& e, const Vec& n) {
  if (n.empty()) {
    ops::Dot3 d = ops::dot3(tensor_of(c), tensor_of(e));
    ops::Dot6 d6;
    d6.aa = d.aa;
    d6.bb = d.bb;
    d6.ab = d.ab;
    return d6;
  }
  return ops::dot6(tensor_of(c), tensor_of(e), tensor_of(n));
}

struct Source {
  std::mt19937_64 rng;
  explicit Source(uint64_t seed) : rng(seed) {}
  Vec vec(size_t n) {
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> expo(-2.0, 2.0);
    const double scale = std::pow(10.0, expo(rng));
    Vec v(n);
    for (double& x : v) x = scale * normal(rng);
    return v;
  }
  size_t dim(size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); }
};

void negate(Vec& v) {
  for (double& x : v) x = -x;
}

/// The report's angles equal those computed from the update vector (1e-5
/// degrees: acos near 0 or 180 degrees loses half the digits).
void require_report_angles(const optim::SelfCorrectingReport& rep, const Vec& c, const Vec& e,
                           const Vec& n) {
  Vec u = combine(rep, c, e, n);
  REQUIRE(std::abs(rep.angle_c_e - direct_angle(c, e)) <= 1e-5);
  REQUIRE(std::abs(rep.angle_update_c - direct_angle(u, c)) <= 1e-5);
  REQUIRE(std::abs(rep.angle_update_e - direct_angle(u, e)) <= 1e-5);
  if (n.empty()) return;
  REQUIRE(std::abs(rep.angle_c_n - direct_angle(c, n)) <= 1e-5);
  REQUIRE(std::abs(rep.angle_e_n - direct_angle(e, n)) <= 1e-5);
  REQUIRE(std::abs(rep.angle_update_n - direct_angle(u, n)) <= 1e-5);
}

}  // namespace

TEST_CASE("SC2: never obtuse to g_C or g_E; 90 degrees to g_E when corrected", "[optim][sc]") {
  Source src(11);
  for (bool acute : {true, false}) {
    for (int i = 0; i < kDraws; ++i) {
      const size_t n = src.dim(2, 12);
      Vec c = src.vec(n), e = src.vec(n);
      if ((ldot(c, e) > 0) != acute) negate(e);
      auto rep = optim::self_correcting_weights(dots(c, e, {}), false);
      REQUIRE_FALSE(rep.three_terms);
      REQUIRE(rep.w_c == 1.0);
      REQUIRE(rep.w_n == 0.0);
      REQUIRE_FALSE(rep.corrected_n);
      Vec u = combine(rep, c, e, {});
      if (acute) {  // lines 2-3
        REQUIRE_FALSE(rep.corrected_e);
        REQUIRE(rep.w_e == 1.0);
      } else {  // line 10: w_E = -<C,E>/||E||^2
        REQUIRE(rep.corrected_e);
        REQUIRE(rep.w_e == Approx(-double(ldot(c, e) / ldot(e, e))).epsilon(1e-12));
        REQUIRE(std::abs(direct_angle(u, e) - 90.0) <= 1e-9);
      }
      REQUIRE(direct_angle(u, c) <= 90.0 + 1e-9);
      REQUIRE(direct_angle(u, e) <= 90.0 + 1e-9);
      REQUIRE_FALSE(rep.obtuse_to_c);
      REQUIRE_FALSE(rep.obtuse_to_e);
      require_report_angles(rep, c, e, {});
    }
  }
}

TEST_CASE("SC3: never obtuse to g_N (90 when w_N corrected); obtuse to g_C/g_E flagged truly",
          "[optim][sc]") {
  Source src(12);
  int64_t obtuse_c = 0, obtuse_e = 0, branches[2][2] = {{0, 0}, {0, 0}};
  const int draws = 4 * kDraws;
  for (int i = 0; i < draws; ++i) {
    const size_t n = src.dim(2, 8);
    Vec c = src.vec(n), e = src.vec(n), g = src.vec(n);
    auto rep = optim::self_correcting_weights(dots(c, e, g), true);
    REQUIRE(rep.three_terms);
    REQUIRE(rep.w_c == 1.0);
    const double ce = double(ldot(c, e)), ee = double(ldot(e, e)), nn = double(ldot(g, g));
    const double cn = double(ldot(c, g)), en = double(ldot(e, g));
    // the weights of the listing, each branch in its own written form
    double want_e = 1, want_n = 1;
    if (ce > 0) {
      if (!(cn + en > 0)) want_n = -cn / nn - en / nn;  // line 7
    } else {
      want_e = -ce / ee;                                                  // line 10
      if (!(cn + want_e * en > 0)) want_n = -cn / nn + ce * en / (ee * nn);  // line 14
    }
    REQUIRE(rep.w_e == Approx(want_e).epsilon(1e-10).margin(1e-13));
    REQUIRE(rep.w_n == Approx(want_n).epsilon(1e-10).margin(1e-13));
    ++branches[rep.corrected_e][rep.corrected_n];
    Vec u = combine(rep, c, e, g);
    REQUIRE(direct_angle(u, g) <= 90.0 + 1e-9);
    if (rep.corrected_n) REQUIRE(std::abs(direct_angle(u, g) - 90.0) <= 1e-9);
    if (rep.corrected_e && !rep.corrected_n) REQUIRE(rep.w_n == 1.0);
    // the flags are the truth about the update vector
    REQUIRE(rep.obtuse_to_c == (direct_cos(u, c) < -optim::kObtuseCos));
    REQUIRE(rep.obtuse_to_e == (direct_cos(u, e) < -optim::kObtuseCos));
    obtuse_c += rep.obtuse_to_c;
    obtuse_e += rep.obtuse_to_e;
    require_report_angles(rep, c, e, g);
  }
  // every branch of the listing was taken
  for (auto& row : branches)
    for (int64_t count : row) REQUIRE(count > 0);
  // THESIS-NOTES: SC3 is obtuse to g_C or g_E in a sizeable share of random
  // cases (standard normal vectors: to g_E about 25% in 4-D and 8-D; to g_C
  // about 1.7% in 4-D, 0.1% in 8-D, more in 2-D and 3-D)
  INFO("obtuse to g_C " << obtuse_c << ", to g_E " << obtuse_e << " of " << draws);
  REQUIRE(obtuse_c > 0);
  REQUIRE(obtuse_e > draws / 10);
}

TEST_CASE("SC3 counters count the obtuse steps of constructed examples", "[optim][sc]") {
  struct Example {
    Vec c, e, n;  // n empty: an SC2 step
    bool obtuse_c, obtuse_e, corrected_e, corrected_n;
  };
  const std::vector<Example> examples = {
      // <C,E> > 0, w = (1, 1); <v,N> = 4 > 0 so w_N = 1; u = (-8.9, 8, 0): obtuse to C
      {{1, 0, 0}, {0.1, 5, 0}, {-10, 3, 0}, true, false, false, false},
      // the same with C and E swapped: u = (-8.9, 8, 0) obtuse to E
      {{0.1, 5, 0}, {1, 0, 0}, {-10, 3, 0}, false, true, false, false},
      // <C,E> < 0: w_E = 1/2, v = (0.5, 0.5, 0); <v,N> > 0: u = (-2.5, 4.5, 0), obtuse to C
      {{1, 0, 0}, {-1, 1, 0}, {-3, 4, 0}, true, false, true, false},
      // w_N corrected (u orthogonal to N) and still obtuse to C
      {{1, 0, 0}, {0.01, 1, 0}, {-1, -0.1, 0}, true, false, false, true},
      // <v,N> == 0: the correcting branch with w_N = 0; u = (2, 1, 0), not obtuse
      {{1, 0, 0}, {1, 1, 0}, {0, 0, 1}, false, false, false, true},
      // SC2 steps (never obtuse), one corrected
      {{1, 0, 0}, {-1, 1, 0}, {}, false, false, true, false},
      {{1, 2, 0}, {1, 1, 0}, {}, false, false, false, false},
  };
  Tensor p = zeros({3}, kFloat64).requires_grad_();
  optim::SelfCorrecting sc({p}, std::make_unique<optim::SGD>(std::vector<Tensor>{p},
                                                             optim::SGDOptions{0.1}));
  int64_t want_c = 0, want_e = 0, want_ce = 0, want_cn = 0, want_sc3 = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& ex = examples[i];
    INFO("example " << i);
    auto rep = sc.step(tensor_of(ex.c), tensor_of(ex.e), ex.n.empty() ? Tensor() : tensor_of(ex.n));
    REQUIRE(rep.obtuse_to_c == ex.obtuse_c);
    REQUIRE(rep.obtuse_to_e == ex.obtuse_e);
    REQUIRE(rep.corrected_e == ex.corrected_e);
    REQUIRE(rep.corrected_n == ex.corrected_n);
    // the flags match the update vector itself
    Vec u = combine(rep, ex.c, ex.e, ex.n);
    REQUIRE(rep.obtuse_to_c == (ldot(u, ex.c) < 0));
    REQUIRE(rep.obtuse_to_e == (ldot(u, ex.e) < 0));
    want_c += ex.obtuse_c;
    want_e += ex.obtuse_e;
    want_ce += ex.corrected_e;
    want_cn += ex.corrected_n;
    want_sc3 += !ex.n.empty();
    const optim::SelfCorrectingCounts& k = sc.counts();
    REQUIRE(k.steps == int64_t(i + 1));
    REQUIRE(k.sc3_steps == want_sc3);
    REQUIRE(k.obtuse_to_c == want_c);
    REQUIRE(k.obtuse_to_e == want_e);
    REQUIRE(k.corrected_e == want_ce);
    REQUIRE(k.corrected_n == want_cn);
    REQUIRE(sc.last_report().obtuse_to_c == rep.obtuse_to_c);
  }
  REQUIRE(sc.counts().obtuse_to_c == 3);
  REQUIRE(sc.counts().obtuse_to_e == 1);
}

TEST_CASE("SelfCorrecting: zero gradients give finite weights, no NaN", "[optim][sc]") {
  const Vec z = {0.0, 0.0, 0.0}, a = {1.0, -2.0, 0.5}, b = {-0.3, 0.1, 2.0};
  for (double guard : {0.0, 1e-4}) {
    optim::SelfCorrectingOptions o;
    o.norm_guard = guard;
    for (const Vec& c : {z, a})
      for (const Vec& e : {z, b})
        for (const Vec& n : {Vec{}, z, a, b}) {
          auto rep = optim::self_correcting_weights(dots(c, e, n), !n.empty(), o);
          for (double v : {rep.w_c, rep.w_e, rep.w_n, rep.angle_c_e, rep.angle_c_n, rep.angle_e_n,
                           rep.angle_update_c, rep.angle_update_e, rep.angle_update_n})
            REQUIRE(std::isfinite(v));
        }
  }
  // through step(): grads and params stay finite
  Tensor p = from_vector({1.0, 2.0, 3.0}, {3}, kFloat64).requires_grad_();
  optim::SelfCorrecting sc({p}, std::make_unique<optim::Adam>(std::vector<Tensor>{p}));
  sc.step(tensor_of(z), tensor_of(z), tensor_of(z));
  sc.step(tensor_of(a), tensor_of(z), tensor_of(z));
  sc.step(tensor_of(z), tensor_of(z));
  for (double v : values(p.grad())) REQUIRE(std::isfinite(v));
  for (double v : values(p.detach())) REQUIRE(std::isfinite(v));
}

TEST_CASE("SelfCorrecting.step: params move exactly as inner Adam on the combined gradient",
          "[optim][sc]") {
  for (bool three : {false, true}) {
    INFO("three terms " << three);
    std::vector<Tensor> ps, ref;
    int64_t total = 0;
    for (const Shape& shape : std::vector<Shape>{{3, 4}, {5}, {2, 2}}) {
      ps.push_back(uniform(shape, -1.0, 1.0, kFloat64).requires_grad_());
      ref.push_back(ps.back().detach().clone().requires_grad_());
      total += ps.back().numel();
    }
    optim::SelfCorrecting sc(ps, std::make_unique<optim::Adam>(ps, optim::AdamOptions{1e-2, {0.0, 0.999}}));
    optim::Adam ref_adam(ref, optim::AdamOptions{1e-2, {0.0, 0.999}});
    for (int step = 0; step < 6; ++step) {
      Tensor gc = randn({total}, kFloat64), ge = randn({total}, kFloat64);
      Tensor gn = three ? randn({total}, kFloat64) : Tensor();
      auto rep = sc.step(gc, ge, gn);
      Vec vc = values(gc), ve = values(ge), vn = three ? values(gn) : Vec{};
      Vec u = combine(rep, vc, ve, vn);
      int64_t off = 0;
      for (size_t k = 0; k < ref.size(); ++k) {
        const int64_t n = ref[k].numel();
        ref[k].set_grad(from_vector(Vec(u.begin() + off, u.begin() + off + n), ref[k].shape(),
                                    kFloat64));
        REQUIRE(max_abs_diff(ps[k].grad(), ref[k].grad()) <= 1e-14);
        off += n;
      }
      ref_adam.step();
      for (size_t k = 0; k < ps.size(); ++k)
        REQUIRE(max_abs_diff(ps[k].detach(), ref[k].detach()) <= 1e-14);
    }
    REQUIRE(sc.counts().steps == 6);
    REQUIRE(sc.counts().sc3_steps == (three ? 6 : 0));
  }
}

TEST_CASE("SelfCorrecting refuses bad input with clear errors", "[optim][sc]") {
  Tensor p = zeros({4}, kFloat64).requires_grad_();
  auto inner = [&] { return std::make_unique<optim::SGD>(std::vector<Tensor>{p}, optim::SGDOptions{0.1}); };
  REQUIRE_THROWS_NOVA(optim::SelfCorrecting({p}, nullptr), "inner optimizer is null");
  REQUIRE_THROWS_NOVA(optim::SelfCorrecting({}, inner()), "empty");
  optim::SelfCorrectingOptions bad;
  bad.norm_guard = -1;
  REQUIRE_THROWS_NOVA(optim::SelfCorrecting({p}, inner(), bad), "norm_guard");
  optim::SelfCorrecting sc({p}, inner());
  Tensor g = randn({4}, kFloat64);
  REQUIRE_THROWS_NOVA(sc.step(g, randn({3}, kFloat64)), "shape");
  REQUIRE_THROWS_NOVA(sc.step(g, g, randn({3}, kFloat64)), "shape");
  REQUIRE_THROWS_NOVA(sc.step(randn({5}, kFloat64), randn({5}, kFloat64)), "4 values");
  REQUIRE_THROWS_NOVA(sc.step(g, Tensor()), "defined");
  Tensor nan_grad = from_vector({1.0, NAN, 0.0, 0.0}, {4}, kFloat64);
  REQUIRE_THROWS_NOVA(sc.step(g, nan_grad), "NaN or Inf");
  REQUIRE(sc.counts().steps == 0);
}
