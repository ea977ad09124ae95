// tests/test_ncgru_recurrence.cpp: ops::ncgru_recurrence, NC-GRU's loop as
// one autograd node (core/ncgru_recurrence.h): forward against eq. (3.53)
// in plain float64 loops; values and every input's gradient against the
// loop of per-step ops (ncgru_recurrence_composed), with a nonzero h0, T 1
// and B 1; gradcheck and gradgradcheck (create_graph recomputes the loop);
// the cell's run_sequence against stepping the cell by hand; bad arguments.
#include <array>
#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "nn/orthogonal_rnn.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

struct Args {
  Tensor proj, h0, U_r, U_u, U_c, b_r, b_u, b_c;
  std::vector<Tensor> all() const { return {proj, h0, U_r, U_u, U_c, b_r, b_u, b_c}; }
};

Args make_args(int64_t T, int64_t B, int64_t H) {
  const double s = 1.0 / std::sqrt(double(H));
  // b_c around 0 so that modReLU's cut |z| + b_c <= 0 is hit by some entries
  return {leaf({T, B, 3 * H}, -2, 2), leaf({B, H}), leaf({H, H}, -s, s), leaf({H, H}, -s, s),
          leaf({H, H}, -s, s), leaf({H}, -s, s), leaf({H}, -s, s), leaf({H}, -0.5, 0.3)};
}

Tensor run_fused(const Args& a) { return ops::ncgru_recurrence(a.proj, a.h0, a.U_r, a.U_u, a.U_c, a.b_r, a.b_u, a.b_c); }
Tensor run_composed(const Args& a) {
  return ops::ncgru_recurrence_composed(a.proj, a.h0, a.U_r, a.U_u, a.U_c, a.b_r, a.b_u, a.b_c);
}

/// Eq. (3.53) in plain loops over float64 values: every h_t, [T, B, H] flat.
std::vector<double> loops(const Args& a, int64_t T, int64_t B, int64_t H) {
  const auto p = values(a.proj), Ur = values(a.U_r), Uu = values(a.U_u), Uc = values(a.U_c);
  const auto br = values(a.b_r), bu = values(a.b_u), bc = values(a.b_c);
  std::vector<double> h = values(a.h0), out;
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> next(static_cast<size_t>(B * H));
    for (int64_t b = 0; b < B; ++b) {
      const double* pr = &p[size_t((t * B + b) * 3 * H)];
      const double* hb = &h[size_t(b * H)];
      std::vector<double> r(static_cast<size_t>(H)), u(static_cast<size_t>(H));
      for (int64_t i = 0; i < H; ++i) {
        double sr = pr[i] + br[size_t(i)], su = pr[H + i] + bu[size_t(i)];
        for (int64_t j = 0; j < H; ++j) sr += Ur[size_t(i * H + j)] * hb[j], su += Uu[size_t(i * H + j)] * hb[j];
        r[size_t(i)] = sig(sr), u[size_t(i)] = sig(su);
      }
      for (int64_t i = 0; i < H; ++i) {
        double z = pr[2 * H + i];
        for (int64_t j = 0; j < H; ++j) z += Uc[size_t(i * H + j)] * r[size_t(j)] * hb[j];
        const double c = (z > 0 ? 1 : z < 0 ? -1 : 0) * std::max(0.0, std::abs(z) + bc[size_t(i)]);
        next[size_t(b * H + i)] = (1 - u[size_t(i)]) * hb[i] + u[size_t(i)] * c;
      }
    }
    h = next;
    out.insert(out.end(), h.begin(), h.end());
  }
  return out;
}

void require_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  INFO("worst difference " << worst);
  REQUIRE(worst <= tol);
}

}  // namespace

TEST_CASE("ncgru_recurrence equals eq. (3.53) and the loop of ops, values and every gradient",
          "[ncgru_recurrence][grad]") {
  for (auto [T, B, H] : std::vector<std::array<int64_t, 3>>{{6, 3, 5}, {1, 2, 4}, {4, 1, 3}, {9, 4, 8}}) {
    INFO("T=" << T << " B=" << B << " H=" << H);
    const Args a = make_args(T, B, H);
    const Tensor out = run_fused(a), ref = run_composed(a);
    REQUIRE(out.shape() == Shape{T, B, H});
    require_close(values(out), loops(a, T, B, H), 1e-13);
    require_close(values(out), values(ref), 1e-14);
    const Tensor w = uniform(out.shape(), -1, 1, kFloat64);
    const auto g = autograd::grad({ops::sum(out * w)}, a.all());
    const auto g_ref = autograd::grad({ops::sum(ref * w)}, a.all());
    for (size_t k = 0; k < g.size(); ++k) {
      INFO("input " << k);
      REQUIRE(g[k].shape() == a.all()[k].shape());
      require_close(values(g[k]), values(g_ref[k]), 1e-13);
    }
  }
}

TEST_CASE("ncgru_recurrence: only the inputs that need a gradient get one", "[ncgru_recurrence][grad]") {
  Args a = make_args(3, 2, 4);
  a.proj = a.proj.detach();
  a.U_u = a.U_u.detach();
  const Tensor out = run_fused(a);
  ops::sum(out).backward();
  CHECK_FALSE(a.proj.grad().defined());
  CHECK_FALSE(a.U_u.grad().defined());
  CHECK(a.U_c.grad().defined());
  CHECK(a.h0.grad().defined());
}

TEST_CASE("ncgru_recurrence: gradcheck and gradgradcheck", "[ncgru_recurrence][grad]") {
  const Args a = make_args(3, 2, 3);
  auto f = [&] { return run_fused(a); };
  REQUIRE_GRADCHECK(f, a.all());
  REQUIRE_GRADGRADCHECK(f, a.all());
}

TEST_CASE("NCGRUCell: run_sequence (one node) equals stepping the cell by hand", "[ncgru_recurrence][grad]") {
  for (bool both : {false, true}) {
    INFO("orthogonal U_r " << both);
    Generator gen(11);
    nn::NCGRUCell cell(3, 6, nn::NCGRUOptions().negative_ones(2).orthogonal_reset(both).dtype(kFloat64).generator(&gen));
    const Tensor x = uniform({5, 2, 3}, -1, 1, kFloat64), h0 = uniform({2, 6}, -1, 1, kFloat64);
    const nn::SequenceOutput seq = nn::run_sequence(cell, x, h0);
    Tensor h = h0;
    std::vector<Tensor> hs;
    for (int64_t t = 0; t < 5; ++t) hs.push_back(h = cell.forward(ops::select(x, 0, t), h));
    const Tensor ref = ops::stack(hs, 0);
    require_close(values(seq.outputs), values(ref), 1e-14);
    require_close(values(seq.last), values(h), 1e-14);
    const std::vector<Tensor> params = cell.parameters();
    const auto g = autograd::grad({ops::sum(ops::sin(seq.outputs))}, params, {}, false, true);
    const auto g_ref = autograd::grad({ops::sum(ops::sin(ref))}, params, {}, false, true);
    for (size_t k = 0; k < params.size(); ++k) {
      INFO("parameter " << k);
      REQUIRE(g[k].defined() == g_ref[k].defined());
      if (g[k].defined()) require_close(values(g[k]), values(g_ref[k]), 1e-13);
    }
  }
}

TEST_CASE("ncgru_recurrence rejects bad arguments", "[ncgru_recurrence]") {
  const Args a = make_args(2, 3, 4);
  REQUIRE_THROWS_NOVA(ops::ncgru_recurrence(randn({2, 3, 11}, kFloat64), a.h0, a.U_r, a.U_u, a.U_c, a.b_r, a.b_u, a.b_c),
                      "ncgru_recurrence: proj must be [T >= 1, B, 3H] = [T, 3, 12] for h0 [3, 4], got [2, 3, 11]");
  REQUIRE_THROWS_NOVA(ops::ncgru_recurrence(a.proj, a.h0, a.U_r, randn({4, 3}, kFloat64), a.U_c, a.b_r, a.b_u, a.b_c),
                      "ncgru_recurrence: U_u must be [H, H] = [4, 4], got [4, 3]");
  REQUIRE_THROWS_NOVA(ops::ncgru_recurrence(a.proj, a.h0, a.U_r, a.U_u, a.U_c, a.b_r, a.b_u, randn({5}, kFloat64)),
                      "ncgru_recurrence: b_c must be [H] = [4], got [5]");
  REQUIRE_THROWS_NOVA(ops::ncgru_recurrence(a.proj, a.h0, a.U_r, a.U_u, a.U_c, a.b_r.to(kFloat32), a.b_u, a.b_c),
                      "ncgru_recurrence");
  REQUIRE_THROWS_NOVA(ops::ncgru_recurrence(a.proj, Tensor(), a.U_r, a.U_u, a.U_c, a.b_r, a.b_u, a.b_c),
                      "ncgru_recurrence");
}

// float32 takes the fused kernels' SIMD rows (Eigen's exp for the gates) on
// the CPU; it must stay within float rounding of the loop of ops, values and
// gradients. H 40: the [B, 2H] gate rows hold whole SIMD packets and a tail.
TEST_CASE("ncgru_recurrence in float32 stays within float rounding of the loop of ops", "[ncgru_recurrence][grad]") {
  for (auto [T, B, H] : std::vector<std::array<int64_t, 3>>{{5, 3, 7}, {4, 2, 40}}) {
    INFO("T=" << T << " B=" << B << " H=" << H);
    const Args a64 = make_args(T, B, H);
    Args a;
    std::vector<Tensor*> fields = {&a.proj, &a.h0, &a.U_r, &a.U_u, &a.U_c, &a.b_r, &a.b_u, &a.b_c};
    const std::vector<Tensor> src = a64.all();
    for (size_t k = 0; k < fields.size(); ++k) *fields[k] = src[k].detach().to(kFloat32).requires_grad_();
    const Tensor out = run_fused(a), ref = run_composed(a);
    require_close(values(out), values(ref), 1e-5);
    require_close(values(out), loops(a64, T, B, H), 1e-5);
    const Tensor w = uniform(out.shape(), -1, 1, kFloat32);
    const auto g = autograd::grad({ops::sum(out * w)}, a.all());
    const auto g_ref = autograd::grad({ops::sum(ref * w)}, a.all());
    for (size_t k = 0; k < g.size(); ++k) {
      INFO("input " << k);
      require_close(values(g[k]), values(g_ref[k]), 1e-4);
    }
  }
}
