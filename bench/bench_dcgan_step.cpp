// bench/bench_dcgan_step.cpp: one training step of the thesis's DCGAN (the
// SN-GAN paper's standard CNN, models/dcgan.h) on the CPU, float32, on
// Fashion-MNIST shapes (1 channel, 32x32), nova against PyTorch's CPU build
// on the same machine and thread count (issue 17's CPU target: nova not
// slower).
//
// One step, as bench/dcgan_step_torch.py writes it in PyTorch: batch 64,
// z 128, hinge loss, Adam(2e-4, betas (0, 0.999)), spectral norm on every
// layer of D (one power iteration per training forward), BatchNorm in G
//   D step: real = uniform [-1, 1] images, z ~ N(0, I), fake = G(z) under
//           no-grad, out = D(cat(real, fake)),
//           loss = mean relu(1 - out[:B]) + mean relu(1 + out[B:]),
//           zero_grad, backward, Adam step
//   G step: z ~ N(0, I), loss = -mean D(G(z)), zero_grad, backward, Adam step
// Reading data is not timed on either side.
//
// Versions: 0 = baseline, PyTorch (dcgan_step_torch.py with
// /tmp/tv/bin/python3 when it imports torch, else python3; absent: nova
// alone, said so); 1 = nova. Ratio = torch median / nova median (higher is
// better), target >= 1. Validation: one D gradient (flat, all parameters)
// in float32 against the same step in float64, relative L2 error <= 2e-3:
// looser than the MLP benchmark's 1e-4 because the two dtypes may put a few
// rows on different sides of the hinge's and leaky ReLU's kinks, and the
// error measured grows with the width (2.8e-4 at width 32, 6.8e-4 at 64);
// a wrong gradient is off by O(1).
//
// Command line: report.h's [--json PATH] [--iters N] [--warmup N], plus
//   --threads N  OpenMP threads for nova and torch.set_num_threads (default:
//                all hardware threads)
//   --batch N    batch of real and of fake images (default 64)
//   --width W    the models' channel unit (default 64, the paper's)
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/report.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/cpu/gemm.h"
#include "models/dcgan.h"
#include "optim/flat_parameters.h"
#include "optim/optimizer.h"

using namespace nova;
namespace b = nova::bench;

namespace {

constexpr int64_t kImage = 32, kChannels = 1;

/// G, D, their Adams and the step's random streams.
struct Dcgan {
  int64_t batch;
  models::DcganOptions options;
  Generator gen{0};
  std::shared_ptr<models::DcganGenerator> G;
  std::shared_ptr<models::DcganDiscriminator> D;
  std::unique_ptr<optim::Adam> opt_g, opt_d;

  Dcgan(int64_t batch, int64_t width, DType dtype = kFloat32) : batch(batch) {
    options.image_channels = kChannels;
    options.width = width;
    manual_seed(1);
    G = std::make_shared<models::DcganGenerator>(options);
    D = std::make_shared<models::DcganDiscriminator>(options);
    if (dtype != kFloat32) {
      G->to(dtype);
      D->to(dtype);
    }
    const optim::AdamOptions adam{2e-4, {0.0, 0.999}};
    opt_g = std::make_unique<optim::Adam>(G->parameters(), adam);
    opt_d = std::make_unique<optim::Adam>(D->parameters(), adam);
  }

  Tensor real_images(DType dtype = kFloat32) {
    return uniform({batch, kChannels, kImage, kImage}, -1.0, 1.0, dtype, kCPU, &gen);
  }

  Tensor d_loss(const Tensor& real, const Tensor& fake) {
    Tensor out = D->forward(ops::cat({real, fake}, 0));
    return ops::mean(ops::relu(1.0 - out.narrow(0, 0, batch))) +
           ops::mean(ops::relu(out.narrow(0, batch, batch) + 1.0));
  }

  Tensor fake_images(DType dtype = kFloat32) {
    Tensor z = randn({batch, options.z_dim}, dtype, kCPU, &gen);
    NoGradGuard no_grad;
    return G->forward(z);
  }

  void d_step() {
    Tensor loss = d_loss(real_images(), fake_images());
    opt_d->zero_grad();
    loss.backward();
    opt_d->step();
  }

  void g_step() {
    Tensor z = randn({batch, options.z_dim}, kFloat32, kCPU, &gen);
    Tensor loss = -ops::mean(D->forward(G->forward(z)));
    opt_g->zero_grad();
    loss.backward();
    opt_g->step();
  }
};

/// D's flat gradient of the hinge loss on the given images.
std::vector<double> d_gradient(Dcgan& gan, const Tensor& real, const Tensor& fake) {
  auto params = gan.D->parameters();
  auto grads = autograd::grad({gan.d_loss(real, fake)}, params);
  std::vector<double> flat;
  for (const Tensor& g : grads)
    for (double v : g.to_vector<double>()) flat.push_back(v);
  return flat;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = int(std::thread::hardware_concurrency());
  int64_t batch = 64, width = 64;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_dcgan_step: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(value("--threads"));
    else if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(value("--batch"));
    else if (!std::strcmp(argv[i], "--width")) width = std::atoll(value("--width"));
    else rest.push_back(argv[i]);
  }
  b::Args args = b::parse_args(int(rest.size()), rest.data(), "bench_dcgan_step");
  if (threads < 1 || batch < 1 || width < 1) {
    std::fprintf(stderr, "bench_dcgan_step: --threads, --batch and --width must be >= 1\n");
    return 2;
  }
  omp_set_num_threads(threads);
  try {
    const std::string shape = fmt::format("batch {} real + {} fake, 1x32x32, width {}", batch, batch, width);
    b::Report rep("bench_dcgan_step", "DCGAN step (D step + G step, hinge, Adam, SN in D)", shape, "float32",
                  fmt::format("float32, {} GEMM, {} OpenMP threads", cpu::gemm_backend(), threads), b::cpu_name());
    rep.doc()["threads"] = threads;

    {  // validate: one D gradient, float32 against float64, on the same images
      Dcgan g32(batch, width), g64(batch, width, kFloat64);
      Tensor real = g32.real_images(), fake = g32.fake_images();
      auto got = d_gradient(g32, real, fake);
      auto ref = d_gradient(g64, real.to(kFloat64), fake.to(kFloat64));
      if (!rep.validate("v1 nova D gradient", b::rel_l2_error(got, ref), 2e-3)) return rep.finish(args.json_path);
    }

    Dcgan gan(batch, width);
    b::Timing t_step = b::time_cpu([&] { gan.d_step(); gan.g_step(); }, args.warmup, args.iters);
    b::Timing t_d = b::time_cpu([&] { gan.d_step(); }, args.warmup, args.iters);
    b::Timing t_g = b::time_cpu([&] { gan.g_step(); }, args.warmup, args.iters);

    std::vector<std::string> notes;
    const nlohmann::json torch = b::run_torch_baseline(
        NOVA_BENCH_SOURCE_DIR "/dcgan_step_torch.py",
        fmt::format("--threads {} --iters {} --warmup {} --batch {} --width {}", threads, args.iters, args.warmup,
                    batch, width),
        notes);
    for (const std::string& n : notes) rep.note(n);
    nlohmann::json extra = {{"d_step_median_ms", t_d.median_ms}, {"g_step_median_ms", t_g.median_ms}};
    if (!torch.is_null()) {
      const b::Timing tt = b::torch_timing(torch);
      rep.row("v0 torch step", tt,
              {{"ratio", 1.0}, {"torch", torch.value("torch", std::string("?"))},
               {"threads", torch.value("threads", 0)},
               {"d_step_median_ms", torch.value("d_step_median_ms", 0.0)},
               {"g_step_median_ms", torch.value("g_step_median_ms", 0.0)}});
      extra["ratio"] = tt.median_ms / t_step.median_ms;
      extra["ratio_of"] = "torch median ms / nova median ms";
      extra["ratio_of_mins"] = tt.min_ms / t_step.min_ms;
      extra["d_step_ratio"] = torch.value("d_step_median_ms", 0.0) / t_d.median_ms;
      extra["g_step_ratio"] = torch.value("g_step_median_ms", 0.0) / t_g.median_ms;
      extra["target"] = ">= 1";
      extra["target_met"] = extra["ratio"].get<double>() >= 1;
    }
    rep.row("v1 nova step", t_step, extra);
    std::printf("\nnova  step %.1f ms (D step %.1f, G step %.1f), %d threads\n", t_step.median_ms, t_d.median_ms,
                t_g.median_ms, threads);
    if (!torch.is_null())
      std::printf("torch step %.1f ms (D step %.1f, G step %.1f), torch %s\nratio torch/nova %.3f (of the mins "
                  "%.3f): target 1x %s\n",
                  torch["median_ms"].get<double>(), torch.value("d_step_median_ms", 0.0),
                  torch.value("g_step_median_ms", 0.0), torch.value("torch", std::string("?")).c_str(),
                  extra["ratio"].get<double>(), extra["ratio_of_mins"].get<double>(),
                  b::verdict(extra["ratio"].get<double>(), 1.0));
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dcgan_step: %s\n", e.what());
    return 1;
  }
}
