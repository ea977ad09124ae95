// bench/bench_symconv.cpp: SCNN's symmetric convolutions on the CPU (core/
// symconv.h), float32, at SCosRec's layer shapes (batch 512, L 5), against
// the same layers as ordinary convolutions on the full maps, and one CosRec
// and SCosRec training step against PyTorch's CPU build.
//
// Layers, forward + backward (grad of input and weight) of one layer each:
//   v0 full    nova conv2d on the full L x L map with the full kernel W(S) or
//              Q(R) (for the generating layer, on the self-Cartesian
//              product, which v0 forms as CosRec does)
//   v1 packed  nova sym_generating_conv2d / sym_preserving_conv2d on the
//              packed lower triangle with S or R
// ratio = v0 median / v1 median (higher: packed is faster); "flops_ratio"
// is the multiply-adds v0 does over v1's. Validation: v1's output against
// v0's lower triangle, relative L2 <= 1e-5.
//
// Steps (models/cosrec.h, ML-1M sizes: 6,040 users, 3,416 items, batch 512,
// 3 targets + 3 negatives, BCE of CosRec's code, Adam 1e-3 with weight decay
// 5e-6, dropout 0.5):
//   torch CosRec / SCosRec as the authors ran it (full maps, kernels built
//   from S and R each step: bench/cosrec_step_torch.py, when PyTorch is
//   found), nova CosRec, nova SCosRec (packed). Ratios are torch / nova.
//
// Command line: report.h's [--json PATH] [--iters N] [--warmup N], plus
//   --threads N  OpenMP threads for nova and torch (default: all)
//   --batch N    (default 512)
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench/report.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/cpu/gemm.h"
#include "models/cosrec.h"
#include "optim/optimizer.h"

using namespace nova;
namespace b = nova::bench;

namespace {

struct LayerCase {
  std::string name;
  bool generating;
  int64_t in, out, C, L;
};

/// Multiply-adds of one forward: the full convolution's and the packed one's.
std::pair<double, double> layer_macs(const LayerCase& c, int64_t N) {
  const double Lout = double(c.L - c.C + 1), T_out = Lout * (Lout + 1) / 2, P = double(c.C * (c.C + 1) / 2);
  if (c.generating)
    return {double(N) * Lout * Lout * 2.0 * double(c.in) * double(c.C * c.C) * double(c.out),
            double(N) * double(c.L) * double(c.in) * double(c.out) * P};
  return {double(N) * Lout * Lout * double(c.in) * double(c.C * c.C) * double(c.out),
          double(N) * T_out * double(c.in) * P * double(c.out)};
}

/// Forward + backward of y = f(x, w) with a fixed output gradient r.
void forward_backward(const std::function<Tensor()>& f, const Tensor& r, const std::vector<Tensor>& inputs) {
  Tensor y = f();
  autograd::grad({y}, inputs, {r});
}

void bench_layer(b::Report& rep, const LayerCase& c, int64_t N, const b::Args& args) {
  const int64_t P = c.C * (c.C + 1) / 2;
  // a sequence [N, L, n] (generating) or a packed map [N, m, T] (preserving)
  Tensor x = c.generating ? randn({N, c.L, c.in}) : randn({N, c.in, c.L * (c.L + 1) / 2});
  Tensor w = randn({P, c.in, c.out}) * 0.05;
  Tensor full_x = c.generating ? ops::self_cartesian_product(x) : ops::sym_unpack(x);
  Tensor full_w = c.generating ? ops::sym_generating_kernel(w) : ops::sym_preserving_kernel(w);
  x.requires_grad_(), w.requires_grad_();
  Tensor xs = x.detach().requires_grad_(), fw = full_w.detach().requires_grad_();
  Tensor fx = full_x.detach().requires_grad_();
  auto packed = [&] {
    return c.generating ? ops::sym_generating_conv2d(x, w) : ops::sym_preserving_conv2d(x, w);
  };
  // v0 forms the full input inside the timed call, as a full-map network must
  auto full = [&] {
    Tensor in = c.generating ? ops::self_cartesian_product(xs) : fx;
    return ops::conv2d(in, fw);
  };
  Tensor y_packed = packed(), y_full = full();
  const double err = b::rel_l2_error(y_packed.to_vector<double>(), ops::sym_pack(y_full).to_vector<double>());
  if (!rep.validate("v1 packed " + c.name, err, 1e-5)) return;
  Tensor r_packed = randn(y_packed.shape()), r_full = randn(y_full.shape());
  const b::Timing t_full = b::time_cpu([&] { forward_backward(full, r_full, {c.generating ? xs : fx, fw}); },
                                       args.warmup, args.iters);
  const b::Timing t_packed = b::time_cpu([&] { forward_backward(packed, r_packed, {x, w}); }, args.warmup,
                                         args.iters);
  const auto [full_macs, packed_macs] = layer_macs(c, N);
  rep.row("v0 full " + c.name, t_full, {{"ratio", 1.0}, {"fwd_macs", full_macs}});
  rep.row("v1 packed " + c.name, t_packed,
          {{"ratio", t_full.median_ms / t_packed.median_ms},
           {"ratio_of", "full median ms / packed median ms"},
           {"fwd_macs", packed_macs},
           {"flops_ratio", full_macs / packed_macs}});
  std::printf("%-40s full %8.2f ms  packed %8.2f ms  speedup %.2fx (multiply-adds %.2fx)\n", c.name.c_str(),
              t_full.median_ms, t_packed.median_ms, t_full.median_ms / t_packed.median_ms, full_macs / packed_macs);
}

/// One CosRec / SCosRec training step on random ML-1M-sized batches.
struct Step {
  Generator gen{0};
  std::shared_ptr<models::CosRec> model;
  std::unique_ptr<optim::Adam> adam;
  int64_t batch, users = 6040, items = 3416;

  Step(bool symmetric, int64_t batch) : batch(batch) {
    manual_seed(1);
    model = std::make_shared<models::CosRec>(models::CosRecOptions::ml1m(users, items, symmetric));
    optim::AdamOptions o;
    o.lr = 1e-3, o.weight_decay = 5e-6;
    adam = std::make_unique<optim::Adam>(model->parameters(), o);
  }

  void run() {
    Tensor seq = randint(1, items, {batch, 5}, kInt64, kCPU, &gen);
    Tensor user = randint(0, users, {batch}, kInt64, kCPU, &gen);
    Tensor predict = randint(1, items, {batch, 6}, kInt64, kCPU, &gen);
    Tensor s = model->forward(seq, user, predict);
    // CosRec's loss: -mean log sigmoid(targets) - mean log(1 - sigmoid(negatives))
    Tensor loss = ops::mean(ops::softplus(-s.narrow(1, 0, 3))) + ops::mean(ops::softplus(s.narrow(1, 3, 3)));
    adam->zero_grad();
    loss.backward();
    adam->step();
  }
};

}  // namespace

int main(int argc, char** argv) {
  int threads = int(std::thread::hardware_concurrency());
  int64_t batch = 512;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_symconv: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(value("--threads"));
    else if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(value("--batch"));
    else rest.push_back(argv[i]);
  }
  b::Args args = b::parse_args(int(rest.size()), rest.data(), "bench_symconv");
  if (threads < 1 || batch < 1) {
    std::fprintf(stderr, "bench_symconv: --threads and --batch must be >= 1\n");
    return 2;
  }
  omp_set_num_threads(threads);
  try {
    b::Report rep("bench_symconv", "symmetric convolutions (packed) vs full-map conv2d; CosRec/SCosRec step",
                  fmt::format("batch {}, SCosRec's layers (L 5, ML-1M sizes)", batch), "float32",
                  fmt::format("float32, {} GEMM, {} OpenMP threads", cpu::gemm_backend(), threads), b::cpu_name());
    rep.doc()["threads"] = threads;
    const std::vector<LayerCase> layers = {
        {"generating 1x1 50->128, L 5", true, 50, 128, 1, 5},
        {"preserving 3x3 128->128, 5x5->3x3", false, 128, 128, 3, 5},
        {"preserving 1x1 128->256, 3x3", false, 128, 256, 1, 3},
        {"preserving 3x3 256->256, 3x3->1x1", false, 256, 256, 3, 3},
    };
    for (const LayerCase& c : layers) bench_layer(rep, c, batch, args);

    Step cosrec(false, batch), scosrec(true, batch);
    const b::Timing t_cosrec = b::time_cpu([&] { cosrec.run(); }, args.warmup, args.iters);
    const b::Timing t_scosrec = b::time_cpu([&] { scosrec.run(); }, args.warmup, args.iters);
    std::vector<std::string> notes;
    auto torch_step = [&](bool symmetric) {
      return b::run_torch_baseline(NOVA_BENCH_SOURCE_DIR "/cosrec_step_torch.py",
                                   fmt::format("--threads {} --iters {} --warmup {} --batch {} --symmetric {}",
                                               threads, args.iters, args.warmup, batch, symmetric ? 1 : 0),
                                   notes);
    };
    const nlohmann::json torch_cosrec = torch_step(false), torch_scosrec = torch_step(true);
    for (const std::string& n : notes) rep.note(n);
    nlohmann::json cos_extra = nlohmann::json::object(), scos_extra = nlohmann::json::object();
    if (!torch_cosrec.is_null()) {
      rep.row("v0 torch CosRec step", b::torch_timing(torch_cosrec),
              {{"torch", torch_cosrec.value("torch", std::string("?"))}});
      cos_extra["ratio"] = torch_cosrec["median_ms"].get<double>() / t_cosrec.median_ms;
    }
    if (!torch_scosrec.is_null()) {
      rep.row("v0 torch SCosRec step (full maps)", b::torch_timing(torch_scosrec),
              {{"torch", torch_scosrec.value("torch", std::string("?"))}});
      scos_extra["ratio"] = torch_scosrec["median_ms"].get<double>() / t_scosrec.median_ms;
    }
    rep.row("v1 nova CosRec step", t_cosrec, cos_extra);
    rep.row("v1 nova SCosRec step (packed)", t_scosrec, scos_extra);
    std::printf("\nstep, batch %lld, %d threads: nova CosRec %.1f ms, nova SCosRec %.1f ms", (long long)batch, threads,
                t_cosrec.median_ms, t_scosrec.median_ms);
    if (!torch_cosrec.is_null() && !torch_scosrec.is_null())
      std::printf("; torch %s CosRec %.1f ms, SCosRec %.1f ms (ratios torch/nova %.2f, %.2f)",
                  torch_cosrec.value("torch", std::string("?")).c_str(), torch_cosrec["median_ms"].get<double>(),
                  torch_scosrec["median_ms"].get<double>(), cos_extra["ratio"].get<double>(),
                  scos_extra["ratio"].get<double>());
    std::printf("\n");
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_symconv: %s\n", e.what());
    return 1;
  }
}
