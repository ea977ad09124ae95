// tests/test_rnn_sequence_cuda.cpp: CPU/CUDA parity of ops::gru_sequence
// (core/rnn_sequence.h): forward and the gradients of gi, h0, w_hh and b_hh
// from the same inputs on both devices, float32 and float64, with and
// without the hidden bias, at sizes that leave partial blocks (B * H not a
// multiple of the block) and at a thesis size (B 16, H 50, T 100).
#include <array>
#include <vector>

#include "core/ops.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

TEST_CASE("cuda gru_sequence matches the CPU, forward and backward through time", "[cuda][rnn_sequence]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    for (bool bias : {true, false}) {
      for (auto [Tn, B, H] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 3, 5}, {100, 16, 50}}) {
        INFO(dtype_name(dtype) << " T " << Tn << " B " << B << " H " << H << " bias " << bias);
        Generator gen(uint64_t(Tn + B + H));
        std::vector<Tensor> cpu{uniform({Tn, B, 3 * H}, -1.5, 1.5, dtype, kCPU, &gen),
                                uniform({B, H}, -1.0, 1.0, dtype, kCPU, &gen),
                                uniform({3 * H, H}, -0.3, 0.3, dtype, kCPU, &gen)};
        if (bias) cpu.push_back(uniform({3 * H}, -0.5, 0.5, dtype, kCPU, &gen));
        std::vector<Tensor> dev;
        for (Tensor& t : cpu) {
          dev.push_back(t.to(gpu()).requires_grad_());
          t.requires_grad_();
        }
        const Tensor C = uniform({Tn, B, H}, -1.0, 1.0, dtype, kCPU, &gen);
        auto run = [&](const std::vector<Tensor>& in, const Tensor& c) {
          Tensor hs = ops::gru_sequence(in[0], in[1], in[2], bias ? in[3] : Tensor());
          std::vector<Tensor> out{hs.detach()};
          for (const Tensor& g : autograd::grad({ops::sum(ops::mul(hs, c))}, in)) out.push_back(g);
          return out;
        };
        const auto a = run(cpu, C), b = run(dev, C.to(gpu()));
        // float32: the recurrence compounds rounding over T steps
        const double tol = dtype == kFloat64 ? 1e-10 : 2e-4;
        for (size_t i = 0; i < a.size(); ++i) {
          INFO("output " << i << " (0: hs, then the gradients)");
          require_parity(a[i], b[i], tol);
        }
      }
    }
  }
}
