// tests/test_grad_split_cuda.cpp: CPU/CUDA parity of the segment ops and of
// grad_split (core/grad_split.h), float32 within 1e-5 relative and float64
// within 1e-12 for the segment ops (values and gradients):
//   segment_sum     odd row counts and widths, empty segments, more than 256
//                   segments (several launches), wide rows, strided input;
//   segment_outer   unequal and empty segments (one cuBLAS GEMM each), equal
//                   segments (one strided-batched GEMM);
//   batch_norm      per-group statistics under RowGroupsGuard;
//   grad_split      fused on CUDA == fused on the CPU and == reference on
//                   CUDA, on MLP discriminators (Linear + tanh/leaky_relu,
//                   LayerNorm, BatchNorm1d per group), K = 2 and 3, and
//                   on DCGAN's D and SN-GAN's conditional D. Whole
//                   backward passes reorder GEMM sums, so these compare at
//                   1e-4 (float32) / 1e-11 (float64) relative to max(1, |x|).
#include <functional>
#include <memory>

#include "core/grad_split.h"
#include "models/dcgan.h"
#include "models/sngan.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/normalization.h"
#include "nn/sequential.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;
using autograd::grad_split;
using autograd::GradSplitMode;
using autograd::GradSplitOptions;
using autograd::RowGroupsGuard;

namespace {

/// f(x) on the CPU and on cuda:0 from the same values: results and the
/// gradient of x agree.
void check(const Tensor& base, const std::function<Tensor(const Tensor&)>& f) {
  Tensor xc = base.clone().requires_grad_(), xg = base.to(gpu()).requires_grad_();
  Tensor yc = f(xc), yg = f(xg);
  require_parity(yc, yg);
  Tensor g = uniform(yc.shape(), -1.0, 1.0, yc.dtype());
  yc.backward(g);
  yg.backward(g.to(gpu()));
  require_parity(xc.grad(), xg.grad());
}

std::vector<int64_t> many_groups(int64_t k) {
  std::vector<int64_t> g;
  for (int64_t i = 0; i < k; ++i) g.push_back(i % 3);  // 0, 1, 2, 0, ...
  return g;
}

int64_t total(const std::vector<int64_t>& g) {
  int64_t n = 0;
  for (int64_t v : g) n += v;
  return n;
}

std::vector<Tensor> group_losses(const Tensor& out, const std::vector<int64_t>& groups) {
  std::vector<Tensor> losses;
  int64_t at = 0;
  for (size_t k = 0; k < groups.size(); ++k) {
    Tensor rows = out.narrow(0, at, groups[k]);
    at += groups[k];
    if (k == 0) losses.push_back(ops::mean(ops::softplus(-rows)));
    else if (k == 1) losses.push_back(ops::mean(ops::softplus(rows)));
    else losses.push_back(ops::mean(rows * rows) * 0.5);
  }
  return losses;
}

void require_close(const std::vector<Tensor>& cpu, const std::vector<Tensor>& cuda, double tol) {
  REQUIRE(cpu.size() == cuda.size());
  for (size_t k = 0; k < cpu.size(); ++k) {
    INFO("loss " << k);
    require_parity(cpu[k], cuda[k], tol);
  }
}

}  // namespace

TEST_CASE("cuda segment_sum matches the CPU", "[cuda][grad_split][segment]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t cols : odd_sizes()) {
      if (cols > 1023) continue;  // wide rows below
      INFO(dtype_name(dtype) << ", " << cols << " columns");
      check(uniform({12, cols}, -1.0, 1.0, dtype), [](const Tensor& x) { return ops::segment_sum(x, {5, 0, 7}); });
    }
    INFO(dtype_name(dtype));
    // long segments, one column (the [N, 1] bias of a discriminator's last layer)
    check(uniform({4099, 1}, -1.0, 1.0, dtype), [](const Tensor& x) { return ops::segment_sum(x, {2048, 2051}); });
    // wide rows and 3-D
    check(uniform({7, 65537}, -1.0, 1.0, dtype), [](const Tensor& x) { return ops::segment_sum(x, {3, 4}); });
    check(uniform({9, 3, 5}, -1.0, 1.0, dtype), [](const Tensor& x) { return ops::segment_sum(x, {1, 8}); });
    // more segments than one launch takes (256), some empty
    auto groups = many_groups(700);
    check(uniform({total(groups), 33}, -1.0, 1.0, dtype), [&](const Tensor& x) { return ops::segment_sum(x, groups); });
    // a transposed input, and no rows at all
    check(uniform({6, 10}, -1.0, 1.0, dtype), [](const Tensor& x) { return ops::segment_sum(x.t(), {4, 6}); });
    check(uniform({0, 4}, -1.0, 1.0, dtype), [](const Tensor& x) { return ops::segment_sum(x, {0, 0}); });
  }
}

TEST_CASE("cuda segment_outer and segment_repeat match the CPU", "[cuda][grad_split][segment]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    Tensor b = uniform({23, 9}, -1.0, 1.0, dtype);
    check(uniform({23, 17}, -1.0, 1.0, dtype), [&](const Tensor& a) {
      return ops::segment_outer(a, a.device().is_cpu() ? b : b.to(gpu()), {10, 0, 13});
    });
    // equal segments: one strided-batched GEMM; and equal empty ones
    Tensor b2 = uniform({24, 9}, -1.0, 1.0, dtype);
    check(uniform({24, 17}, -1.0, 1.0, dtype), [&](const Tensor& a) {
      return ops::segment_outer(a, a.device().is_cpu() ? b2 : b2.to(gpu()), {8, 8, 8});
    });
    Tensor b0 = uniform({0, 9}, -1.0, 1.0, dtype);
    check(uniform({0, 17}, -1.0, 1.0, dtype), [&](const Tensor& a) {
      return ops::segment_outer(a, a.device().is_cpu() ? b0 : b0.to(gpu()), {0, 0});
    });
    check(uniform({3, 5}, -1.0, 1.0, dtype), [](const Tensor& x) { return ops::segment_repeat(x, {2, 0, 4}); });
  }
}

TEST_CASE("cuda batch_norm with per-group statistics matches the CPU", "[cuda][grad_split][batch_norm]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (Shape shape : {Shape({37, 6}), Shape({37, 6, 5})}) {
      INFO(dtype_name(dtype) << " " << shape.str());
      Tensor w = uniform({6}, 0.5, 1.5, dtype), b = uniform({6}, -0.5, 0.5, dtype);
      Tensor rm_c = zeros({6}, dtype), rv_c = ones({6}, dtype);
      Tensor rm_g = rm_c.to(gpu()), rv_g = rv_c.to(gpu());
      check(uniform(shape, -2.0, 3.0, dtype), [&](const Tensor& x) {
        RowGroupsGuard guard({16, 21});
        bool cpu = x.device().is_cpu();
        return ops::batch_norm(x, cpu ? rm_c : rm_g, cpu ? rv_c : rv_g, cpu ? w : w.to(gpu()),
                               cpu ? b : b.to(gpu()), true, 0.1);
      });
      require_parity(rm_c, rm_g);
      require_parity(rv_c, rv_g);
    }
  }
}

TEST_CASE("cuda grad_split fused matches the CPU and the CUDA reference", "[cuda][grad_split]") {
  using std::make_shared;
  std::vector<std::function<std::shared_ptr<nn::Module>()>> models = {
      [] {
        return make_shared<nn::Sequential>(make_shared<nn::Linear>(2, 64), make_shared<nn::Tanh>(),
                                           make_shared<nn::Linear>(64, 64), make_shared<nn::Tanh>(),
                                           make_shared<nn::Linear>(64, 1));
      },
      [] {
        return make_shared<nn::Sequential>(make_shared<nn::Linear>(2, 32), make_shared<nn::LayerNorm>(32),
                                           make_shared<nn::LeakyReLU>(0.2), make_shared<nn::Linear>(32, 16),
                                           make_shared<nn::BatchNorm1d>(16), make_shared<nn::ReLU>(),
                                           make_shared<nn::Linear>(16, 1));
      },
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat64 ? 1e-11 : 1e-4;
    for (size_t m = 0; m < models.size(); ++m) {
      for (std::vector<int64_t> groups : {std::vector<int64_t>{300, 212}, std::vector<int64_t>{100, 257, 3}}) {
        INFO(dtype_name(dtype) << ", model " << m << ", " << groups.size() << " groups");
        manual_seed(7);
        auto cpu_net = models[m](), gpu_net = models[m]();
        cpu_net->to(dtype);
        gpu_net->to(dtype);
        gpu_net->load_state_dict(cpu_net->state_dict());
        gpu_net->to(gpu());
        Tensor x = uniform({total(groups), 2}, -2.0, 2.0, dtype);
        std::vector<Tensor> split_cpu, split_gpu, reference_gpu;
        {
          Tensor out_c, out_g;
          {
            RowGroupsGuard guard(groups);
            out_c = cpu_net->forward(x);
            out_g = gpu_net->forward(x.to(gpu()));
          }
          auto lc = group_losses(out_c, groups), lg = group_losses(out_g, groups);
          split_cpu = grad_split(lc, cpu_net->parameters(), {GradSplitMode::fused, out_c, groups});
          split_gpu = grad_split(lg, gpu_net->parameters(), {GradSplitMode::fused, out_g, groups});
          reference_gpu = grad_split(lg, gpu_net->parameters());
        }
        for (const Tensor& g : split_gpu) REQUIRE(g.is_cuda());
        require_close(split_cpu, split_gpu, tol);
        std::vector<Tensor> reference_back;
        for (const Tensor& g : reference_gpu) reference_back.push_back(g.to(kCPU));
        require_close(reference_back, split_gpu, tol);
      }
    }
  }
}

TEST_CASE("cuda grad_split fused on the image discriminators matches the CPU and the CUDA reference",
          "[cuda][grad_split][gan_models]") {
  // DCGAN's D (spectral norm, conv, the fused leaky-ReLU epilogue) and
  // SN-GAN's conditional 32x32 D (residual blocks, average pooling, the
  // projection head), at small widths: aw's one grouped backward through
  // conv, pooling, spectral norm and embedding on the GPU. Both copies start
  // from the same state, so the training forward's power iteration is the
  // same on both.
  using std::make_shared;
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat64 ? 1e-11 : 1e-4;
    for (int m = 0; m < 2; ++m) {
      INFO(dtype_name(dtype) << (m == 0 ? " DCGAN D" : " SN-GAN D 32, projection"));
      manual_seed(11);
      std::shared_ptr<nn::Module> cpu_net, gpu_net;
      for (auto* net : {&cpu_net, &gpu_net}) {
        if (m == 0) {
          models::DcganOptions o;
          o.width = 2;
          *net = make_shared<models::DcganDiscriminator>(o);
        } else {
          models::SnganOptions o;
          o.d_width = 4;
          o.num_classes = 10;
          *net = make_shared<models::SnganDiscriminator>(o);
        }
        (*net)->to(dtype);
        (*net)->train();
      }
      gpu_net->load_state_dict(cpu_net->state_dict());
      gpu_net->to(gpu());
      const std::vector<int64_t> groups{6, 5};
      const Tensor x = uniform({11, 3, 32, 32}, -1.0, 1.0, dtype);
      const Tensor labels = randint(0, 10, {11});
      auto forward = [&](nn::Module& net, const Tensor& images) {
        if (m == 0) return net.forward(images);
        return static_cast<models::SnganDiscriminator&>(net).forward(images, labels.to(images.device()));
      };
      Tensor out_c, out_g;
      {
        RowGroupsGuard guard(groups);
        out_c = forward(*cpu_net, x);
        out_g = forward(*gpu_net, x.to(gpu()));
      }
      require_close({out_c}, {out_g}, tol);
      auto lc = group_losses(out_c, groups), lg = group_losses(out_g, groups);
      auto split_cpu = grad_split(lc, cpu_net->parameters(), {GradSplitMode::fused, out_c, groups});
      auto split_gpu = grad_split(lg, gpu_net->parameters(), {GradSplitMode::fused, out_g, groups});
      auto reference_gpu = grad_split(lg, gpu_net->parameters());
      for (const Tensor& g : split_gpu) REQUIRE(g.is_cuda());
      require_close(split_cpu, split_gpu, tol);
      std::vector<Tensor> reference_back;
      for (const Tensor& g : reference_gpu) reference_back.push_back(g.to(kCPU));
      require_close(reference_back, split_gpu, tol);
    }
  }
}
