// bench/bench_sngan_step.cpp: one SN-GAN training iteration (models/sngan.h,
// 32x32 CIFAR-10 layout, unconditional) on cuda:0 (default) or the CPU,
// float32, nova against PyTorch on the same device (issue 17).
//
// Settings (THESIS-NOTES.md, lines ~30-35): hinge loss, Adam lr 2e-4 betas
// (0, 0.999) for G and D, spectral norm on every layer of D (one power
// iteration per training forward), BatchNorm in G, batch G/D 128/64, n_dis 3
// D steps per G step. One iteration, as bench/sngan_step_torch.py writes it:
//   3 x D step: real = uniform [-1, 1] images [64, 3, 32, 32] (reading data
//               is not timed), z ~ N(0, I) [64, 128], fake = G(z) without a
//               graph, out = D(cat(real, fake)),
//               loss = mean relu(1 - out[:64]) + mean relu(1 + out[64:])
//       baseline: zero_grad, backward, Adam step
//       aw:       g_r, g_f by grad_split (automatic: fused, one backward),
//                 AdaptiveWeighting (Algorithm 1) over Adam (the torch side:
//                 the authors' two backward passes, weights 1, 1)
//   1 x G step: z [128, 128], loss = -mean D(G(z)), zero_grad, backward (D's
//               .grad fills too; the next D step clears it), Adam step
// nova's D steps are models::GanDiscriminatorStep, the trainer's own code
// (plain Adam for the baseline, optim::AdaptiveWeighting for aw).
//
// Convolutions: on CUDA nova runs them through its cuDNN path by default
// (--conv-backend cudnn, CUDNN_FMA_MATH, TF32 off), as PyTorch runs its
// through cuDNN (the script turns TF32 off and leaves cudnn.benchmark off,
// as nova takes cuDNN's heuristic first algorithm): the ratio then measures
// the framework around the convolutions (autograd, allocator, BN, SN, Adam,
// elementwise), not conv kernels, which bench_conv compares. --conv-backend
// native times nova's own conv kernels instead.
//
// Versions: 0 = baseline, PyTorch (sngan_step_torch.py with
// /tmp/tv/bin/python3 when it imports torch, else python3; absent: nova
// alone, said so); 1 = nova. Targets: nova baseline iteration <= 1.2x
// PyTorch's time (ratio = nova median / torch median); aw's added cost per
// iteration (nova aw iteration / nova baseline iteration - 1) <= 10%.
// Timing: wall clock per iteration, the device synchronized at its end
// (the torch script does the same with torch.cuda.synchronize); on CUDA no
// L2 flush (an iteration's working set is far larger than L2).
// Validation before timing: D's flat gradient of the hinge loss on
// --validate-batch real + fake rows, nova on the device in float32 against
// nova on the CPU in float64 from the same initial state (same seed; D has
// no BatchNorm, so rows are independent and a small batch checks the same
// code), relative L2 error <= 1e-4.
//
// Command line: report.h's [--json PATH] [--iters N] [--warmup N]
// [--device cuda|cpu] (default cuda; no CUDA device: exit 77), plus
//   --g-batch N, --d-batch N   (default 128, 64 on cuda; 32, 16 on cpu)
//   --n-dis N                  D steps per G step (default 3)
//   --g-width W, --d-width W   channel units (default: the paper's 256 / 128
//                              on cuda, 16 / 16 on cpu, a smoke check;
//                              the cpu smoke also defaults to 3 iterations
//                              after 1 warm-up)
//   --threads N                OpenMP threads on the CPU (default: all)
//   --conv-backend cudnn|native  (CUDA only, default cudnn)
//   --validate-batch N         real and fake rows of the validation (default 4)
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
#include "core/conv.h"
#include "core/matmul.h"
#include "core/ops.h"
#include "kernels/cuda/runtime.h"
#include "models/gan_discriminator_step.h"
#include "models/sngan.h"
#include "optim/adaptive_weighting.h"
#include "optim/optimizer.h"

using namespace nova;
namespace b = nova::bench;

namespace {

constexpr int64_t kImage = 32, kChannels = 3;

struct Config {
  Device device = kCPU;
  int64_t g_batch = 128, d_batch = 64, n_dis = 3;
  int64_t g_width = 0, d_width = 0;
};

/// G, D, their optimizers (as GanDiscriminatorSteps for D) and the random
/// stream, one set per timed variant (baseline, aw) so that neither's Adam
/// state or SN vectors leak into the other's timing.
struct Sngan {
  Config cfg;
  models::SnganOptions options;
  Generator gen{0};
  std::shared_ptr<models::SnganGenerator> G;
  std::shared_ptr<models::SnganDiscriminator> D;
  std::unique_ptr<optim::Adam> opt_g;
  std::unique_ptr<models::GanDiscriminatorStep> d_step_runner;

  Sngan(const Config& c, bool aw, DType dtype = kFloat32, Device device = kCPU) : cfg(c) {
    options.image_channels = kChannels;
    options.g_width = c.g_width;
    options.d_width = c.d_width;
    manual_seed(1);  // same initial state (weights, SN vectors) for every instance
    G = std::make_shared<models::SnganGenerator>(options);
    D = std::make_shared<models::SnganDiscriminator>(options);
    if (dtype != kFloat32) {
      G->to(dtype);
      D->to(dtype);
    }
    if (device != kCPU) {
      G->to(device);
      D->to(device);
    }
    cfg.device = device;
    const optim::AdamOptions adam{2e-4, {0.0, 0.999}};
    opt_g = std::make_unique<optim::Adam>(G->parameters(), adam);
    models::GanDiscriminatorStepOptions step_options;
    step_options.objective = nn::parse_gan_objective("hinge");
    step_options.grad_split = autograd::GradSplitMode::automatic;
    auto params = D->parameters();
    if (aw) {
      d_step_runner = std::make_unique<models::GanDiscriminatorStep>(
          D, std::make_unique<optim::AdaptiveWeighting>(params, std::make_unique<optim::Adam>(params, adam)),
          step_options);
    } else {
      d_step_runner =
          std::make_unique<models::GanDiscriminatorStep>(D, std::make_unique<optim::Adam>(params, adam), step_options);
    }
  }

  Tensor real_images(int64_t n) { return uniform({n, kChannels, kImage, kImage}, -1.0, 1.0, kFloat32, cfg.device, &gen); }

  Tensor fake_images(int64_t n) {
    Tensor z = randn({n, options.z_dim}, kFloat32, cfg.device, &gen);
    NoGradGuard no_grad;
    return G->forward(z);
  }

  void d_step() { d_step_runner->step(real_images(cfg.d_batch), fake_images(cfg.d_batch), gen); }

  void g_step() {
    Tensor z = randn({cfg.g_batch, options.z_dim}, kFloat32, cfg.device, &gen);
    Tensor loss = -ops::mean(D->forward(G->forward(z)));
    opt_g->zero_grad();
    loss.backward();
    opt_g->step();
  }

  void iteration() {
    for (int64_t i = 0; i < cfg.n_dis; ++i) d_step();
    g_step();
  }
};

/// D's flat gradient of the hinge loss on the given images.
std::vector<double> d_gradient(Sngan& gan, const Tensor& real, const Tensor& fake) {
  Tensor out = gan.D->forward(ops::cat({real, fake}, 0));
  const int64_t n = real.size(0);
  Tensor loss = ops::mean(ops::relu(1.0 - out.narrow(0, 0, n))) + ops::mean(ops::relu(out.narrow(0, n, n) + 1.0));
  auto grads = autograd::grad({loss}, gan.D->parameters());
  std::vector<double> flat;
  for (const Tensor& g : grads)
    for (double v : g.to(kCPU).to(kFloat64).to_vector<double>()) flat.push_back(v);
  return flat;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = int(std::thread::hardware_concurrency());
  Config cfg;
  std::string conv_backend_name = "cudnn";
  int64_t validate_batch = 4;
  bool device_given = false, iters_given = false, warmup_given = false, g_batch_given = false,
       d_batch_given = false;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_sngan_step: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(value("--threads"));
    else if (!std::strcmp(argv[i], "--g-batch")) {
      cfg.g_batch = std::atoll(value("--g-batch"));
      g_batch_given = true;
    } else if (!std::strcmp(argv[i], "--d-batch")) {
      cfg.d_batch = std::atoll(value("--d-batch"));
      d_batch_given = true;
    } else if (!std::strcmp(argv[i], "--n-dis")) cfg.n_dis = std::atoll(value("--n-dis"));
    else if (!std::strcmp(argv[i], "--g-width")) cfg.g_width = std::atoll(value("--g-width"));
    else if (!std::strcmp(argv[i], "--d-width")) cfg.d_width = std::atoll(value("--d-width"));
    else if (!std::strcmp(argv[i], "--conv-backend")) conv_backend_name = value("--conv-backend");
    else if (!std::strcmp(argv[i], "--validate-batch")) validate_batch = std::atoll(value("--validate-batch"));
    else {
      device_given |= !std::strcmp(argv[i], "--device");
      iters_given |= !std::strcmp(argv[i], "--iters");
      warmup_given |= !std::strcmp(argv[i], "--warmup");
      rest.push_back(argv[i]);
    }
  }
  b::Args args = b::parse_args(int(rest.size()), rest.data(), "bench_sngan_step");
  if (!device_given) args.device = "cuda";
  if (args.device != "cuda" && args.device != "cpu") {
    std::fprintf(stderr, "bench_sngan_step: --device must be cuda or cpu, got %s\n", args.device.c_str());
    return 2;
  }
  if (conv_backend_name != "cudnn" && conv_backend_name != "native") {
    std::fprintf(stderr, "bench_sngan_step: --conv-backend must be cudnn or native, got %s\n",
                 conv_backend_name.c_str());
    return 2;
  }
  if (threads < 1 || cfg.g_batch < 1 || cfg.d_batch < 1 || cfg.n_dis < 1 || cfg.g_width < 0 || cfg.d_width < 0 ||
      validate_batch < 1) {
    std::fprintf(stderr,
                 "bench_sngan_step: --threads, --g-batch, --d-batch, --n-dis, --validate-batch must be >= 1, "
                 "widths >= 0\n");
    return 2;
  }
  const bool on_cuda = args.device == "cuda";
  if (on_cuda && nova::cuda::device_count() == 0) {
    std::fprintf(stderr, "bench_sngan_step: no CUDA device answered (or nova was built without CUDA): nothing "
                         "measured; --device cpu runs the CPU smoke check\n");
    return 77;
  }
  if (!on_cuda) {
    // the smoke check: small widths and batches, a few iterations
    if (cfg.g_width == 0) cfg.g_width = 16;
    if (cfg.d_width == 0) cfg.d_width = 16;
    if (!g_batch_given) cfg.g_batch = 32;
    if (!d_batch_given) cfg.d_batch = 16;
    if (!iters_given) args.iters = 3;
    if (!warmup_given) args.warmup = 1;
  }
  omp_set_num_threads(threads);
  const Device device = on_cuda ? Device::cuda(0) : kCPU;
  set_allow_tf32(false);
  if (on_cuda) set_conv_backend(conv_backend_name == "cudnn" ? ConvBackend::cudnn : ConvBackend::native);
  auto sync = [&] {
    if (on_cuda) nova::cuda::synchronize(0);
  };

  try {
    const int64_t g_width = cfg.g_width > 0 ? cfg.g_width : 256, d_width = cfg.d_width > 0 ? cfg.d_width : 128;
    const std::string shape =
        fmt::format("3x32x32, batch G/D {}/{}, n_dis {}, widths G {} D {}", cfg.g_batch, cfg.d_batch, cfg.n_dis,
                    g_width, d_width);
    const std::string math =
        on_cuda ? fmt::format("float32, TF32 off, convs through {}", conv_backend_name == "cudnn"
                                                                          ? "nova's cuDNN path (CUDNN_FMA_MATH)"
                                                                          : "nova's native kernels")
                : fmt::format("float32, {} OpenMP threads", threads);
    std::string device_name = b::cpu_name();
    if (on_cuda) {
      std::string gpu = b::run_command("nvidia-smi --query-gpu=name --format=csv,noheader -i 0 2>/dev/null");
      device_name = gpu.empty() ? "cuda:0" : gpu;
    }
    b::Report rep("bench_sngan_step", "SN-GAN iteration (n_dis D steps + 1 G step, hinge, Adam, SN in D)", shape,
                  "float32", math, device_name);
    rep.doc()["device_kind"] = args.device;

    {  // validate: D's gradient on the device in float32 against the CPU in float64, same initial state
      Sngan g32(cfg, false, kFloat32, device), g64(cfg, false, kFloat64, kCPU);
      Tensor real = g32.real_images(validate_batch), fake = g32.fake_images(validate_batch);
      auto got = d_gradient(g32, real, fake);
      auto ref = d_gradient(g64, real.to(kCPU).to(kFloat64), fake.to(kCPU).to(kFloat64));
      if (!rep.validate("v1 nova D gradient", b::rel_l2_error(got, ref), 1e-4)) return rep.finish(args.json_path);
    }

    Sngan base(cfg, false, kFloat32, device), aw(cfg, true, kFloat32, device);
    auto timed = [&](const std::function<void()>& fn) {
      return b::time_cpu([&] { fn(); sync(); }, args.warmup, args.iters);
    };
    b::Timing t_base = timed([&] { base.iteration(); });
    b::Timing t_aw = timed([&] { aw.iteration(); });
    b::Timing t_base_again = timed([&] { base.iteration(); });  // the noise floor of the ratio
    b::Timing t_d = timed([&] { base.d_step(); });
    b::Timing t_d_aw = timed([&] { aw.d_step(); });
    b::Timing t_g = timed([&] { base.g_step(); });
    const std::string split_path =
        aw.d_step_runner->grad_split_path() == autograd::GradSplitMode::fused ? "fused" : "reference";
    const std::string split_reason = aw.d_step_runner->grad_split_reason();

    // ---- baseline: PyTorch on the same device ----
    std::vector<std::string> notes;
    const nlohmann::json torch = b::run_torch_baseline(
        NOVA_BENCH_SOURCE_DIR "/sngan_step_torch.py",
        fmt::format("--device {} --threads {} --iters {} --warmup {} --g-batch {} --d-batch {} --n-dis {} "
                    "--g-width {} --d-width {}",
                    args.device, threads, args.iters, args.warmup, cfg.g_batch, cfg.d_batch, cfg.n_dis, g_width,
                    d_width),
        notes);
    for (const std::string& n : notes) rep.note(n);

    const double aw_cost = t_aw.median_ms / t_base.median_ms - 1.0;
    nlohmann::json extra = {{"d_step_median_ms", t_d.median_ms},
                            {"g_step_median_ms", t_g.median_ms},
                            {"median_ms_again", t_base_again.median_ms}};
    if (!torch.is_null()) {
      const b::Timing tt = b::torch_timing(torch);
      rep.row("v0 torch iteration", tt,
              {{"ratio", 1.0}, {"torch", torch.value("torch", std::string("?"))},
               {"d_step_median_ms", torch.value("d_step_median_ms", 0.0)},
               {"g_step_median_ms", torch.value("g_step_median_ms", 0.0)}});
      if (torch.contains("aw_median_ms")) {
        b::Timing ta;
        ta.median_ms = torch["aw_median_ms"].get<double>();
        ta.min_ms = torch.value("aw_min_ms", ta.median_ms);
        ta.max_ms = torch.value("aw_max_ms", ta.median_ms);
        ta.iters = tt.iters;
        rep.row("v0 torch aw iteration", ta, {{"note", "aw D steps as the authors' code: two backward passes"}});
      }
      const double ratio = t_base.median_ms / tt.median_ms;
      extra["ratio"] = ratio;
      extra["ratio_of"] = "nova median ms / torch median ms";
      extra["ratio_of_mins"] = t_base.min_ms / tt.min_ms;
      extra["target"] = "<= 1.2";
      extra["target_met"] = ratio <= 1.2;
    }
    rep.row("v1 nova iteration", t_base, extra);
    nlohmann::json aw_extra = {{"ratio", t_aw.median_ms / t_base.median_ms},
                               {"ratio_of", "nova aw iteration / nova baseline iteration"},
                               {"added_cost", aw_cost},
                               {"target", "<= 1.1"},
                               {"target_met", aw_cost <= 0.10},
                               {"grad_split", split_path},
                               {"grad_split_reason", split_reason},
                               {"d_step_median_ms", t_d_aw.median_ms}};
    if (!torch.is_null() && torch.contains("aw_median_ms"))
      aw_extra["torch_aw_ratio"] = t_aw.median_ms / torch["aw_median_ms"].get<double>();
    rep.row("v1 nova aw iteration", t_aw, aw_extra);

    std::printf("\nnova  iteration %.2f ms (again %.2f; D step %.2f, aw D step %.2f, G step %.2f) on %s\n",
                t_base.median_ms, t_base_again.median_ms, t_d.median_ms, t_d_aw.median_ms, t_g.median_ms,
                args.device.c_str());
    std::printf("nova  aw iteration %.2f ms: added cost %.1f%% per iteration (target <= 10%%: %s), grad_split %s%s%s\n",
                t_aw.median_ms, 100 * aw_cost, aw_cost <= 0.10 ? "met" : "MISSED", split_path.c_str(),
                split_reason.empty() ? "" : " - ", split_reason.c_str());
    if (!torch.is_null()) {
      std::printf("torch iteration %.2f ms (D step %.2f, G step %.2f), torch %s\n", torch["median_ms"].get<double>(),
                  torch.value("d_step_median_ms", 0.0), torch.value("g_step_median_ms", 0.0),
                  torch.value("torch", std::string("?")).c_str());
      if (torch.contains("aw_median_ms"))
        std::printf("torch aw iteration %.2f ms (two backward passes per D step)\n", torch["aw_median_ms"].get<double>());
      std::printf("ratio nova/torch %.3f (of the mins %.3f): target <= 1.2 %s\n", extra["ratio"].get<double>(),
                  extra["ratio_of_mins"].get<double>(), b::verdict(extra["ratio"].get<double>(), 1.2, true));
    }
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sngan_step: %s\n", e.what());
    return 1;
  }
}
