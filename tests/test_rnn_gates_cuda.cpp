// tests/test_rnn_gates_cuda.cpp: CPU/CUDA parity of gru_gates and
// lstm_gates (core/rnn_gates.h), forward and the gradients of every input
// through the fused backward kernels, float32 within 1e-5 relative and
// float64 within 1e-12, at odd sizes (B * H below and above a block, and
// empty), with strided inputs; and the create_graph backward (made of ops)
// on the GPU against the CPU; gru_recurrence / lstm_recurrence (the layer
// loop as one node), forward and backward through time.
#include <cmath>
#include <functional>
#include <tuple>
#include <vector>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Inputs = std::vector<Tensor>;
using Fn = std::function<Tensor(const Inputs&)>;

/// f(inputs) on the CPU and on cuda:0: the results and the gradients of
/// every input agree, within parity_tolerance, or `f32_tol` for float32.
void check(const Inputs& base, const Fn& f, double f32_tol = parity_tolerance(kFloat32)) {
  const double tol = base[0].dtype() == kFloat32 ? f32_tol : parity_tolerance(kFloat64);
  Inputs c, g;
  for (const Tensor& t : base) {
    c.push_back(t.clone().requires_grad_());
    g.push_back(t.to(gpu()).requires_grad_());
  }
  Tensor yc = f(c), yg = f(g);
  require_parity(yc, yg, tol);
  Tensor grad = uniform(yc.shape(), -1.0, 1.0, yc.dtype());
  yc.backward(grad);
  yg.backward(grad.to(gpu()));
  for (size_t i = 0; i < c.size(); ++i) {
    INFO("gradient of input " << i);
    require_parity(c[i].grad(), g[i].grad(), tol);
  }
}

Tensor lstm_both(const Inputs& in) {
  auto [h, c] = ops::lstm_gates(in[0], in[1], in[2]);
  return ops::stack({h, c});
}

}  // namespace

TEST_CASE("gru_gates and lstm_gates agree on CPU and CUDA", "[rnn_gates][cuda]") {
  for (DType dt : {kFloat32, kFloat64}) {
    for (auto [B, H] : std::vector<std::pair<int64_t, int64_t>>{{3, 7}, {1, 1}, {16, 50}, {128, 100}, {0, 5}, {33, 257}}) {
      INFO(dtype_name(dt) << " B=" << B << " H=" << H);
      check({uniform({B, 3 * H}, -3, 3, dt), uniform({B, 3 * H}, -3, 3, dt), uniform({B, H}, -1, 1, dt)},
            [](const Inputs& in) { return ops::gru_gates(in[0], in[1], in[2]); });
      check({uniform({B, 4 * H}, -3, 3, dt), uniform({B, 4 * H}, -3, 3, dt), uniform({B, H}, -2, 2, dt)},
            lstm_both);
      // only h' reaches the loss: dL/dc' is zero
      check({uniform({B, 4 * H}, -3, 3, dt), uniform({B, 4 * H}, -3, 3, dt), uniform({B, H}, -2, 2, dt)},
            [](const Inputs& in) { return ops::lstm_gates(in[0], in[1], in[2]).first; });
    }
  }
}

TEST_CASE("rnn_gates take strided inputs on CUDA", "[rnn_gates][cuda]") {
  const int64_t B = 5, H = 9;
  check({uniform({B, 4 * H}, -3, 3, kFloat64), uniform({4 * H, B}, -3, 3, kFloat64), uniform({B, H}, -1, 1, kFloat64)},
        [H](const Inputs& in) {
          return ops::gru_gates(ops::narrow(in[0], 1, 0, 3 * H), ops::narrow(ops::transpose(in[1], 0, 1), 1, H, 3 * H),
                                in[2]);
        });
}

TEST_CASE("rnn_gates second order agrees on CPU and CUDA", "[rnn_gates][cuda][grad]") {
  const int64_t B = 4, H = 6;
  for (int lstm = 0; lstm < 2; ++lstm) {
    INFO((lstm ? "lstm_gates" : "gru_gates"));
    const int64_t k = lstm ? 4 : 3;
    Inputs base{uniform({B, k * H}, -2, 2, kFloat64), uniform({B, k * H}, -2, 2, kFloat64), uniform({B, H}, -1, 1, kFloat64)};
    std::vector<Inputs> grads2;
    for (Device d : {kCPU, gpu()}) {
      Inputs in;
      for (const Tensor& t : base) in.push_back(t.to(d).requires_grad_());
      Tensor y = lstm ? lstm_both(in) : ops::gru_gates(in[0], in[1], in[2]);
      auto g1 = autograd::grad({ops::sum(y * y)}, in, {}, /*create_graph=*/true);
      Tensor gsum = ops::sum(g1[0] * g1[0]) + ops::sum(g1[1] * g1[1]) + ops::sum(g1[2] * g1[2]);
      grads2.push_back(autograd::grad({gsum}, in));
    }
    for (int i = 0; i < 3; ++i) require_parity(grads2[0][i], grads2[1][i]);
  }
}

TEST_CASE("gru_recurrence and lstm_recurrence agree on CPU and CUDA", "[rnn_gates][cuda]") {
  for (DType dt : {kFloat32, kFloat64}) {
    for (auto [T, B, H] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 3, 7}, {20, 16, 50}, {7, 33, 100}}) {
      INFO(dtype_name(dt) << " T=" << T << " B=" << B << " H=" << H);
      const double s = 1.0 / std::sqrt(double(H));
      // float32: cuBLAS and the CPU GEMM sum in different orders, and T steps
      // (forward and back) compound it: 1e-4 relative
      const double f32 = 1e-4;
      check({uniform({T, B, 3 * H}, -2, 2, dt), uniform({B, H}, -1, 1, dt), uniform({3 * H, H}, -s, s, dt),
             uniform({3 * H}, -s, s, dt)},
            [](const Inputs& in) { return ops::gru_recurrence(in[0], in[1], in[2], in[3]); }, f32);
      check({uniform({T, B, 4 * H}, -2, 2, dt), uniform({B, H}, -1, 1, dt), uniform({B, H}, -1, 1, dt),
             uniform({4 * H, H}, -s, s, dt), uniform({4 * H}, -s, s, dt)},
            [](const Inputs& in) { return ops::lstm_recurrence(in[0], in[1], in[2], in[3], in[4]); }, f32);
    }
  }
}
