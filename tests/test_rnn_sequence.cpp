// tests/test_rnn_sequence.cpp: the fused GRU recurrence (core/rnn_sequence.h)
// against the same recurrence built step by step from ops in float64
// (forward and every input's gradient), gradcheck, float32 against float64,
// no bias, a multi-threaded run against one thread, the empty sequence, the
// refusal of second derivatives and of bad shapes.
#include <omp.h>

#include <vector>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// PyTorch's GRU cell step by step from ops: the reference.
Tensor gru_by_steps(const Tensor& gi, const Tensor& h0, const Tensor& w, const Tensor& b) {
  const int64_t Tn = gi.size(0), H = gi.size(2) / 3;
  Tensor h = h0;
  std::vector<Tensor> hs;
  for (int64_t t = 0; t < Tn; ++t) {
    Tensor gh = ops::matmul(h, w.t());
    if (b.defined()) gh = ops::add(gh, b);
    const Tensor g = gi.select(0, t);
    const Tensor r = ops::sigmoid(ops::add(g.narrow(1, 0, H), gh.narrow(1, 0, H)));
    const Tensor z = ops::sigmoid(ops::add(g.narrow(1, H, H), gh.narrow(1, H, H)));
    const Tensor n = ops::tanh(ops::add(g.narrow(1, 2 * H, H), ops::mul(r, gh.narrow(1, 2 * H, H))));
    h = ops::add(ops::mul(ops::sub(ones_like(z), z), n), ops::mul(z, h));
    hs.push_back(h);
  }
  return ops::stack(hs, 0);
}

struct Inputs {
  Tensor gi, h0, w, b;
};

Inputs make_inputs(int64_t Tn, int64_t B, int64_t H, bool bias, DType dtype = kFloat64) {
  Generator gen(uint64_t(Tn * 1000 + B * 10 + H));
  Inputs in;
  in.gi = uniform({Tn, B, 3 * H}, -1.5, 1.5, dtype, kCPU, &gen).requires_grad_();
  in.h0 = uniform({B, H}, -1.0, 1.0, dtype, kCPU, &gen).requires_grad_();
  in.w = uniform({3 * H, H}, -0.6, 0.6, dtype, kCPU, &gen).requires_grad_();
  if (bias) in.b = uniform({3 * H}, -0.5, 0.5, dtype, kCPU, &gen).requires_grad_();
  return in;
}

/// Gradients of sum(hs * C) w.r.t. gi, h0, w (and b).
std::vector<Tensor> grads_of(const Tensor& hs, const Inputs& in, const Tensor& C) {
  std::vector<Tensor> wrt{in.gi, in.h0, in.w};
  if (in.b.defined()) wrt.push_back(in.b);
  return autograd::grad({ops::sum(ops::mul(hs, C))}, wrt);
}

}  // namespace

TEST_CASE("gru_sequence equals the step-by-step GRU, forward and gradients", "[rnn_sequence]") {
  for (bool bias : {true, false}) {
    for (auto [Tn, B, H] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {5, 3, 4}, {12, 2, 7}}) {
      INFO("T " << Tn << " B " << B << " H " << H << " bias " << bias);
      const Inputs in = make_inputs(Tn, B, H, bias);
      const Tensor fused = ops::gru_sequence(in.gi, in.h0, in.w, in.b);
      const Tensor ref = gru_by_steps(in.gi, in.h0, in.w, in.b);
      CHECK(max_abs_diff(fused, ref) < 1e-13);
      const Tensor C = uniform({Tn, B, H}, -1.0, 1.0, kFloat64);
      const auto gf = grads_of(fused, in, C), gr = grads_of(ref, in, C);
      REQUIRE(gf.size() == gr.size());
      for (size_t i = 0; i < gf.size(); ++i) {
        INFO("gradient " << i);
        CHECK(max_abs_diff(gf[i], gr[i]) < 1e-12);
      }
    }
  }
}

TEST_CASE("gru_sequence passes gradcheck in float64", "[rnn_sequence]") {
  const Inputs in = make_inputs(4, 2, 3, true);
  auto r = gradcheck([&] { return ops::gru_sequence(in.gi, in.h0, in.w, in.b); }, {in.gi, in.h0, in.w, in.b});
  INFO(r.report);
  CHECK(r.ok);
  // only the last state feeding a loss (the view hs[T-1]) still reaches every input
  auto last = gradcheck([&] { return ops::gru_sequence(in.gi, in.h0, in.w, in.b).select(0, 3); },
                        {in.gi, in.h0, in.w, in.b});
  INFO(last.report);
  CHECK(last.ok);
}

TEST_CASE("gru_sequence in float32 agrees with float64", "[rnn_sequence]") {
  const Inputs d = make_inputs(30, 4, 16, true);
  Inputs f{d.gi.detach().to(kFloat32).requires_grad_(), d.h0.detach().to(kFloat32).requires_grad_(),
           d.w.detach().to(kFloat32).requires_grad_(), d.b.detach().to(kFloat32).requires_grad_()};
  const Tensor C = uniform({30, 4, 16}, -1.0, 1.0, kFloat64);
  const Tensor hd = ops::gru_sequence(d.gi, d.h0, d.w, d.b), hf = ops::gru_sequence(f.gi, f.h0, f.w, f.b);
  CHECK(max_abs_diff(hf.to(kFloat64), hd) < 1e-5);
  const auto gd = grads_of(hd, d, C), gf = grads_of(hf, f, C.to(kFloat32));
  for (size_t i = 0; i < gd.size(); ++i) {
    INFO("gradient " << i);
    CHECK(max_abs_diff(gf[i].to(kFloat64), gd[i]) < 1e-4 * std::max(1.0, max_abs_diff(gd[i], zeros_like(gd[i]))));
  }
}

TEST_CASE("gru_sequence gives the same result on several threads as on one", "[rnn_sequence]") {
  // T * B * 3H * H above the kernel's threading threshold
  const Inputs in = make_inputs(40, 16, 64, true);
  const Tensor C = uniform({40, 16, 64}, -1.0, 1.0, kFloat64);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const Tensor h1 = ops::gru_sequence(in.gi, in.h0, in.w, in.b);
  const auto g1 = grads_of(h1, in, C);
  omp_set_num_threads(3);
  const Tensor h3 = ops::gru_sequence(in.gi, in.h0, in.w, in.b);
  const auto g3 = grads_of(h3, in, C);
  omp_set_num_threads(saved);
  CHECK(max_abs_diff(h1, h3) < 1e-13);
  for (size_t i = 0; i < g1.size(); ++i) CHECK(max_abs_diff(g1[i], g3[i]) < 1e-11);
}

TEST_CASE("gru_sequence of an empty sequence is empty and its gradients zero", "[rnn_sequence]") {
  const Inputs in = make_inputs(0, 3, 2, true);
  const Tensor hs = ops::gru_sequence(in.gi, in.h0, in.w, in.b);
  CHECK(hs.shape() == Shape({0, 3, 2}));
  ops::sum(hs).backward();
  CHECK(max_abs_diff(in.h0.grad(), zeros_like(in.h0)) == 0.0);
  CHECK(max_abs_diff(in.w.grad(), zeros_like(in.w)) == 0.0);
}

TEST_CASE("gru_sequence refuses second derivatives and bad shapes", "[rnn_sequence][errors]") {
  const Inputs in = make_inputs(3, 2, 2, true);
  const Tensor hs = ops::gru_sequence(in.gi, in.h0, in.w, in.b);
  CHECK_THROWS_WITH(autograd::grad({ops::sum(hs)}, {in.w}, {}, /*create_graph=*/true),
                    Catch::Contains("second derivatives (create_graph) are not supported"));
  CHECK_THROWS_WITH(ops::gru_sequence(zeros({3, 2, 5}, kFloat64), in.h0, in.w, in.b),
                    Catch::Contains("gi must be [T, B, 3H]"));
  CHECK_THROWS_WITH(ops::gru_sequence(in.gi, zeros({3, 2}, kFloat64), in.w, in.b),
                    Catch::Contains("h0 must be [2, 2]"));
  CHECK_THROWS_WITH(ops::gru_sequence(in.gi, in.h0, zeros({6, 3}, kFloat64), in.b),
                    Catch::Contains("w_hh must be [6, 2]"));
  CHECK_THROWS_WITH(ops::gru_sequence(in.gi, in.h0, in.w, zeros({5}, kFloat64)), Catch::Contains("b_hh must be [6]"));
  CHECK_THROWS_WITH(ops::gru_sequence(in.gi, in.h0.detach().to(kFloat32), in.w, in.b),
                    Catch::Contains("dtype mismatch"));
}
