// tests/test_optim_cuda.cpp: CPU/CUDA parity of the fused optimizer steps and
// gradient clipping, float32 within 1e-5 relative and float64 within 1e-12.
// Each optimizer (SGD with momentum / nesterov / dampening / weight decay,
// Adam, AdamW, amsgrad, RMSprop plain / centered / with momentum, Adagrad
// with lr decay) takes 5 steps from the same parameters with the same given
// gradients on both devices; after every step the parameters, the step count
// and every state buffer agree. Parameters of odd sizes (empty, 1, 7, 1023,
// 65537) and 2-D. Also clip_grad_norm_ (p = 1, 2, 3, inf; a transposed
// gradient; a NaN) and FlatParameters on cuda:0 stepped by one Adam over data().
#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "core/optim.h"
#include "optim/clip_grad.h"
#include "optim/flat_parameters.h"
#include "optim/optimizer.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Make = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

const std::vector<Shape>& param_shapes() {
  static const std::vector<Shape> shapes = {{0}, {1}, {7}, {1023}, {65537}, {3, 5}};
  return shapes;
}

/// 5 steps of make(params) on the CPU and on cuda:0 with the same gradients.
void check_optimizer(DType dtype, const Make& make) {
  std::vector<Tensor> pc, pg;
  for (const Shape& shape : param_shapes()) {
    Tensor base = uniform(shape, -1.0, 1.0, dtype);
    pc.push_back(base.clone().requires_grad_());
    pg.push_back(base.to(gpu()).requires_grad_());
  }
  auto oc = make(pc);
  auto og = make(pg);
  for (int step = 1; step <= 5; ++step) {
    for (size_t i = 0; i < pc.size(); ++i) {
      Tensor g = uniform(pc[i].shape(), -1.0, 1.0, dtype);
      pc[i].set_grad(g);
      pg[i].set_grad(g.to(gpu()));
    }
    oc->step();
    og->step();
    for (size_t i = 0; i < pc.size(); ++i) {
      INFO("step " << step << ", parameter " << pc[i].shape().str() << ", " << dtype_name(dtype));
      require_parity(pc[i].detach(), pg[i].detach());
      REQUIRE(oc->has_state(pc[i]) == og->has_state(pg[i]));
      if (!oc->has_state(pc[i])) continue;
      const optim::ParamState& sc = oc->state(pc[i]);
      const optim::ParamState& sg = og->state(pg[i]);
      REQUIRE(sc.step == sg.step);
      REQUIRE(sc.buffers.size() == sg.buffers.size());
      for (const auto& [name, buf] : sc.buffers) {
        INFO("state buffer " << name);
        REQUIRE(sg.buffers.count(name) == 1);
        require_parity(buf, sg.buffers.at(name));
      }
    }
  }
}

template <typename Opt, typename Options>
Make maker(Options options) {
  return [options](std::vector<Tensor> params) -> std::unique_ptr<optim::Optimizer> {
    return std::make_unique<Opt>(std::move(params), options);
  };
}

}  // namespace

TEST_CASE("cuda SGD: plain, momentum, dampening, nesterov, weight decay", "[cuda][optim]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_optimizer(dtype, maker<optim::SGD>(optim::SGDOptions{0.1}));
    check_optimizer(dtype, maker<optim::SGD>(optim::SGDOptions{0.1, 0.9}));
    check_optimizer(dtype, maker<optim::SGD>(optim::SGDOptions{0.05, 0.9, 0.3, 1e-2}));
    check_optimizer(dtype, maker<optim::SGD>(optim::SGDOptions{0.1, 0.8, 0.0, 1e-2, true}));
  }
}

TEST_CASE("cuda Adam, AdamW and amsgrad", "[cuda][optim]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_optimizer(dtype, maker<optim::Adam>(optim::AdamOptions{1e-2}));
    check_optimizer(dtype, maker<optim::Adam>(optim::AdamOptions{1e-2, {0.8, 0.99}, 1e-6, 1e-2}));
    check_optimizer(dtype, maker<optim::Adam>(optim::AdamOptions{1e-2, {0.9, 0.999}, 1e-8, 0.0, true}));
    check_optimizer(dtype, maker<optim::AdamW>(optim::AdamWOptions{1e-2}));
    check_optimizer(dtype, maker<optim::AdamW>(optim::AdamWOptions{1e-2, {0.9, 0.95}, 1e-8, 0.1, true}));
  }
}

TEST_CASE("cuda RMSprop: plain, centered, momentum, weight decay", "[cuda][optim]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_optimizer(dtype, maker<optim::RMSprop>(optim::RMSpropOptions{1e-2}));
    check_optimizer(dtype, maker<optim::RMSprop>(optim::RMSpropOptions{1e-2, 0.9, 1e-8, 0.0, 0.0, true}));
    check_optimizer(dtype, maker<optim::RMSprop>(optim::RMSpropOptions{1e-2, 0.99, 1e-8, 1e-2, 0.9}));
    check_optimizer(dtype, maker<optim::RMSprop>(optim::RMSpropOptions{1e-2, 0.9, 1e-6, 1e-2, 0.5, true}));
  }
}

TEST_CASE("cuda Adagrad with lr decay and weight decay", "[cuda][optim]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_optimizer(dtype, maker<optim::Adagrad>(optim::AdagradOptions{1e-1}));
    check_optimizer(dtype, maker<optim::Adagrad>(optim::AdagradOptions{1e-1, 1e-2, 1e-2, 0.1}));
  }
}

TEST_CASE("cuda clip_grad_norm_ matches the CPU for p = 1, 2, 3 and inf", "[cuda][optim]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (double p : {1.0, 2.0, 3.0, double(INFINITY)}) {
      INFO("p " << p << ", " << dtype_name(dtype));
      std::vector<Tensor> pc, pg;
      for (const Shape& shape : param_shapes()) {
        Tensor base = uniform(shape, -1.0, 1.0, dtype);
        Tensor g = uniform(shape, -2.0, 2.0, dtype);
        pc.push_back(base.clone().requires_grad_());
        pg.push_back(base.to(gpu()).requires_grad_());
        pc.back().set_grad(g);
        pg.back().set_grad(g.to(gpu()));
      }
      // a transposed (non-contiguous) gradient: the strided path
      Tensor gt = uniform({5, 3}, -2.0, 2.0, dtype);
      pc.back().set_grad(gt.t());
      pg.back().set_grad(gt.to(gpu()).t());
      const double total_c = optim::clip_grad_norm_(pc, 1.0, p);
      const double total_g = optim::clip_grad_norm_(pg, 1.0, p);
      REQUIRE(std::abs(total_c - total_g) <= parity_tolerance(dtype) * std::max(1.0, std::abs(total_c)));
      for (size_t i = 0; i < pc.size(); ++i) require_parity(pc[i].grad(), pg[i].grad());
      // global_norm directly, including an empty list
      REQUIRE(ops::global_norm({}, p) == 0.0);
    }
    // a NaN gradient: the total is NaN on both devices (inf norm included)
    for (double p : {2.0, double(INFINITY)}) {
      Tensor g = from_vector({1.0, NAN, -3.0}, {3}, dtype);
      REQUIRE(std::isnan(ops::global_norm({g}, p)));
      REQUIRE(std::isnan(ops::global_norm({g.to(gpu())}, p)));
    }
  }
}

TEST_CASE("cuda FlatParameters on cuda:0 stepped by one Adam over data()", "[cuda][optim]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    std::vector<Tensor> pc, pg, wc;
    for (const Shape& shape : {Shape{7}, Shape{3, 5}, Shape{1023}, Shape{1}}) {
      Tensor base = uniform(shape, -1.0, 1.0, dtype);
      pc.push_back(base.clone().requires_grad_());
      pg.push_back(base.to(gpu()).requires_grad_());
      wc.push_back(uniform(shape, 0.5, 2.0, dtype));
    }
    optim::FlatParameters fc(pc), fg(pg);
    REQUIRE(fg.data().is_cuda());
    REQUIRE(fg.grad().is_cuda());
    optim::Adam oc({fc.data()}, optim::AdamOptions{1e-2});
    optim::Adam og({fg.data()}, optim::AdamOptions{1e-2});
    for (int step = 1; step <= 5; ++step) {
      fc.zero_grad();
      fg.zero_grad();
      Tensor lc = zeros({}, dtype), lg = zeros({}, dtype, gpu());
      for (size_t i = 0; i < pc.size(); ++i) {
        lc = lc + ops::sum(wc[i] * ops::square(pc[i]));
        lg = lg + ops::sum(wc[i].to(gpu()) * ops::square(pg[i]));
      }
      lc.backward();
      lg.backward();
      require_parity(fc.grad(), fg.grad());
      oc.step();
      og.step();
      INFO("step " << step << ", " << dtype_name(dtype));
      require_parity(fc.data().detach(), fg.data().detach());
      for (size_t i = 0; i < pc.size(); ++i) require_parity(pc[i].detach(), pg[i].detach());
      for (const auto& [name, buf] : oc.state(fc.data()).buffers)
        require_parity(buf, og.state(fg.data()).buffers.at(name));
    }
  }
}
