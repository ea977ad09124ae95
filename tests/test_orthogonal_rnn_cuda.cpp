// tests/test_orthogonal_rnn_cuda.cpp: CPU/CUDA parity of the orthogonal
// recurrent cells (nn/orthogonal_rnn.h) in float64. The cells are made of
// ops, so this checks that a sequence's forward, its backward through time
// (gradients of x, h0 and every parameter, U and GORU's EUNN angles
// included) and one Adam +
// CayleyOptimizer step take the same path on cuda:0 as on the CPU.
#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "core/ops.h"
#include "nn/orthogonal_rnn.h"
#include "optim/optimizer.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Two identical cells of each kind (one seed each), float64 on the CPU.
std::vector<std::shared_ptr<nn::OrthogonalCell>> make_cells(int64_t I, int64_t H, uint64_t seed) {
  std::vector<std::shared_ptr<nn::OrthogonalCell>> out;
  Generator g1(seed), g2(seed), g3(seed), g4(seed), g5(seed);
  out.push_back(std::make_shared<nn::NCGRUCell>(I, H, nn::NCGRUOptions().negative_ones(2).dtype(kFloat64).generator(&g1)));
  out.push_back(std::make_shared<nn::NCGRUCell>(
      I, H, nn::NCGRUOptions().orthogonal_reset(true).negative_ones(2).dtype(kFloat64).generator(&g2)));
  out.push_back(std::make_shared<nn::ScoRNNCell>(I, H, nn::ScoRNNOptions().negative_ones(2).dtype(kFloat64).generator(&g3)));
  out.push_back(std::make_shared<nn::GORUCell>(I, H, nn::GORUOptions().dtype(kFloat64).generator(&g4)));  // EUNN
  out.push_back(std::make_shared<nn::GORUCell>(
      I, H, nn::GORUOptions().orthogonal(nn::GORUOrthogonal::cayley).dtype(kFloat64).generator(&g5)));
  return out;
}

}  // namespace

TEST_CASE("cuda orthogonal cells: forward and backward through time match the CPU", "[cuda][orthogonal_rnn]") {
  const int64_t T = 7, B = 3, I = 5, H = 8;
  auto cpu_cells = make_cells(I, H, 41), gpu_cells = make_cells(I, H, 41);
  for (size_t i = 0; i < cpu_cells.size(); ++i) {
    nn::OrthogonalCell& c = *cpu_cells[i];
    nn::OrthogonalCell& g = *gpu_cells[i];
    INFO(c.name() << " #" << i);
    g.to(gpu());
    Generator gen(7);
    const Tensor x = uniform({T, B, I}, -1.0, 1.0, kFloat64, kCPU, &gen).requires_grad_();
    const Tensor h0 = uniform({B, H}, -1.0, 1.0, kFloat64, kCPU, &gen).requires_grad_();
    const Tensor R = uniform({T, B, H}, -1.0, 1.0, kFloat64, kCPU, &gen);
    const Tensor xg = x.detach().to(gpu()).requires_grad_(), h0g = h0.detach().to(gpu()).requires_grad_();

    const auto oc = nn::run_sequence(c, x, h0);
    const auto og = nn::run_sequence(g, xg, h0g);
    require_parity(oc.outputs.detach(), og.outputs.detach());
    require_parity(oc.last.detach(), og.last.detach());

    ops::sum(ops::mul(oc.outputs, R)).backward();
    ops::sum(ops::mul(og.outputs, R.to(gpu()))).backward();
    require_parity(x.grad(), xg.grad());
    require_parity(h0.grad(), h0g.grad());
    const auto pc = c.named_parameters(), pg = g.named_parameters();
    REQUIRE(pc.size() == pg.size());
    for (size_t k = 0; k < pc.size(); ++k) {
      INFO("parameter " << pc[k].first);
      const Tensor& gc = pc[k].second.grad();
      const Tensor& gg = pg[k].second.grad();
      REQUIRE(gc.defined() == gg.defined());  // A has none: the forward reads U
      if (gc.defined()) require_parity(gc, gg);
    }
  }
}

TEST_CASE("cuda NC-GRU(U_r, U_c): an Adam + CayleyOptimizer step matches the CPU", "[cuda][orthogonal_rnn]") {
  const int64_t T = 5, B = 4, I = 3, H = 6;
  Generator g1(9), g2(9);
  const auto options = [](Generator* g) {
    return nn::NCGRUOptions().orthogonal_reset(true).negative_ones(2).dtype(kFloat64).generator(g);
  };
  nn::NCGRUCell c(I, H, options(&g1)), g(I, H, options(&g2));
  g.to(gpu());
  auto optimizers = [](nn::NCGRUCell& cell) {
    std::vector<Tensor> as;
    for (const auto& w : cell.orthogonal_weights()) as.push_back(w.A);
    return std::make_pair(std::make_unique<optim::Adam>(cell.other_parameters(), optim::AdamOptions{1e-2}),
                          std::make_unique<optim::CayleyOptimizer>(
                              cell.orthogonal_weights(), std::make_unique<optim::Adam>(as, optim::AdamOptions{1e-2}),
                              optim::CayleyOptions{2, 3}));
  };
  auto [adam_c, cayley_c] = optimizers(c);
  auto [adam_g, cayley_g] = optimizers(g);
  Generator gen(3);
  for (int step = 0; step < 5; ++step) {  // across a reset (every 3 steps)
    INFO("step " << step);
    const Tensor x = uniform({T, B, I}, -1.0, 1.0, kFloat64, kCPU, &gen);
    for (nn::NCGRUCell* cell : {&c, &g}) {
      const bool on_gpu = cell == &g;
      auto& adam = on_gpu ? adam_g : adam_c;
      auto& cayley = on_gpu ? cayley_g : cayley_c;
      adam->zero_grad();
      cayley->zero_grad();
      ops::mean(nn::run_sequence(*cell, on_gpu ? x.to(gpu()) : x).outputs.pow(2.0)).backward();
      adam->step();
      cayley->step();
    }
    const auto pc = c.named_parameters(), pg = g.named_parameters();
    for (size_t k = 0; k < pc.size(); ++k) {
      INFO("parameter " << pc[k].first);
      require_parity(pc[k].second.detach(), pg[k].second.detach(), 1e-10);
    }
  }
}

TEST_CASE("cuda ncgru_recurrence (the loop as one node): float32 and float64 match the CPU",
          "[cuda][orthogonal_rnn]") {
  for (DType dt : {kFloat32, kFloat64}) {
    for (auto [T, B, H] : std::vector<std::array<int64_t, 3>>{{1, 1, 3}, {20, 16, 56}, {6, 5, 118}}) {
      INFO(dtype_name(dt) << " T=" << T << " B=" << B << " H=" << H);
      const double s = 1.0 / std::sqrt(double(H));
      Generator gen(5);
      std::vector<Tensor> in{uniform({T, B, 3 * H}, -2, 2, dt, kCPU, &gen), uniform({B, H}, -1, 1, dt, kCPU, &gen)};
      for (int k = 0; k < 3; ++k) in.push_back(uniform({H, H}, -s, s, dt, kCPU, &gen));
      for (int k = 0; k < 3; ++k) in.push_back(uniform({H}, -s, s, dt, kCPU, &gen));
      std::vector<Tensor> c, g;
      for (const Tensor& t : in) {
        c.push_back(t.clone().requires_grad_());
        g.push_back(t.to(gpu()).requires_grad_());
      }
      auto run = [](const std::vector<Tensor>& a) {
        return ops::ncgru_recurrence(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
      };
      // float32: cuBLAS and the CPU GEMM sum in different orders over T steps
      const double tol = dt == kFloat32 ? 1e-4 : parity_tolerance(kFloat64);
      const Tensor yc = run(c), yg = run(g);
      require_parity(yc.detach(), yg.detach(), tol);
      const Tensor w = uniform(yc.shape(), -1, 1, dt, kCPU, &gen);
      ops::sum(yc * w).backward();
      ops::sum(yg * w.to(gpu())).backward();
      for (size_t k = 0; k < c.size(); ++k) {
        INFO("gradient of input " << k);
        require_parity(c[k].grad(), g[k].grad(), tol);
      }
    }
  }
}
