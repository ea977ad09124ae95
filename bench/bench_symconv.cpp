// bench/bench_symconv.cpp: SCNN's symmetric convolutions (core/symconv.h),
// float32, packed lower triangles against the same layers as ordinary
// convolutions on the full maps. Three parts (--part):
//
// scosrec (CPU): SCosRec's layer shapes (batch 512, L 5), one CosRec and one
// SCosRec training step against PyTorch's CPU build.
//   Layers, forward + backward (grad of input and weight) timed together:
//     v0 full    nova conv2d on the full L x L map with the full kernel W(S)
//                or Q(R) (for the generating layer, on the self-Cartesian
//                product, which v0 forms inside the timed call as CosRec does)
//     v1 packed  nova sym_generating_conv2d / sym_preserving_conv2d on the
//                packed lower triangle with S or R
//   ratio = v0 median / v1 median (higher: packed is faster); "flops_ratio"
//   is the multiply-adds v0 does over v1's. Validation: v1's output against
//   v0's lower triangle, relative L2 <= 1e-5.
//   Steps (models/cosrec.h, ML-1M sizes: 6,040 users, 3,416 items, batch
//   512, 3 targets + 3 negatives, BCE of CosRec's code, Adam 1e-3 with weight
//   decay 5e-6, dropout 0.5): torch CosRec / SCosRec as the authors ran it
//   (full maps, kernels built from S and R each step:
//   bench/cosrec_step_torch.py, when PyTorch is found), nova CosRec, nova
//   SCosRec (packed). Ratios are torch / nova.
//
// sweep (CPU or CUDA, issue 19's target): L 5, 16, 32, 64, 128, 256 and the
// layers of kSweepCases (preserving 3x3 with padding 1 and 1x1, 32 and 64
// channels; generating 1x1 and 3x3 on sequences of n 32 and 64), batch
// sweep_batch(L) (256 down to 4 at L 256, printed in every row). Each layer,
// forward alone and backward alone (the data and the filter gradient of one
// autograd backward, timed after an untimed forward), by:
//   packed  the symmetric op on the packed triangle with S or R
//   full    nova's conv2d on the full map with W(S) or Q(R) (CUDA: its own
//           kernels, ConvBackend::native); the generating layer's full input
//           is the materialised L x L x 2n product, built outside the timed
//           calls (its own column, "build": self_cartesian_product's forward)
//   torch   (CPU) F.conv2d on the same full shapes, bench/symconv_torch.py
//           in one process, same thread count, when PyTorch is found
//   cudnn   (CUDA) nova's conv2d through cuDNN (ConvBackend::cudnn),
//           CUDNN_FMA_MATH (TF32 stays off)
// Ratios packed / full and packed / torch-or-cudnn (lower: packed is
// cheaper). Target: forward and backward each <= 0.6, activation memory
// <= 0.55 of the full convolution's. Activation memory, exact from shapes:
// the bytes of the op's output plus the input activation its node saves
// for backward (packed: F T' + m T or F T' + L n per image; full: F L'^2 +
// m L^2, or F L'^2 + 2n L^2 for the product; weights, a few KB, are not
// counted). Peak, measured: the most bytes the allocator (cpu:: or cuda::
// memory_stats) held beyond what was there before, from copying the layer's
// input through its backward (input, output, workspaces, both gradients).
// Validation, before timing: the packed output against the full one's lower
// triangle (relative L2 <= 1e-5) and the packed gradients against the full
// ones mapped back through the adjoints of sym_unpack / the product and of
// W(S) / Q(R) (<= 1e-4, float32 sums over up to 262,144 positions); cuDNN
// against nova's full conv the same way. Each pass: one untimed call plus
// min(--warmup, 1), then as many timed calls as fit in --budget-ms (at least
// 3, at most --iters); CUDA times are wall clock around a device synchronize (no
// CUDA headers in this file, as bench_grad_split).
//
// Command line: report.h's [--json PATH] [--iters N] [--warmup N] [--device
// cpu|cuda] (cuda: the sweep only; exit 77 without a device), plus
//   --threads N    OpenMP threads for nova and torch (default: all)
//   --batch N      the scosrec part's batch (default 512)
//   --part P       all (default on cpu), scosrec, or sweep (the only one on cuda)
//   --L LIST       the sweep's sides, comma-separated (default 5,16,32,64,128,256)
//   --budget-ms X  the sweep's time per pass and version (default 1000 cpu, 200 cuda)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/ranges.h>

#include "bench/report.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/cpu/allocator.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/runtime.h"
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


// ---- the sweep: packed vs full at L 5..256 (issue 19's target) ----

constexpr double kTimeTarget = 0.6, kMemoryTarget = 0.55;

struct SweepCase {
  std::string name;
  bool generating;
  int64_t in, out, C, pad;  // in: m (preserving) or the sequence's n (generating)
};

// Typical widths of a symmetric CNN: CosRec's blocks are 1x1 then 3x3 (no
// padding at L 5); at larger L a "same" 3x3 (padding 1) keeps the side.
const std::vector<SweepCase> kSweepCases = {
    {"preserving 3x3 32->32", false, 32, 32, 3, 1}, {"preserving 3x3 64->64", false, 64, 64, 3, 1},
    {"preserving 1x1 32->32", false, 32, 32, 1, 0}, {"preserving 1x1 64->64", false, 64, 64, 1, 0},
    {"generating 1x1 n32->32", true, 32, 32, 1, 0}, {"generating 1x1 n64->64", true, 64, 64, 1, 0},
    {"generating 3x3 n64->64", true, 64, 64, 3, 1},
};

/// The sweep's batch at side L: 256 maps up to L 32, then B L^2 = 262,144
/// (64 at L 64, 16 at L 128, 4 at L 256), so the large maps fit the 2-core
/// VM's time and memory.
int64_t sweep_batch(int64_t L) { return std::clamp<int64_t>(262144 / (L * L), 4, 256); }

struct SweepOptions {
  Device device = kCPU;
  int warmup = 1, iters = 50;
  double budget_ms = 1000;
};

void synchronize(Device d) {
  if (d.is_cuda()) cuda::synchronize(d.index);
}

/// `timed` after an untimed `setup`, the device synchronized before and
/// after: one untimed call plus `warmup`, then as many as fit in the budget
/// (at least 3, at most iters).
b::Timing time_pass(const std::function<void()>& setup, const std::function<void()>& timed, const SweepOptions& o) {
  auto once = [&] {
    setup();
    synchronize(o.device);
    const auto t0 = std::chrono::steady_clock::now();
    timed();
    synchronize(o.device);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  const double first = once();
  for (int i = 0; i < o.warmup; ++i) once();
  const int n = std::max(3, std::min(o.iters, int(o.budget_ms / std::max(first, 1e-3))));
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) ms.push_back(once());
  return b::summarize(std::move(ms), false);
}

/// One way of computing a layer: leaves x and w (both requiring grad), the
/// output gradient r, and the op.
struct Variant {
  Tensor x, w, r;
  std::function<Tensor(const Tensor& x, const Tensor& w)> op;
};

struct PassTimes {
  b::Timing fwd, bwd;
};

PassTimes time_variant(const Variant& v, const SweepOptions& o) {
  Tensor y;
  std::vector<Tensor> grads;
  PassTimes t;
  t.fwd = time_pass([&] { y = Tensor(); }, [&] { y = v.op(v.x, v.w); }, o);
  t.bwd = time_pass(
      [&] {
        grads.clear();
        y = v.op(v.x, v.w);
      },
      [&] { grads = autograd::grad({y}, {v.x, v.w}, {v.r}); }, o);
  return t;
}

size_t allocated_bytes(Device d) {
  return d.is_cuda() ? cuda::memory_stats(d.index).allocated : cpu::memory_stats().allocated;
}

/// The most bytes held beyond what was there before, from a copy of the
/// layer's input through its backward (the copy, output, workspaces, grads).
size_t peak_bytes(const Variant& v, Device d) {
  synchronize(d);
  const size_t base = allocated_bytes(d);
  d.is_cuda() ? cuda::reset_peak_memory_stats(d.index) : cpu::reset_peak_memory_stats();
  {
    Tensor x = v.x.detach().clone().requires_grad_();
    Tensor y = v.op(x, v.w);
    std::vector<Tensor> g = autograd::grad({y}, {x, v.w}, {v.r});
    synchronize(d);
  }
  const size_t peak = d.is_cuda() ? cuda::memory_stats(d.index).peak_allocated : cpu::memory_stats().peak_allocated;
  return peak - base;
}

double rel_error(const Tensor& out, const Tensor& ref) {
  return b::rel_l2_error(out.to(kCPU).to_vector<double>(), ref.to(kCPU).to_vector<double>());
}

/// One sweep row's layer at side L: the packed variant, nova's full conv2d,
/// and (CUDA) cuDNN's, with the sizes the memory columns need.
struct SweepLayer {
  const SweepCase& c;
  int64_t N, L, Lout;
  Tensor seq_or_packed;  // x of the packed op: [N, L, n] or [N, m, T]
  Variant packed, full, cudnn;

  SweepLayer(const SweepCase& c, int64_t L, Device device)
      : c(c), N(sweep_batch(L)), L(L), Lout(L + 2 * c.pad - c.C + 1) {
    const int64_t P = c.C * (c.C + 1) / 2, T_out = Lout * (Lout + 1) / 2;
    seq_or_packed = c.generating ? randn({N, L, c.in}, kFloat32, device)
                                 : randn({N, c.in, L * (L + 1) / 2}, kFloat32, device);
    Tensor w = randn({P, c.in, c.out}, kFloat32, device) * (1.0 / std::sqrt(double(c.in * c.C * c.C)));
    Tensor full_x = c.generating ? ops::self_cartesian_product(seq_or_packed) : ops::sym_unpack(seq_or_packed);
    Tensor full_w = c.generating ? ops::sym_generating_kernel(w) : ops::sym_preserving_kernel(w);
    packed.x = seq_or_packed.detach().requires_grad_();
    packed.w = w.detach().requires_grad_();
    packed.r = randn({N, c.out, T_out}, kFloat32, device);
    const bool gen = c.generating;
    const int64_t pad = c.pad;
    packed.op = [gen, pad](const Tensor& x, const Tensor& s) {
      return gen ? ops::sym_generating_conv2d(x, s, {}, pad) : ops::sym_preserving_conv2d(x, s, {}, pad);
    };
    full.x = full_x.detach().requires_grad_();
    full.w = full_w.detach().requires_grad_();
    // the adjoint of sym_pack applied to r: r at the lower triangle, zero
    // above, so <y_full, r_full> = <y_packed, r_packed> and both backwards
    // compute the gradients of one loss (the validation below relies on it)
    Tensor z = zeros({N, c.out, Lout, Lout}, kFloat32, device).requires_grad_();
    full.r = autograd::grad({ops::sym_pack(z)}, {z}, {packed.r})[0];
    full.op = [pad](const Tensor& x, const Tensor& w) {
      return ops::conv2d(x, w, Conv2dArgs().padding(pad).backend(ConvBackend::native));
    };
    if (device.is_cuda()) {
      cudnn = full;
      cudnn.op = [pad](const Tensor& x, const Tensor& w) {
        return ops::conv2d(x, w, Conv2dArgs().padding(pad).backend(ConvBackend::cudnn));
      };
    }
  }

  std::string label() const {
    return fmt::format("L={} B={} {}{}", L, N, c.name, c.pad ? " pad 1" : "");
  }
  /// Exact activation bytes (output + saved input activation), float32.
  double packed_activation_bytes() const {
    const double x = c.generating ? double(L * c.in) : double(c.in * L * (L + 1) / 2);
    return 4.0 * double(N) * (double(c.out * Lout * (Lout + 1) / 2) + x);
  }
  double full_activation_bytes() const {
    const double x = double((c.generating ? 2 : 1) * c.in * L * L);
    return 4.0 * double(N) * (double(c.out * Lout * Lout) + x);
  }
};

/// The full conv's shapes at side L as symconv_torch.py's "N,Cin,F,C,pad,L".
std::string torch_case(const SweepCase& c, int64_t L) {
  return fmt::format("{},{},{},{},{},{}", sweep_batch(L), (c.generating ? 2 : 1) * c.in, c.out, c.C, c.pad, L);
}

/// Validates `v` against the full conv: output (lower triangle) and both
/// gradients mapped back to v's layout through the adjoints of the ops
/// that build the full input and kernel (packed) or as they are (cudnn).
bool validate_variant(b::Report& rep, const SweepLayer& l, const Variant& v, bool is_packed, const std::string& row) {
  Tensor y = v.op(v.x, v.w), y_full = l.full.op(l.full.x, l.full.w);
  const double err_y = is_packed ? rel_error(y, ops::sym_pack(y_full)) : rel_error(y, y_full);
  if (!rep.validate(row + " fwd", err_y, 1e-5)) return false;
  std::vector<Tensor> g = autograd::grad({y}, {v.x, v.w}, {v.r});
  std::vector<Tensor> gf = autograd::grad({y_full}, {l.full.x, l.full.w}, {l.full.r});
  if (is_packed) {
    Tensor x = l.seq_or_packed.detach().requires_grad_(), w = v.w.detach().requires_grad_();
    Tensor fx = l.c.generating ? ops::self_cartesian_product(x) : ops::sym_unpack(x);
    Tensor fw = l.c.generating ? ops::sym_generating_kernel(w) : ops::sym_preserving_kernel(w);
    gf[0] = autograd::grad({fx}, {x}, {gf[0]})[0];
    gf[1] = autograd::grad({fw}, {w}, {gf[1]})[0];
  }
  const double err_g = std::max(rel_error(g[0], gf[0]), rel_error(g[1], gf[1]));
  return rep.validate(row + " bwd", err_g, 1e-4);
}

nlohmann::json json_timing(const b::Timing& t) {
  return {{"median_ms", t.median_ms}, {"min_ms", t.min_ms}, {"max_ms", t.max_ms}, {"iters", t.iters}};
}

const char* met(double ratio, double target) { return b::verdict(ratio, target, /*lower_is_better=*/true); }

/// The torch side of every sweep row in one process (its start-up is
/// seconds): one JSON object per row, or nulls with a note when there is
/// no PyTorch or the script fails (as b::run_torch_baseline).
std::vector<nlohmann::json> torch_sweep(const std::vector<std::string>& cases, int threads, const SweepOptions& o,
                                        std::vector<std::string>& notes) {
  std::vector<nlohmann::json> rows(cases.size());
  const std::string python = b::python_with_torch();
  if (python.empty()) {
    notes.push_back("PyTorch not found (/tmp/tv/bin/python3 or python3 with torch): no torch column in the sweep");
    return rows;
  }
  std::string list;
  for (const std::string& c : cases) list += (list.empty() ? "" : ";") + c;
  int rc = 0;
  const std::string script = NOVA_BENCH_SOURCE_DIR "/symconv_torch.py";
  const std::string out = b::run_command(fmt::format("{} \"{}\" --threads {} --iters {} --warmup {} --budget-ms {} "
                                                     "--cases \"{}\" 2>/dev/null",
                                                     python, script, threads, o.iters, o.warmup, o.budget_ms, list),
                                         &rc);
  const size_t nl = out.rfind('\n');
  const nlohmann::json result =
      nlohmann::json::parse(out.substr(nl == std::string::npos ? 0 : nl + 1), nullptr, /*allow_exceptions=*/false);
  if (rc != 0 || result.is_discarded() || !result.contains("rows") || result["rows"].size() != cases.size()) {
    notes.push_back(fmt::format("PyTorch found but {} failed (rc {}): no torch column; output: {}", script, rc, out));
    return rows;
  }
  for (size_t i = 0; i < cases.size(); ++i) rows[i] = result["rows"][i];
  notes.push_back(fmt::format("torch column: PyTorch {} F.conv2d, {} threads ({})",
                              result.value("torch", std::string("?")), result.value("threads", 0), script));
  return rows;
}

void run_sweep(b::Report& rep, const std::vector<int64_t>& sides, int threads, const SweepOptions& o) {
  const bool on_cuda = o.device.is_cuda();
  const char* other = on_cuda ? "cudnn" : "torch";
  std::vector<std::string> notes, cases;
  for (int64_t L : sides)
    for (const SweepCase& c : kSweepCases) cases.push_back(torch_case(c, L));
  // torch first, alone on the CPU, then nova
  const std::vector<nlohmann::json> torch =
      on_cuda ? std::vector<nlohmann::json>(cases.size()) : torch_sweep(cases, threads, o, notes);
  // a build without cuDNN throws for ConvBackend::cudnn: then no cudnn column
  bool have_cudnn = false;
  if (on_cuda) {
    try {
      Tensor x = randn({1, 2, 4, 4}, kFloat32, o.device), w = randn({2, 2, 3, 3}, kFloat32, o.device);
      ops::conv2d(x, w, Conv2dArgs().backend(ConvBackend::cudnn));
      have_cudnn = true;
    } catch (const std::exception& e) {
      notes.push_back(fmt::format("cuDNN unavailable ({}): no cudnn column", e.what()));
    }
  }
  for (const std::string& n : notes) rep.note(n);

  std::printf("\nsweep on %s: median ms; ratios packed / full and packed / %s, target <= %.1f each; build: "
              "the full input of a generating layer (self_cartesian_product), not in its full time\n",
              on_cuda ? "cuda:0" : "the CPU", other, kTimeTarget);
  std::printf("%-40s %4s %8s %8s %8s %8s %6s %-6s %6s %-6s\n", "layer", "pass", "packed", "full", other, "build",
              "p/full", "target", fmt::format("p/{}", other).c_str(), "target");
  struct MemoryLine {
    std::string label;
    double act_packed, act_full;
    size_t peak_packed, peak_full;
  };
  std::vector<MemoryLine> memory;
  size_t index = 0;
  for (int64_t L : sides) {
    for (const SweepCase& c : kSweepCases) {
      const nlohmann::json& t_other = torch[index++];
      SweepLayer l(c, L, o.device);
      const std::string label = l.label();
      if (!validate_variant(rep, l, l.packed, true, label + " packed")) continue;
      if (have_cudnn && !validate_variant(rep, l, l.cudnn, false, label + " cudnn")) continue;
      // the generating layer's full input, built apart from the conv's time
      b::Timing build;
      if (c.generating) {
        Tensor product;
        build = time_pass([&] { product = Tensor(); },
                          [&] { product = ops::self_cartesian_product(l.seq_or_packed); }, o);
      }
      const PassTimes packed = time_variant(l.packed, o), full = time_variant(l.full, o);
      PassTimes base2;
      bool have_other = false;
      if (have_cudnn) {
        base2 = time_variant(l.cudnn, o);
        have_other = true;
      } else if (!t_other.is_null()) {
        base2.fwd = b::torch_timing(t_other["fwd"]);
        base2.bwd = b::torch_timing(t_other["bwd"]);
        have_other = true;
      }
      const double act_ratio = l.packed_activation_bytes() / l.full_activation_bytes();
      const size_t peak_packed = peak_bytes(l.packed, o.device), peak_full = peak_bytes(l.full, o.device);
      memory.push_back({label, l.packed_activation_bytes(), l.full_activation_bytes(), peak_packed, peak_full});

      for (int pass = 0; pass < 2; ++pass) {
        const char* name = pass == 0 ? "fwd" : "bwd";
        const b::Timing& tp = pass == 0 ? packed.fwd : packed.bwd;
        const b::Timing& tf = pass == 0 ? full.fwd : full.bwd;
        const b::Timing& to = pass == 0 ? base2.fwd : base2.bwd;
        const double r_full = tp.median_ms / tf.median_ms, r_other = have_other ? tp.median_ms / to.median_ms : 0;
        std::printf("%-40s %4s %8.3f %8.3f %8s %8s %6.2f %-6s %6s %-6s\n", label.c_str(), name, tp.median_ms,
                    tf.median_ms, have_other ? fmt::format("{:.3f}", to.median_ms).c_str() : "-",
                    c.generating && pass == 0 ? fmt::format("{:.3f}", build.median_ms).c_str() : "-", r_full,
                    met(r_full, kTimeTarget), have_other ? fmt::format("{:.2f}", r_other).c_str() : "-",
                    have_other ? met(r_other, kTimeTarget) : "-");
        nlohmann::json row = json_timing(tp);
        row["name"] = fmt::format("{} {} packed", label, name);
        row["validation"] = "passed";
        row["l2_flushed"] = false;
        row["layer"] = c.name;
        row["pass"] = name;
        row["L"] = L, row["batch"] = l.N, row["channels_in"] = c.in, row["channels_out"] = c.out;
        row["kernel"] = c.C, row["padding"] = c.pad, row["generating"] = c.generating;
        row["full"] = json_timing(tf);
        row["ratio"] = r_full;
        row["ratio_of"] = "packed median ms / nova full conv2d median ms";
        row["target"] = fmt::format("<= {} {}", kTimeTarget, met(r_full, kTimeTarget));
        if (have_other) {
          row[other] = json_timing(to);
          row[std::string("ratio_") + other] = r_other;
          row[std::string("target_") + other] = fmt::format("<= {} {}", kTimeTarget, met(r_other, kTimeTarget));
        }
        if (c.generating && pass == 0) row["build_full_input"] = json_timing(build);
        row["activation_bytes_packed"] = l.packed_activation_bytes();
        row["activation_bytes_full"] = l.full_activation_bytes();
        row["activation_ratio"] = act_ratio;
        row["activation_target"] = fmt::format("<= {} {}", kMemoryTarget, met(act_ratio, kMemoryTarget));
        row["peak_bytes_packed"] = peak_packed;
        row["peak_bytes_full"] = peak_full;
        row["peak_ratio"] = double(peak_packed) / double(peak_full);
        rep.doc()["rows"].push_back(row);
      }
    }
  }

  std::printf("\nsweep memory, MiB: activation = output + the input activation the node saves, exact from shapes "
              "(weights not counted); peak = allocator's most bytes beyond the start, input copy through backward\n");
  std::printf("%-40s %9s %9s %6s %-13s %9s %9s %6s\n", "layer", "act pack", "act full", "ratio", "target",
              "peak pack", "peak full", "ratio");
  for (const MemoryLine& m : memory) {
    const double mib = 1024.0 * 1024.0, r = m.act_packed / m.act_full;
    std::printf("%-40s %9.2f %9.2f %6.3f %-13s %9.2f %9.2f %6.3f\n", m.label.c_str(), m.act_packed / mib,
                m.act_full / mib, r, fmt::format("<= {} {}", kMemoryTarget, met(r, kMemoryTarget)).c_str(),
                double(m.peak_packed) / mib, double(m.peak_full) / mib, double(m.peak_packed) / double(m.peak_full));
  }
}

}  // namespace

/// "5,16,32" -> {5, 16, 32}; exits with a message on anything else.
std::vector<int64_t> parse_sides(const char* text) {
  std::vector<int64_t> sides;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    const long long v = std::strtoll(p, &end, 10);
    if (end == p || v < 1 || (*end != ',' && *end != '\0')) {
      std::fprintf(stderr, "bench_symconv: --L wants sides >= 1 separated by commas, got \"%s\"\n", text);
      std::exit(2);
    }
    sides.push_back(v);
    p = *end ? end + 1 : end;
  }
  return sides;
}

int main(int argc, char** argv) {
  int threads = int(std::thread::hardware_concurrency());
  int64_t batch = 512;
  std::string part = "all";
  std::vector<int64_t> sides = {5, 16, 32, 64, 128, 256};
  double budget_ms = 0;  // 0: the device's default
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
    else if (!std::strcmp(argv[i], "--part")) part = value("--part");
    else if (!std::strcmp(argv[i], "--L")) sides = parse_sides(value("--L"));
    else if (!std::strcmp(argv[i], "--budget-ms")) budget_ms = std::atof(value("--budget-ms"));
    else rest.push_back(argv[i]);
  }
  b::Args args = b::parse_args(int(rest.size()), rest.data(), "bench_symconv");
  if (threads < 1 || batch < 1 || budget_ms < 0) {
    std::fprintf(stderr, "bench_symconv: --threads and --batch must be >= 1, --budget-ms >= 0\n");
    return 2;
  }
  if (args.device != "cpu" && args.device != "cuda") {
    std::fprintf(stderr, "bench_symconv: --device must be cpu or cuda, got %s\n", args.device.c_str());
    return 2;
  }
  const bool on_cuda = args.device == "cuda";
  if (part != "all" && part != "scosrec" && part != "sweep") {
    std::fprintf(stderr, "bench_symconv: --part must be all, scosrec or sweep, got %s\n", part.c_str());
    return 2;
  }
  if (on_cuda && part == "scosrec") {
    std::fprintf(stderr, "bench_symconv: the scosrec part runs on the CPU only (--device cpu)\n");
    return 2;
  }
  if (on_cuda && cuda::device_count() == 0) {
    std::fprintf(stderr, "bench_symconv: --device cuda: no CUDA device answered (%s); skipped\n",
                 cuda::built_with_cuda() ? "none found" : "nova was built without CUDA");
    return 77;
  }
  const bool run_scosrec = !on_cuda && part != "sweep", run_sweep_part = on_cuda || part != "scosrec";
  omp_set_num_threads(threads);
  try {
    std::string device = b::cpu_name(), math = fmt::format("float32, {} GEMM, {} OpenMP threads",
                                                           cpu::gemm_backend(), threads);
    if (on_cuda) {
      const std::string gpu = b::run_command("nvidia-smi --query-gpu=name --format=csv,noheader -i 0 2>/dev/null");
      device = gpu.empty() ? "cuda:0" : gpu;
      cuda::set_allow_tf32(false);
      math = "float32 (FMA; cuDNN CUDNN_FMA_MATH, TF32 off)";
    }
    std::vector<std::string> shapes;
    if (run_scosrec) shapes.push_back(fmt::format("batch {}, SCosRec's layers (L 5, ML-1M sizes)", batch));
    if (run_sweep_part) shapes.push_back("sweep: L in --L, batch sweep_batch(L) (256 to 4)");
    b::Report rep("bench_symconv", "symmetric convolutions (packed) vs full-map conv2d; CosRec/SCosRec step",
                  fmt::format("{}", fmt::join(shapes, "; ")), "float32", math, device);
    rep.doc()["threads"] = threads;
    if (on_cuda) rep.note("--device cuda: the SCosRec layer rows and training steps are CPU-only and not run");
    if (run_scosrec) {
      const std::vector<LayerCase> layers = {
          {"generating 1x1 50->128, L 5", true, 50, 128, 1, 5},
          {"preserving 3x3 128->128, 5x5->3x3", false, 128, 128, 3, 5},
          {"preserving 1x1 128->256, 3x3", false, 128, 256, 1, 3},
          {"preserving 3x3 256->256, 3x3->1x1", false, 256, 256, 3, 3},
      };
      for (const LayerCase& c : layers) bench_layer(rep, c, batch, args);
    }
    if (run_sweep_part) {
      SweepOptions o;
      o.device = on_cuda ? Device::cuda(0) : kCPU;
      o.warmup = std::min(args.warmup, 1);  // after one untimed call; report.h's default 5 is long at L 256
      o.iters = args.iters;
      o.budget_ms = budget_ms > 0 ? budget_ms : on_cuda ? 200 : 1000;
      rep.doc()["sweep_budget_ms"] = o.budget_ms;
      run_sweep(rep, sides, threads, o);
    }
    if (run_scosrec) {
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
      std::printf("\nstep, batch %lld, %d threads: nova CosRec %.1f ms, nova SCosRec %.1f ms", (long long)batch,
                  threads, t_cosrec.median_ms, t_scosrec.median_ms);
      if (!torch_cosrec.is_null() && !torch_scosrec.is_null())
        std::printf("; torch %s CosRec %.1f ms, SCosRec %.1f ms (ratios torch/nova %.2f, %.2f)",
                    torch_cosrec.value("torch", std::string("?")).c_str(), torch_cosrec["median_ms"].get<double>(),
                    torch_scosrec["median_ms"].get<double>(), cos_extra["ratio"].get<double>(),
                    scos_extra["ratio"].get<double>());
      std::printf("\n");
    }
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_symconv: %s\n", e.what());
    return 1;
  }
}
