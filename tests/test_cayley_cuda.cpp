// tests/test_cayley_cuda.cpp: CPU/CUDA parity of Algorithm 4 (optim/cayley.h)
// in float64. The optimizer is made of ops (matmul through cuBLAS, the exact
// inverse through cuSOLVER), so this checks that the whole update, resets
// included, takes the same path on both devices: 30 steps of a small fit,
// each step's U, A and carried inverse equal within the parity bound (the
// CPU's LU and cuSOLVER's pivot alike on these well-conditioned I + A).
#include <memory>
#include <vector>

#include "optim/cayley.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

TEST_CASE("cuda CayleyOptimizer matches the CPU step for step", "[cuda][cayley]") {
  const int64_t n = 12;
  for (int order : {0, 2}) {
    INFO("neumann order " << order);
    Generator gen(17);
    auto wc = optim::OrthogonalWeight::make(n, 4, kFloat64, kCPU, &gen);
    optim::OrthogonalWeight wg{wc.U.detach().to(gpu()).requires_grad_(), wc.A.detach().to(gpu()).requires_grad_(),
                               wc.D.to(gpu())};
    const Tensor X = uniform({n, 20}, -1.0, 1.0, kFloat64, kCPU, &gen);
    const Tensor Y = uniform({n, 20}, -1.0, 1.0, kFloat64, kCPU, &gen);
    const Tensor Xg = X.to(gpu()), Yg = Y.to(gpu());
    optim::CayleyOptimizer cc({wc}, std::make_unique<optim::Adam>(std::vector<Tensor>{wc.A}, optim::AdamOptions{1e-2}),
                              optim::CayleyOptions{order, 10});
    optim::CayleyOptimizer cg({wg}, std::make_unique<optim::Adam>(std::vector<Tensor>{wg.A}, optim::AdamOptions{1e-2}),
                              optim::CayleyOptions{order, 10});
    for (int step = 0; step < 30; ++step) {
      INFO("step " << step);
      cc.zero_grad();
      cg.zero_grad();
      ops::mean(ops::sub(ops::matmul(wc.U, X), Y).pow(2.0)).backward();
      ops::mean(ops::sub(ops::matmul(wg.U, Xg), Yg).pow(2.0)).backward();
      cc.step();
      cg.step();
      require_parity(wc.U.detach(), wg.U.detach(), 1e-10);
      require_parity(wc.A.detach(), wg.A.detach(), 1e-10);
      require_parity(cc.inverse(0), cg.inverse(0), 1e-10);
    }
  }
}
