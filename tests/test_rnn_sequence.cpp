// tests/test_rnn_sequence.cpp: the whole-sequence CPU kernels behind
// ops::gru_recurrence / ops::lstm_recurrence (kernels/cpu/rnn_sequence.h),
// which take every CPU layer of hidden size up to kRnnSequenceMaxHidden.
// Forward against PyTorch's equations in plain float64 loops; values and
// gradients of every input against a loop of per-step ops (linear + the fused
// gru_gates / lstm_gates kernels: the per-step path) around the cutoff, at
// batch 1, T 1, batch sizes that leave a partial 8-row GEMM block, with and
// without b_hh, h0 / c0 nonzero; float32 against float64; gradcheck in
// float64; gradients of some inputs only; 2 OpenMP threads (batch slices)
// give the same bits run to run and 1 thread's values to rounding.
#include <omp.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/cpu/rnn_sequence.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

double sig(double v) { return 1.0 / (1.0 + std::exp(-v)); }

/// One layer's recurrence by plain float64 loops, PyTorch's equations:
/// gi [T, B, kH], h0 (c0) [B, H], w [kH, H], b [kH] (empty: none). GRU
/// returns every h_t [T, B, H]; LSTM every (h_t, c_t) [T, 2, B, H].
std::vector<double> recurrence_loops(bool lstm, const std::vector<double>& gi, const std::vector<double>& h0,
                                     const std::vector<double>& c0, const std::vector<double>& w,
                                     const std::vector<double>& b, int64_t T, int64_t B, int64_t H) {
  const int64_t G = (lstm ? 4 : 3) * H;
  std::vector<double> h = h0, c = c0, out;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> gh(B * G), hn(B * H), cn(B * H);
    for (int64_t r = 0; r < B; ++r)
      for (int64_t k = 0; k < G; ++k) {
        double s = b.empty() ? 0.0 : b[k];
        for (int64_t j = 0; j < H; ++j) s += h[r * H + j] * w[k * H + j];
        gh[r * G + k] = s;
      }
    for (int64_t r = 0; r < B; ++r)
      for (int64_t j = 0; j < H; ++j) {
        auto x = [&](int q) { return gi[(t * B + r) * G + q * H + j]; };
        auto y = [&](int q) { return gh[r * G + q * H + j]; };
        if (lstm) {
          const double i = sig(x(0) + y(0)), f = sig(x(1) + y(1)), g = std::tanh(x(2) + y(2)),
                       o = sig(x(3) + y(3));
          cn[r * H + j] = f * c[r * H + j] + i * g;
          hn[r * H + j] = o * std::tanh(cn[r * H + j]);
        } else {
          const double rr = sig(x(0) + y(0)), z = sig(x(1) + y(1)), n = std::tanh(x(2) + rr * y(2));
          hn[r * H + j] = (1 - z) * n + z * h[r * H + j];
        }
      }
    h = hn;
    c = cn;
    out.insert(out.end(), h.begin(), h.end());
    if (lstm) out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

/// The per-step path: a loop of linear + fused gate ops.
Tensor gru_steps(const Tensor& gi, const Tensor& h0, const Tensor& w, const Tensor& b) {
  Tensor h = h0;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < gi.size(0); ++t) {
    h = ops::gru_gates(ops::select(gi, 0, t), ops::linear(h, w, b), h);
    steps.push_back(h);
  }
  return ops::stack(steps, 0);
}

Tensor lstm_steps(const Tensor& gi, const Tensor& h0, const Tensor& c0, const Tensor& w, const Tensor& b) {
  Tensor h = h0, c = c0;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < gi.size(0); ++t) {
    std::tie(h, c) = ops::lstm_gates(ops::select(gi, 0, t), ops::linear(h, w, b), c);
    steps.push_back(ops::stack({h, c}, 0));
  }
  return ops::stack(steps, 0);
}

/// A layer's inputs, float64 leaves: gi, h0, c0 (LSTM), w_hh, b_hh (or none).
struct Layer {
  bool lstm;
  Tensor gi, h0, c0, w, b;
  Layer(bool lstm_, int64_t T, int64_t B, int64_t H, bool bias) : lstm(lstm_) {
    const int64_t G = (lstm ? 4 : 3) * H;
    const double s = 1.0 / std::sqrt(double(H));  // PyTorch's init scale: gates neither saturated nor flat
    gi = leaf({T, B, G}, -2, 2);
    h0 = leaf({B, H});
    c0 = lstm ? leaf({B, H}) : Tensor();
    w = leaf({G, H}, -s, s);
    b = bias ? leaf({G}, -s, s) : Tensor();
  }
  std::vector<Tensor> inputs() const {
    std::vector<Tensor> in{gi, h0};
    if (lstm) in.push_back(c0);
    in.push_back(w);
    if (b.defined()) in.push_back(b);
    return in;
  }
  Tensor run() const {
    return lstm ? ops::lstm_recurrence(gi, h0, c0, w, b) : ops::gru_recurrence(gi, h0, w, b);
  }
  Tensor run_steps() const { return lstm ? lstm_steps(gi, h0, c0, w, b) : gru_steps(gi, h0, w, b); }
  /// The same layer in another dtype, detached, with requires_grad.
  Layer to(DType dtype) const {
    Layer l = *this;
    for (Tensor* t : {&l.gi, &l.h0, &l.c0, &l.w, &l.b})
      if (t->defined()) *t = t->detach().to(dtype).requires_grad_();
    return l;
  }
};

/// Gradients of sum(out * r) with respect to `inputs`.
std::vector<Tensor> grads_of(const Tensor& out, const Tensor& r, const std::vector<Tensor>& inputs) {
  return autograd::grad({ops::sum(out * r)}, inputs);
}

}  // namespace

TEST_CASE("rnn sequence kernels: forward equals PyTorch's equations in plain float64 loops",
          "[rnn_sequence][rnn_gates]") {
  for (bool lstm : {false, true})
    for (auto [T, B, H] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
             {1, 1, 1}, {4, 1, 7}, {3, 9, 33}, {5, 17, 50}, {2, 3, 130}})
      for (bool bias : {true, false}) {
        INFO((lstm ? "LSTM" : "GRU") << " T " << T << " B " << B << " H " << H << " bias " << bias);
        REQUIRE(cpu::rnn_sequence_fits(H));
        const Layer l(lstm, T, B, H, bias);
        const std::vector<double> ref =
            recurrence_loops(lstm, values(l.gi), values(l.h0), lstm ? values(l.c0) : std::vector<double>(),
                             values(l.w), bias ? values(l.b) : std::vector<double>(), T, B, H);
        require_close_rel(values(l.run()), ref, 1e-13);
      }
}

TEST_CASE("rnn sequence kernels equal the per-step path around the cutoff, values and gradients",
          "[rnn_sequence][rnn_gates][grad]") {
  const int64_t cut = cpu::kRnnSequenceMaxHidden;
  for (bool lstm : {false, true})
    for (auto [T, B, H] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
             {1, 1, 5}, {1, 9, 16}, {6, 1, 33}, {6, 3, 5}, {4, 17, 40}, {3, 9, 64}, {2, 5, cut}, {2, 5, cut + 1}})
      for (bool bias : {true, false}) {
        INFO((lstm ? "LSTM" : "GRU") << " T " << T << " B " << B << " H " << H << " bias " << bias
                                     << (cpu::rnn_sequence_fits(H) ? " (whole sequence)" : " (per step)"));
        const Layer l(lstm, T, B, H, bias);
        const std::vector<Tensor> in = l.inputs();
        const Tensor out = l.run(), ref = l.run_steps();
        REQUIRE(out.shape() == ref.shape());
        require_close_rel(values(out), values(ref), 1e-13);
        const Tensor r = uniform(out.shape(), -1, 1, kFloat64);
        const auto g = grads_of(out, r, in), g_ref = grads_of(ref, r, in);
        for (size_t k = 0; k < in.size(); ++k) {
          INFO("input " << k << " " << in[k].shape().str());
          require_close_rel(values(g[k]), values(g_ref[k]), 1e-12);
        }
      }
}

TEST_CASE("rnn sequence kernels: float32 agrees with float64", "[rnn_sequence][rnn_gates][grad]") {
  for (bool lstm : {false, true})
    for (auto [T, B, H] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{20, 16, 50}, {5, 11, 100}}) {
      INFO((lstm ? "LSTM" : "GRU") << " T " << T << " B " << B << " H " << H);
      const Layer l64(lstm, T, B, H, true), l32 = l64.to(kFloat32);
      const Tensor out64 = l64.run(), out32 = l32.run();
      REQUIRE(out32.dtype() == kFloat32);
      require_close_rel(values(out32), values(out64), 1e-5);
      const Tensor r = uniform(out64.shape(), -1, 1, kFloat64);
      const auto g64 = grads_of(out64, r, l64.inputs()), g32 = grads_of(out32, r.to(kFloat32), l32.inputs());
      for (size_t k = 0; k < g64.size(); ++k) {
        INFO("input " << k);
        require_close_rel(values(g32[k]), values(g64[k]), 1e-4);
      }
    }
}

TEST_CASE("rnn sequence kernels: gradcheck in float64", "[rnn_sequence][rnn_gates][grad]") {
  for (bool lstm : {false, true})
    for (bool bias : {true, false}) {
      INFO((lstm ? "LSTM" : "GRU") << " bias " << bias);
      // batch 17: two slices with 2 threads, and a partial 8-row block
      const Layer l(lstm, 3, 17, 3, bias);
      REQUIRE_GRADCHECK([&] { return l.run(); }, l.inputs());
    }
}

TEST_CASE("rnn sequence kernels give the gradients of the inputs that need one only",
          "[rnn_sequence][rnn_gates][grad]") {
  for (bool lstm : {false, true}) {
    INFO((lstm ? "LSTM" : "GRU"));
    const Layer l(lstm, 4, 3, 6, true);
    Layer frozen = l;  // the weights as constants: no weight GEMM, no bias sum
    frozen.w = l.w.detach();
    frozen.b = l.b.detach();
    std::vector<Tensor> in{l.gi, l.h0};
    if (lstm) in.push_back(l.c0);
    const Tensor r = uniform(l.run().shape(), -1, 1, kFloat64);
    const auto g = grads_of(frozen.run(), r, in), g_ref = grads_of(l.run_steps(), r, in);
    for (size_t k = 0; k < in.size(); ++k) require_close_rel(values(g[k]), values(g_ref[k]), 1e-12);
    // and the weights alone
    const auto gw = grads_of(l.run(), r, {l.w, l.b}), gw_ref = grads_of(l.run_steps(), r, {l.w, l.b});
    require_close_rel(values(gw[0]), values(gw_ref[0]), 1e-12);
    require_close_rel(values(gw[1]), values(gw_ref[1]), 1e-12);
  }
}

TEST_CASE("rnn sequence kernels: 2 threads give the same bits run to run, and 1 thread's values",
          "[rnn_sequence][rnn_gates]") {
  const int before = omp_get_max_threads();
  for (bool lstm : {false, true}) {
    INFO((lstm ? "LSTM" : "GRU"));
    const Layer l(lstm, 5, 21, 24, true);  // 2 slices at 2 threads: rows 0-9 and 10-20
    const Tensor r = uniform(l.run().shape(), -1, 1, kFloat64);
    auto run = [&](int threads) {
      omp_set_num_threads(threads);
      const Tensor out = l.run();
      std::vector<std::vector<double>> got{values(out)};
      for (const Tensor& g : grads_of(out, r, l.inputs())) got.push_back(values(g));
      return got;
    };
    const auto one = run(1), two = run(2), again = run(2);
    REQUIRE(two == again);
    // the weight gradients are summed over slices in another order: rounding
    for (size_t k = 0; k < one.size(); ++k) {
      INFO("output " << k);
      require_close_rel(two[k], one[k], 1e-14);
    }
  }
  omp_set_num_threads(before);
}
