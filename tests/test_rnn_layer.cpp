// tests/test_rnn_layer.cpp: ops::gru_layer / ops::lstm_layer (core/rnn_layer.h),
// one GRU / LSTM layer with its input projection inside the CPU
// whole-sequence kernels, against the composition it replaces (linear over
// all steps, then gru_recurrence / lstm_recurrence): the forward to
// rounding in float32 and float64 (time-major and strided inputs, with and
// without b_ih; bit for bit only where the BLAS sums each product's terms
// in order, as OpenBLAS's AVX-512 kernels do and its AVX2 sgemm does not, so
// not required); every gradient to rounding in float64, with all, some or none of
// the inputs needing one; gradcheck and gradgradcheck; 2 OpenMP threads the
// same bits run to run; above the kernels' hidden-size cutoff (the
// composition itself); bad shapes rejected with the op's name.
#include <omp.h>

#include <cmath>
#include <vector>

#include "core/rnn_layer.h"
#include "kernels/cpu/rnn_sequence.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// A layer's inputs as float64 leaves: x [T, B, I] (or a strided view of
/// [B, T, I] when batch_first), h0, c0 (LSTM), w_ih, b_ih, w_hh, b_hh.
struct Layer {
  bool lstm;
  Tensor x, h0, c0, w_ih, b_ih, w_hh, b_hh;
  Layer(bool lstm_, int64_t T, int64_t B, int64_t I, int64_t H, bool bias, bool batch_first = false)
      : lstm(lstm_) {
    const int64_t G = (lstm ? 4 : 3) * H;
    const double s = 1.0 / std::sqrt(double(H));  // PyTorch's init scale
    x = batch_first ? ops::transpose(leaf({B, T, I}, -2, 2), 0, 1) : leaf({T, B, I}, -2, 2);
    h0 = leaf({B, H});
    c0 = lstm ? leaf({B, H}) : Tensor();
    w_ih = leaf({G, I}, -s, s);
    w_hh = leaf({G, H}, -s, s);
    b_ih = bias ? leaf({G}, -s, s) : Tensor();
    b_hh = bias ? leaf({G}, -s, s) : Tensor();
  }
  std::vector<Tensor> inputs() const {
    std::vector<Tensor> in{x, h0};
    if (lstm) in.push_back(c0);
    for (const Tensor* t : {&w_ih, &b_ih, &w_hh, &b_hh})
      if (t->defined()) in.push_back(*t);
    return in;
  }
  Tensor run() const {
    return lstm ? ops::lstm_layer(x, h0, c0, w_ih, b_ih, w_hh, b_hh) : ops::gru_layer(x, h0, w_ih, b_ih, w_hh, b_hh);
  }
  Tensor composed() const {
    return lstm ? ops::lstm_layer_composed(x, h0, c0, w_ih, b_ih, w_hh, b_hh)
                : ops::gru_layer_composed(x, h0, w_ih, b_ih, w_hh, b_hh);
  }
  /// The same layer in another dtype (x keeps its layout), requires_grad.
  Layer to(DType dtype) const {
    Layer l = *this;
    for (Tensor* t : {&l.h0, &l.c0, &l.w_ih, &l.b_ih, &l.w_hh, &l.b_hh})
      if (t->defined()) *t = t->detach().to(dtype).requires_grad_();
    l.x = ops::transpose(ops::transpose(x, 0, 1).detach().to(dtype), 0, 1).requires_grad_();
    if (x.is_contiguous()) l.x = x.detach().to(dtype).requires_grad_();
    return l;
  }
};

/// Gradients of sum(out * r) with respect to `inputs`.
std::vector<Tensor> grads_of(const Tensor& out, const Tensor& r, const std::vector<Tensor>& inputs) {
  return autograd::grad({ops::sum(out * r)}, inputs);
}

}  // namespace

TEST_CASE("rnn layer ops: forward equals linear + recurrence", "[rnn_layer]") {
  for (bool lstm : {false, true})
    for (DType dtype : {kFloat32, kFloat64})
      for (bool bias : {true, false})
        for (bool batch_first : {false, true}) {
          INFO((lstm ? "LSTM" : "GRU") << " " << dtype_name(dtype) << " bias " << bias << " batch_first "
                                       << batch_first);
          // B 19: a partial 8-row block; H 37 and I 11: partial vectors
          const Layer l = Layer(lstm, 6, 19, 11, 37, bias, batch_first).to(dtype);
          REQUIRE(cpu::rnn_sequence_fits(37));
          require_close_rel(values(l.run()), values(l.composed()), dtype == kFloat32 ? 1e-6 : 1e-14);
        }
}

TEST_CASE("rnn layer ops: gradients equal the composition's", "[rnn_layer][grad]") {
  for (bool lstm : {false, true})
    for (bool bias : {true, false})
      for (bool batch_first : {false, true}) {
        INFO((lstm ? "LSTM" : "GRU") << " bias " << bias << " batch_first " << batch_first);
        const Layer l(lstm, 7, 19, 11, 37, bias, batch_first);
        const std::vector<Tensor> in = l.inputs();
        const Tensor out = l.run(), ref = l.composed();
        const Tensor r = uniform(out.shape(), -1, 1, kFloat64);
        const auto g = grads_of(out, r, in), g_ref = grads_of(ref, r, in);
        for (size_t k = 0; k < in.size(); ++k) {
          INFO("input " << k << " " << in[k].shape().str());
          require_close_rel(values(g[k]), values(g_ref[k]), 1e-12);
        }
      }
}

TEST_CASE("rnn layer ops give the gradients of the inputs that need one only", "[rnn_layer][grad]") {
  for (bool lstm : {false, true}) {
    INFO((lstm ? "LSTM" : "GRU"));
    const Layer l(lstm, 4, 9, 5, 6, true);
    const Tensor r = uniform(l.run().shape(), -1, 1, kFloat64);
    // each input alone, the rest constants: the kernels skip what is not needed
    for (size_t k = 0; k < l.inputs().size(); ++k) {
      INFO("input " << k);
      Layer one = l;
      for (Tensor* t : {&one.x, &one.h0, &one.c0, &one.w_ih, &one.b_ih, &one.w_hh, &one.b_hh})
        if (t->defined()) *t = t->detach();
      std::vector<Tensor> all = one.inputs();
      Tensor wanted = all[k].requires_grad_();
      const auto g = grads_of(one.run(), r, {wanted}), g_ref = grads_of(one.composed(), r, {wanted});
      require_close_rel(values(g[0]), values(g_ref[0]), 1e-12);
    }
    // nothing needs a gradient: no node
    Layer none = l;
    for (Tensor* t : {&none.x, &none.h0, &none.c0, &none.w_ih, &none.b_ih, &none.w_hh, &none.b_hh})
      if (t->defined()) *t = t->detach();
    REQUIRE_FALSE(none.run().requires_grad());
  }
}

TEST_CASE("rnn layer ops: gradcheck and gradgradcheck in float64", "[rnn_layer][grad]") {
  for (bool lstm : {false, true})
    for (bool bias : {true, false}) {
      INFO((lstm ? "LSTM" : "GRU") << " bias " << bias);
      // batch 17: two slices with 2 threads, and a partial 8-row block
      const Layer l(lstm, 3, 17, 2, 3, bias);
      REQUIRE_GRADCHECK([&] { return l.run(); }, l.inputs());
      const Layer s(lstm, 2, 2, 2, 2, bias);
      REQUIRE_GRADGRADCHECK([&] { return s.run(); }, s.inputs());
    }
}

TEST_CASE("rnn layer ops: 2 threads give the same bits run to run, and 1 thread's values", "[rnn_layer]") {
  const int before = omp_get_max_threads();
  for (bool lstm : {false, true}) {
    INFO((lstm ? "LSTM" : "GRU"));
    const Layer l(lstm, 5, 21, 7, 24, true);  // 2 slices at 2 threads: rows 0-9 and 10-20
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
    for (size_t k = 0; k < one.size(); ++k) {  // the weight gradients: slices summed in another order
      INFO("output " << k);
      require_close_rel(two[k], one[k], 1e-14);
    }
  }
  omp_set_num_threads(before);
}

TEST_CASE("rnn layer ops above the kernels' cutoff are the composition", "[rnn_layer]") {
  const int64_t H = cpu::kRnnSequenceMaxHidden + 1;
  REQUIRE_FALSE(cpu::rnn_sequence_fits(H));
  for (bool lstm : {false, true}) {
    const Layer l(lstm, 2, 3, 4, H, true);
    REQUIRE(same_bits(l.run(), l.composed()));
  }
}

TEST_CASE("rnn layer ops reject bad shapes", "[rnn_layer]") {
  const Tensor x = randn({5, 3, 2}, kFloat64), h0 = randn({3, 4}, kFloat64);
  const Tensor w_ih = randn({12, 2}, kFloat64), w_hh = randn({12, 4}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::gru_layer(randn({5, 2, 2}, kFloat64), h0, w_ih, Tensor(), w_hh, Tensor()),
                      "gru_layer: x must be [T >= 1, B, I] with B = 3 (h0 [3, 4]), got [5, 2, 2]");
  REQUIRE_THROWS_NOVA(ops::gru_layer(x, h0, randn({12, 3}, kFloat64), Tensor(), w_hh, Tensor()),
                      "gru_layer: w_ih must be [3H, I] = [12, 2], got [12, 3]");
  REQUIRE_THROWS_NOVA(ops::gru_layer(x, h0, w_ih, randn({4}, kFloat64), w_hh, Tensor()),
                      "gru_layer: b_ih must be [3H] = [12], got [4]");
  REQUIRE_THROWS_NOVA(ops::gru_layer(x, h0, w_ih, Tensor(), randn({12, 3}, kFloat64), Tensor()),
                      "gru_layer: w_hh must be [3H, H] = [12, 4], got [12, 3]");
  REQUIRE_THROWS_NOVA(ops::gru_layer(x, h0, w_ih, Tensor(), w_hh, randn({4}, kFloat64)),
                      "gru_layer: b_hh must be [3H] = [12], got [4]");
  REQUIRE_THROWS_NOVA(ops::gru_layer(x.to(kFloat32), h0, w_ih, Tensor(), w_hh, Tensor()), "gru_layer");
  REQUIRE_THROWS_NOVA(ops::lstm_layer(x, h0, randn({2, 4}, kFloat64), randn({16, 2}, kFloat64), Tensor(),
                                      randn({16, 4}, kFloat64), Tensor()),
                      "lstm_layer: c0 must be [B, H] = [3, 4] as h0, got [2, 4]");
}
