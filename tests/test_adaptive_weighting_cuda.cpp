// tests/test_adaptive_weighting_cuda.cpp: CPU/CUDA parity of the
// adaptive-weighting internals dot3, dot6 (one fused reduction kernel) and
// weighted_sum_, float32 within 1e-5 relative and float64 within 1e-12, over
// the odd sizes (0, 1, 7, 1023, 65537) and one long vector (many blocks);
// and AdaptiveWeighting / SelfCorrecting steps on cuda:0 against the same
// steps on the CPU (cases, weights, the parameters after inner Adam), with
// separate parameters and with a FlatParameters buffer.
#include <cmath>
#include <vector>

#include "core/optim.h"
#include "optim/adaptive_weighting.h"
#include "optim/flat_parameters.h"
#include "optim/self_correcting.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

std::vector<int64_t> sizes() {
  auto s = odd_sizes();
  s.push_back(3000017);  // more elements than 1024 blocks of 256 threads: grid-stride
  return s;
}

/// |cpu - gpu| within tol of the scale of the sum (sum of |products|).
void require_dot_parity(double cpu, double gpu_value, double scale, double tol) {
  INFO("cpu " << cpu << " cuda " << gpu_value << " scale " << scale);
  REQUIRE(std::abs(cpu - gpu_value) <= tol * std::max(1.0, scale));
}

}  // namespace

TEST_CASE("cuda dot3 and dot6 match the CPU", "[cuda][optim][aw]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t n : sizes()) {
      INFO(dtype_name(dtype) << " n " << n);
      Tensor a = uniform({n}, -1.0, 1.0, dtype), b = uniform({n}, -2.0, 0.5, dtype);
      Tensor c = uniform({n}, -0.5, 3.0, dtype);
      // both devices accumulate in double: the bound is double rounding,
      // for float32 inputs too
      const double tol = 1e-12;
      ops::Dot3 dc = ops::dot3(a, b), dg = ops::dot3(a.to(gpu()), b.to(gpu()));
      require_dot_parity(dc.aa, dg.aa, dc.aa, tol);
      require_dot_parity(dc.bb, dg.bb, dc.bb, tol);
      require_dot_parity(dc.ab, dg.ab, std::sqrt(dc.aa * dc.bb), tol);
      ops::Dot6 ec = ops::dot6(a, b, c), eg = ops::dot6(a.to(gpu()), b.to(gpu()), c.to(gpu()));
      require_dot_parity(ec.aa, eg.aa, ec.aa, tol);
      require_dot_parity(ec.bb, eg.bb, ec.bb, tol);
      require_dot_parity(ec.cc, eg.cc, ec.cc, tol);
      require_dot_parity(ec.ab, eg.ab, std::sqrt(ec.aa * ec.bb), tol);
      require_dot_parity(ec.ac, eg.ac, std::sqrt(ec.aa * ec.cc), tol);
      require_dot_parity(ec.bc, eg.bc, std::sqrt(ec.bb * ec.cc), tol);
      // run to run the CUDA result is bitwise the same (fixed combine order)
      ops::Dot3 dg2 = ops::dot3(a.to(gpu()), b.to(gpu()));
      REQUIRE(dg2.ab == dg.ab);
    }
  }
}

TEST_CASE("cuda weighted_sum_ matches the CPU (two and three terms, in place)", "[cuda][optim][aw]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t n : sizes()) {
      INFO(dtype_name(dtype) << " n " << n);
      Tensor a = uniform({n}, -1.0, 1.0, dtype), b = uniform({n}, -1.0, 1.0, dtype);
      Tensor c = uniform({n}, -1.0, 1.0, dtype);
      Tensor oc = empty({n}, dtype), og = empty({n}, dtype, gpu());
      ops::weighted_sum_(oc, a, 0.3, b, -1.7);
      ops::weighted_sum_(og, a.to(gpu()), 0.3, b.to(gpu()), -1.7);
      require_parity(oc, og);
      ops::weighted_sum_(oc, a, 0.3, b, -1.7, c, 4.0);
      ops::weighted_sum_(og, a.to(gpu()), 0.3, b.to(gpu()), -1.7, c.to(gpu()), 4.0);
      require_parity(oc, og);
      // out is one of the inputs
      Tensor ac = a.clone(), ag = a.to(gpu());
      ops::weighted_sum_(ac, ac, 2.0, b, 0.5);
      ops::weighted_sum_(ag, ag, 2.0, b.to(gpu()), 0.5);
      require_parity(ac, ag);
    }
  }
}

namespace {

std::vector<Tensor> params_on(Device device, DType dtype, uint64_t seed) {
  manual_seed(seed);
  std::vector<Tensor> ps;
  for (const Shape& shape : std::vector<Shape>{{64, 33}, {33}, {0}, {1}, {1023}})
    ps.push_back(uniform(shape, -1.0, 1.0, dtype).to(device).requires_grad_());
  return ps;
}

}  // namespace

TEST_CASE("cuda AdaptiveWeighting steps match the CPU (Algorithms 1 and 2, flat and separate)",
          "[cuda][optim][aw]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (bool normalized : {true, false}) {
      for (bool use_flat : {false, true}) {
        INFO(dtype_name(dtype) << " normalized " << normalized << " flat " << use_flat);
        std::vector<Tensor> pc = params_on(kCPU, dtype, 7), pg = params_on(gpu(), dtype, 7);
        std::unique_ptr<optim::FlatParameters> flat;
        std::unique_ptr<optim::Optimizer> inner_g;
        if (use_flat) {
          flat = std::make_unique<optim::FlatParameters>(pg);
          REQUIRE(optim::grads_as_one_range(pg).defined());
          inner_g = optim::make_aw_inner_adam({flat->data()}, 1e-2);
        } else {
          inner_g = optim::make_aw_inner_adam(pg, 1e-2);
        }
        optim::AdaptiveWeightingOptions o;
        o.normalized = normalized;
        optim::AdaptiveWeighting awc(pc, optim::make_aw_inner_adam(pc, 1e-2), o);
        optim::AdaptiveWeighting awg(pg, std::move(inner_g), o);
        int64_t total = 0;
        for (const Tensor& p : pc) total += p.numel();
        const double scores[][2] = {{0.3, 0.6}, {0.9, 0.2}, {0.6, 0.4}, {0.8, 0.9}, {0.95, 0.1}};
        for (int step = 0; step < 5; ++step) {
          Tensor gr = randn({total}, dtype), gf = randn({total}, dtype), ge = randn({total}, dtype);
          if (step % 2) gf.mul_(-1.0);
          auto rc = awc.step(gr, gf, scores[step][0], scores[step][1], ge);
          auto rg = awg.step(gr.to(gpu()), gf.to(gpu()), scores[step][0], scores[step][1],
                             ge.to(gpu()));
          REQUIRE(rc.case_id == rg.case_id);
          REQUIRE(std::abs(rc.w_r - rg.w_r) <= 1e-10 * std::max(1.0, std::abs(rc.w_r)));
          REQUIRE(std::abs(rc.w_f - rg.w_f) <= 1e-10 * std::max(1.0, std::abs(rc.w_f)));
          for (size_t k = 0; k < pc.size(); ++k) {
            require_parity(pc[k].grad(), pg[k].grad());
            require_parity(pc[k].detach(), pg[k].detach());
          }
        }
        REQUIRE(awc.case_counts() == awg.case_counts());
      }
    }
  }
}

TEST_CASE("cuda SelfCorrecting steps (SC2, SC3) match the CPU", "[cuda][optim][sc]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (bool three : {false, true}) {
      INFO(dtype_name(dtype) << " three terms " << three);
      std::vector<Tensor> pc = params_on(kCPU, dtype, 9), pg = params_on(gpu(), dtype, 9);
      optim::SelfCorrecting scc(pc, optim::make_aw_inner_adam(pc, 1e-2));
      optim::SelfCorrecting scg(pg, optim::make_aw_inner_adam(pg, 1e-2));
      int64_t total = 0;
      for (const Tensor& p : pc) total += p.numel();
      for (int step = 0; step < 5; ++step) {
        Tensor gc = randn({total}, dtype), ge = randn({total}, dtype);
        Tensor gn = three ? randn({total}, dtype) : Tensor();
        auto rc = scc.step(gc, ge, gn);
        auto rg = scg.step(gc.to(gpu()), ge.to(gpu()), three ? gn.to(gpu()) : Tensor());
        REQUIRE(rc.corrected_e == rg.corrected_e);
        REQUIRE(rc.corrected_n == rg.corrected_n);
        REQUIRE(std::abs(rc.w_e - rg.w_e) <= 1e-10 * std::max(1.0, std::abs(rc.w_e)));
        REQUIRE(std::abs(rc.w_n - rg.w_n) <= 1e-10 * std::max(1.0, std::abs(rc.w_n)));
        for (size_t k = 0; k < pc.size(); ++k) {
          require_parity(pc[k].grad(), pg[k].grad());
          require_parity(pc[k].detach(), pg[k].detach());
        }
      }
    }
  }
}
