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
