// tests/test_rnn_gates.cpp: gru_gates and lstm_gates, the fused gate math of
// one GRU / LSTM step (core/rnn_gates.h): the forward against plain float64
// loops of PyTorch's equations and against the composed-ops path, the
// gradients of the fused backward kernel against autograd through the
// composed ops, float32 against float64, gradcheck and gradgradcheck (the
// create_graph backward is made of ops), gradients of some inputs only,
// and the argument errors. gru_recurrence / lstm_recurrence (a layer's time
// loop as one node) against a loop of per-step ops, values and gradients,
// gradcheck and gradgradcheck (create_graph recomputes the loop as ops).
#include <cmath>
#include <tuple>
#include <vector>

#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

double sig(double v) { return 1.0 / (1.0 + std::exp(-v)); }

/// h' of a GRU step by plain loops, from [B, 3H], [B, 3H], [B, H] values.
std::vector<double> gru_loops(const std::vector<double>& gi, const std::vector<double>& gh,
                              const std::vector<double>& h, int64_t B, int64_t H) {
  std::vector<double> out(B * H);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      const int64_t row = b * 3 * H;
      const double r = sig(gi[row + j] + gh[row + j]);
      const double z = sig(gi[row + H + j] + gh[row + H + j]);
      const double n = std::tanh(gi[row + 2 * H + j] + r * gh[row + 2 * H + j]);
      out[b * H + j] = (1 - z) * n + z * h[b * H + j];
    }
  return out;
}

/// (h', c') of an LSTM step by plain loops, concatenated: [2, B, H].
std::vector<double> lstm_loops(const std::vector<double>& gi, const std::vector<double>& gh,
                               const std::vector<double>& c, int64_t B, int64_t H) {
  std::vector<double> out(2 * B * H);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      auto pre = [&](int k) { return gi[b * 4 * H + k * H + j] + gh[b * 4 * H + k * H + j]; };
      const double i = sig(pre(0)), f = sig(pre(1)), g = std::tanh(pre(2)), o = sig(pre(3));
      const double cn = f * c[b * H + j] + i * g;
      out[b * H + j] = o * std::tanh(cn);
      out[B * H + b * H + j] = cn;
    }
  return out;
}

void require_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > worst) worst = std::abs(a[i] - b[i]), at = i;
  INFO("worst element " << at << ": " << (a.empty() ? 0 : a[at]) << " vs " << (b.empty() ? 0 : b[at]));
  REQUIRE(worst <= tol);
}

/// Gradients of sum(outs[k] * w[k]) with respect to `inputs`.
std::vector<Tensor> grads_of(const std::vector<Tensor>& outs, const std::vector<Tensor>& w,
                             const std::vector<Tensor>& inputs) {
  Tensor loss = ops::sum(outs[0] * w[0]);
  for (size_t k = 1; k < outs.size(); ++k) loss = loss + ops::sum(outs[k] * w[k]);
  return autograd::grad({loss}, inputs);
}

}  // namespace

TEST_CASE("gru_gates forward equals PyTorch's GRU equations in plain loops", "[rnn_gates]") {
  for (auto [B, H] : std::vector<std::pair<int64_t, int64_t>>{{3, 7}, {1, 1}, {5, 16}, {0, 4}}) {
    INFO("B=" << B << " H=" << H);
    Tensor gi = uniform({B, 3 * H}, -3, 3, kFloat64), gh = uniform({B, 3 * H}, -3, 3, kFloat64);
    Tensor h = uniform({B, H}, -1, 1, kFloat64);
    Tensor out = ops::gru_gates(gi, gh, h);
    REQUIRE(out.shape() == Shape{B, H});
    require_close(values(out), gru_loops(values(gi), values(gh), values(h), B, H), 1e-14);
    require_close(values(out), values(ops::gru_gates_composed(gi, gh, h)), 1e-14);
  }
}

TEST_CASE("lstm_gates forward equals PyTorch's LSTM equations in plain loops", "[rnn_gates]") {
  for (auto [B, H] : std::vector<std::pair<int64_t, int64_t>>{{3, 7}, {1, 1}, {5, 16}, {0, 4}}) {
    INFO("B=" << B << " H=" << H);
    Tensor gi = uniform({B, 4 * H}, -3, 3, kFloat64), gh = uniform({B, 4 * H}, -3, 3, kFloat64);
    Tensor c = uniform({B, H}, -2, 2, kFloat64);
    auto [h_new, c_new] = ops::lstm_gates(gi, gh, c);
    REQUIRE(h_new.shape() == Shape{B, H});
    REQUIRE(c_new.shape() == Shape{B, H});
    std::vector<double> got = values(h_new), got_c = values(c_new);
    got.insert(got.end(), got_c.begin(), got_c.end());
    require_close(got, lstm_loops(values(gi), values(gh), values(c), B, H), 1e-14);
    auto [h_ref, c_ref] = ops::lstm_gates_composed(gi, gh, c);
    require_close(values(h_new), values(h_ref), 1e-14);
    require_close(values(c_new), values(c_ref), 1e-14);
  }
}

TEST_CASE("gru_gates fused backward equals autograd through the composed ops", "[rnn_gates][grad]") {
  const int64_t B = 4, H = 9;
  Tensor gi = leaf({B, 3 * H}, -3, 3), gh = leaf({B, 3 * H}, -3, 3), h = leaf({B, H});
  Tensor w = uniform({B, H}, -1, 1, kFloat64);
  auto fused = grads_of({ops::gru_gates(gi, gh, h)}, {w}, {gi, gh, h});
  auto ref = grads_of({ops::gru_gates_composed(gi, gh, h)}, {w}, {gi, gh, h});
  for (int k = 0; k < 3; ++k) {
    INFO("input " << k);
    require_close(values(fused[k]), values(ref[k]), 1e-14);
  }
}

TEST_CASE("lstm_gates fused backward equals autograd through the composed ops", "[rnn_gates][grad]") {
  const int64_t B = 4, H = 9;
  Tensor gi = leaf({B, 4 * H}, -3, 3), gh = leaf({B, 4 * H}, -3, 3), c = leaf({B, H}, -2, 2);
  Tensor wh = uniform({B, H}, -1, 1, kFloat64), wc = uniform({B, H}, -1, 1, kFloat64);
  auto [h1, c1] = ops::lstm_gates(gi, gh, c);
  auto [h2, c2] = ops::lstm_gates_composed(gi, gh, c);
  SECTION("both outputs used") {
    auto fused = grads_of({h1, c1}, {wh, wc}, {gi, gh, c});
    auto ref = grads_of({h2, c2}, {wh, wc}, {gi, gh, c});
    for (int k = 0; k < 3; ++k) {
      INFO("input " << k);
      require_close(values(fused[k]), values(ref[k]), 1e-14);
    }
  }
  SECTION("only h' used (the last step of a sequence)") {
    auto fused = grads_of({h1}, {wh}, {gi, gh, c});
    auto ref = grads_of({h2}, {wh}, {gi, gh, c});
    for (int k = 0; k < 3; ++k) {
      INFO("input " << k);
      require_close(values(fused[k]), values(ref[k]), 1e-14);
    }
  }
}

TEST_CASE("rnn_gates give the gradient of the inputs that need one only", "[rnn_gates][grad]") {
  const int64_t B = 2, H = 5;
  Tensor gi = uniform({B, 3 * H}, -1, 1, kFloat64), gh = uniform({B, 3 * H}, -1, 1, kFloat64);
  Tensor h = leaf({B, H});
  ops::sum(ops::gru_gates(gi, gh, h)).backward();
  REQUIRE(h.grad().defined());
  Tensor h_ref = h.detach().requires_grad_();
  ops::sum(ops::gru_gates_composed(gi, gh, h_ref)).backward();
  require_close(values(h.grad()), values(h_ref.grad()), 1e-14);

  Tensor gi4 = leaf({B, 4 * H}), gh4 = uniform({B, 4 * H}, -1, 1, kFloat64);
  Tensor c = uniform({B, H}, -1, 1, kFloat64);
  ops::sum(ops::lstm_gates(gi4, gh4, c).second).backward();
  Tensor gi_ref = gi4.detach().requires_grad_();
  ops::sum(ops::lstm_gates_composed(gi_ref, gh4, c).second).backward();
  require_close(values(gi4.grad()), values(gi_ref.grad()), 1e-14);
}

TEST_CASE("rnn_gates float32 agrees with float64", "[rnn_gates]") {
  const int64_t B = 6, H = 33;
  Tensor gi = uniform({B, 4 * H}, -3, 3, kFloat64), gh = uniform({B, 4 * H}, -3, 3, kFloat64);
  Tensor s = uniform({B, H}, -1, 1, kFloat64);
  auto f32 = [](const Tensor& t) { return t.to(kFloat32); };
  Tensor gi3 = ops::narrow(gi, 1, 0, 3 * H), gh3 = ops::narrow(gh, 1, 0, 3 * H);  // strided inputs too
  Tensor g64 = ops::gru_gates(gi3, gh3, s), g32 = ops::gru_gates(f32(gi3), f32(gh3), f32(s));
  REQUIRE(g32.dtype() == kFloat32);
  require_close(values(g32), values(g64), 1e-6);
  auto l64 = ops::lstm_gates(gi, gh, s);
  auto l32 = ops::lstm_gates(f32(gi), f32(gh), f32(s));
  require_close(values(l32.first), values(l64.first), 1e-6);
  require_close(values(l32.second), values(l64.second), 1e-5);
}

TEST_CASE("rnn_gates grads match finite differences", "[rnn_gates][grad]") {
  const int64_t B = 3, H = 4;
  Tensor gi = leaf({B, 3 * H}, -2, 2), gh = leaf({B, 3 * H}, -2, 2), h = leaf({B, H});
  REQUIRE_GRADCHECK([&] { return ops::gru_gates(gi, gh, h); }, (std::vector<Tensor>{gi, gh, h}));
  Tensor gi4 = leaf({B, 4 * H}, -2, 2), gh4 = leaf({B, 4 * H}, -2, 2), c = leaf({B, H});
  auto lstm = [&] {
    auto [hn, cn] = ops::lstm_gates(gi4, gh4, c);
    return ops::stack({hn, cn});
  };
  REQUIRE_GRADCHECK(lstm, (std::vector<Tensor>{gi4, gh4, c}));
}

TEST_CASE("rnn_gates second derivatives match finite differences", "[rnn_gates][grad]") {
  const int64_t B = 2, H = 3;
  Tensor gi = leaf({B, 3 * H}, -2, 2), gh = leaf({B, 3 * H}, -2, 2), h = leaf({B, H});
  REQUIRE_GRADGRADCHECK([&] { return ops::gru_gates(gi, gh, h); }, (std::vector<Tensor>{gi, gh, h}));
  Tensor gi4 = leaf({B, 4 * H}, -2, 2), gh4 = leaf({B, 4 * H}, -2, 2), c = leaf({B, H});
  auto lstm = [&] {
    auto [hn, cn] = ops::lstm_gates(gi4, gh4, c);
    return ops::stack({hn, cn});
  };
  REQUIRE_GRADGRADCHECK(lstm, (std::vector<Tensor>{gi4, gh4, c}));
}

TEST_CASE("rnn_gates reject bad shapes, dtypes and missing inputs", "[rnn_gates]") {
  Tensor h = randn({3, 7}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::gru_gates(randn({3, 20}, kFloat64), randn({3, 21}, kFloat64), h),
                      "gru_gates: gi must be [B, 3H] = [3, 21] for h [3, 7], got [3, 20]");
  REQUIRE_THROWS_NOVA(ops::gru_gates(randn({3, 21}, kFloat64), randn({2, 21}, kFloat64), h),
                      "gru_gates: gh must be [B, 3H] = [3, 21] for h [3, 7], got [2, 21]");
  REQUIRE_THROWS_NOVA(ops::gru_gates(randn({3, 21}, kFloat64), randn({3, 21}, kFloat64), randn({21}, kFloat64)),
                      "gru_gates: h must be 2-D [B, H], got [21]");
  REQUIRE_THROWS_NOVA(ops::gru_gates(randn({3, 21}), randn({3, 21}, kFloat64), h), "gru_gates");
  REQUIRE_THROWS_NOVA(ops::gru_gates(Tensor(), randn({3, 21}, kFloat64), h), "gru_gates");
  REQUIRE_THROWS_NOVA(ops::lstm_gates(randn({3, 21}, kFloat64), randn({3, 21}, kFloat64), h),
                      "lstm_gates: gi must be [B, 4H] = [3, 28] for c [3, 7], got [3, 21]");
  REQUIRE_THROWS_NOVA(ops::lstm_gates(randint(0, 3, {3, 28}), randint(0, 3, {3, 28}), randint(0, 3, {3, 7})),
                      "lstm_gates");
}

namespace {

/// gru_recurrence as a loop of per-step ops (the reference).
Tensor gru_loop(const Tensor& gi, const Tensor& h0, const Tensor& w, const Tensor& b) {
  Tensor h = h0;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < gi.size(0); ++t) {
    h = ops::gru_gates_composed(ops::select(gi, 0, t), ops::linear(h, w, b), h);
    steps.push_back(h);
  }
  return ops::stack(steps, 0);
}

/// lstm_recurrence as a loop of per-step ops: [T, 2, B, H].
Tensor lstm_loop(const Tensor& gi, const Tensor& h0, const Tensor& c0, const Tensor& w, const Tensor& b) {
  Tensor h = h0, c = c0;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < gi.size(0); ++t) {
    std::tie(h, c) = ops::lstm_gates_composed(ops::select(gi, 0, t), ops::linear(h, w, b), c);
    steps.push_back(ops::stack({h, c}, 0));
  }
  return ops::stack(steps, 0);
}

}  // namespace

TEST_CASE("gru_recurrence and lstm_recurrence equal a loop of per-step ops, values and gradients",
          "[rnn_gates][grad]") {
  const int64_t T = 6, B = 3, H = 5;
  for (bool with_bias : {true, false}) {
    INFO("bias " << with_bias);
    Tensor gi = leaf({T, B, 3 * H}, -2, 2), h0 = leaf({B, H}), w = leaf({3 * H, H});
    Tensor b = with_bias ? leaf({3 * H}) : Tensor();
    std::vector<Tensor> in{gi, h0, w};
    if (with_bias) in.push_back(b);
    Tensor out = ops::gru_recurrence(gi, h0, w, b), ref = gru_loop(gi, h0, w, b);
    require_close(values(out), values(ref), 1e-14);
    Tensor r = uniform(out.shape(), -1, 1, kFloat64);
    auto g = grads_of({out}, {r}, in), g_ref = grads_of({ref}, {r}, in);
    for (size_t k = 0; k < in.size(); ++k) {
      INFO("GRU input " << k);
      require_close(values(g[k]), values(g_ref[k]), 1e-13);
    }
    Tensor gi4 = leaf({T, B, 4 * H}, -2, 2), c0 = leaf({B, H}), w4 = leaf({4 * H, H});
    Tensor b4 = with_bias ? leaf({4 * H}) : Tensor();
    std::vector<Tensor> in4{gi4, h0, c0, w4};
    if (with_bias) in4.push_back(b4);
    Tensor hc = ops::lstm_recurrence(gi4, h0, c0, w4, b4), hc_ref = lstm_loop(gi4, h0, c0, w4, b4);
    REQUIRE(hc.shape() == Shape{T, 2, B, H});
    require_close(values(hc), values(hc_ref), 1e-14);
    Tensor r4 = uniform(hc.shape(), -1, 1, kFloat64);
    auto g4 = grads_of({hc}, {r4}, in4), g4_ref = grads_of({hc_ref}, {r4}, in4);
    for (size_t k = 0; k < in4.size(); ++k) {
      INFO("LSTM input " << k);
      require_close(values(g4[k]), values(g4_ref[k]), 1e-13);
    }
  }
}

TEST_CASE("rnn recurrences: gradcheck and gradgradcheck", "[rnn_gates][grad]") {
  const int64_t T = 3, B = 2, H = 2;
  Tensor gi = leaf({T, B, 3 * H}, -2, 2), h0 = leaf({B, H}), w = leaf({3 * H, H}), b = leaf({3 * H});
  auto gru = [&] { return ops::gru_recurrence(gi, h0, w, b); };
  REQUIRE_GRADCHECK(gru, (std::vector<Tensor>{gi, h0, w, b}));
  REQUIRE_GRADGRADCHECK(gru, (std::vector<Tensor>{gi, h0, w, b}));
  Tensor gi4 = leaf({T, B, 4 * H}, -2, 2), c0 = leaf({B, H}), w4 = leaf({4 * H, H}), b4 = leaf({4 * H});
  auto lstm = [&] { return ops::lstm_recurrence(gi4, h0, c0, w4, b4); };
  REQUIRE_GRADCHECK(lstm, (std::vector<Tensor>{gi4, h0, c0, w4, b4}));
  REQUIRE_GRADGRADCHECK(lstm, (std::vector<Tensor>{gi4, h0, c0, w4, b4}));
}

TEST_CASE("rnn recurrences reject bad shapes", "[rnn_gates]") {
  Tensor h0 = randn({3, 4}, kFloat64), w = randn({12, 4}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::gru_recurrence(randn({5, 3, 11}, kFloat64), h0, w, Tensor()),
                      "gru_recurrence: gi must be [T >= 1, B, 3H] = [T, 3, 12] for h0 [3, 4], got [5, 3, 11]");
  REQUIRE_THROWS_NOVA(ops::gru_recurrence(randn({0, 3, 12}, kFloat64), h0, w, Tensor()), "gru_recurrence: gi must be");
  REQUIRE_THROWS_NOVA(ops::gru_recurrence(randn({5, 3, 12}, kFloat64), h0, randn({12, 3}, kFloat64), Tensor()),
                      "gru_recurrence: w_hh must be [3H, H] = [12, 4], got [12, 3]");
  REQUIRE_THROWS_NOVA(ops::gru_recurrence(randn({5, 3, 12}, kFloat64), h0, w, randn({4}, kFloat64)),
                      "gru_recurrence: b_hh must be [3H] = [12], got [4]");
  REQUIRE_THROWS_NOVA(ops::lstm_recurrence(randn({5, 3, 16}, kFloat64), h0, randn({2, 4}, kFloat64),
                                           randn({16, 4}, kFloat64), Tensor()),
                      "lstm_recurrence: c0 must be [B, H] = [3, 4] as h0, got [2, 4]");
}
