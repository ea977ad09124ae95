// bench/bench_rnn_step.cpp: one training step of a GRU, an LSTM and an NC-GRU
// on the CPU, float32, nova against PyTorch on the same machine and thread
// count (issue 18). Measured, not held to a target here.
//
// Sizes (the thesis's section 3.1 tasks, as bench_rnn_step_cuda's): batch
// 16, T 100, hidden 50, input 1 (the parenthesis task's scale) and T 400,
// hidden 118 (its longest sequence, NC-GRU's denoise size); batch 128, T 100,
// hidden 100, input 10 (the denoise task's) and T 200, hidden 42; and issue
// 18's large row, batch 64, T 100, hidden 512, input 10 (above the
// whole-sequence kernel's cutoff: the per-step path). One layer, time-major
// input. One step is
//   zero_grad; out = model(x) (all hidden states [T, B, H]);
//   loss = mean(out); backward through time
// with no optimizer update (the same on both sides), exactly as
// bench/rnn_step_torch.py writes it in PyTorch. nova's layer is nn::GRU /
// nn::LSTM, one node per layer (ops::gru_layer / ops::lstm_layer): for H <=
// 256 kernels/cpu/rnn_sequence.h's whole-sequence loop, which forms each
// step's input projection inside the loop; above, the input projections of
// all steps in one matmul, then per step a matmul and the fused gate kernel. NC-GRU
// (U_c orthogonal, eq. 3.53) is nn::NCGRUCell through nn::run_sequence (one
// node, ops::ncgru_recurrence); PyTorch has no NC-GRU, so its side is the
// same equations written as a PyTorch user would (a Python loop over steps,
// rnn_step_torch.py), U_c a plain matrix: the Cayley update is outside the
// step on both sides, as every optimizer update is.
//
// Versions: 0 = baseline, PyTorch (rnn_step_torch.py run with
// /tmp/tv/bin/python3 when it imports torch, else python3; absent: nova
// alone, said so); 1 = nova. Ratio = torch median / nova median (higher is
// better). Validation: per model and size, the flat parameter gradient of
// one step in float32 against the same step in float64 on the same weights
// and input (relative L2 error, bound 1e-4).
//
// Command line: report.h's [--json PATH] [--iters N] [--warmup N], plus
//   --threads N         OpenMP threads for nova and torch.set_num_threads
//                       (default: all hardware threads)
//   --size B,T,H,I      run this size instead of the default list (repeatable)
//   --models gru,lstm,ncgru  which models (default all three)
//   --no-torch          nova alone (e.g. to sweep the hidden size)
//   --profile N         after timing, N more nova steps under the op
//                       profiler (core/profile.h); prints its table
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/report.h"
#include "core/autograd.h"
#include "core/profile.h"
#include "core/ops.h"
#include "kernels/cpu/gemm.h"
#include "nn/orthogonal_rnn.h"
#include "nn/rnn.h"

using namespace nova;
namespace b = nova::bench;

namespace {

struct Size {
  int64_t batch, steps, hidden, input;
};

std::string label(const std::string& model, const Size& s) {
  return fmt::format("{} B{} T{} H{} I{}", model, s.batch, s.steps, s.hidden, s.input);
}

/// A model of the bench and how it runs a sequence x [T, B, I] -> [T, B, H].
struct Net {
  std::unique_ptr<nn::Module> module;
  std::function<Tensor(const Tensor&)> forward;
};

/// gru, lstm (nn::GRU / nn::LSTM) or ncgru (nn::NCGRUCell with U_c
/// orthogonal, run by nn::run_sequence: the loop as one node,
/// ops::ncgru_recurrence). NC-GRU's Cayley update is not part of the step, as
/// no optimizer update is (torch's side trains U_c as a plain matrix).
Net make(const std::string& model, const Size& s) {
  Net n;
  if (model == "ncgru") {
    auto cell = std::make_unique<nn::NCGRUCell>(s.input, s.hidden, nn::NCGRUOptions().negative_ones(s.hidden / 2));
    nn::NCGRUCell* c = cell.get();
    n.forward = [c](const Tensor& x) { return nn::run_sequence(*c, x).outputs; };
    n.module = std::move(cell);
    return n;
  }
  std::unique_ptr<nn::RNNBase> rnn;
  if (model == "gru") rnn = std::make_unique<nn::GRU>(s.input, s.hidden);
  else rnn = std::make_unique<nn::LSTM>(s.input, s.hidden);
  nn::RNNBase* r = rnn.get();
  n.forward = [r](const Tensor& x) { return r->forward(x); };
  n.module = std::move(rnn);
  return n;
}

/// One step: zero_grad, forward, loss = mean of all hidden states, backward.
void step(Net& m, const Tensor& x) {
  m.module->zero_grad();
  ops::mean(m.forward(x)).backward();
}

/// The flat parameter gradient of one step, as doubles (parameters without
/// one, such as NC-GRU's A, skipped).
std::vector<double> flat_grad(Net& m, const Tensor& x) {
  step(m, x);
  std::vector<double> g;
  for (const Tensor& p : m.module->parameters()) {
    if (!p.grad().defined()) continue;
    std::vector<double> v = p.grad().to_vector<double>();
    g.insert(g.end(), v.begin(), v.end());
  }
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = int(std::thread::hardware_concurrency());
  std::vector<Size> sizes;
  std::vector<std::string> models;
  bool with_torch = true;
  int profile_steps = 0;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--size") && i + 1 < argc) {
      Size s{};
      if (std::sscanf(argv[++i], "%ld,%ld,%ld,%ld", &s.batch, &s.steps, &s.hidden, &s.input) != 4) {
        std::fprintf(stderr, "bench_rnn_step: --size wants B,T,H,I, got %s\n", argv[i]);
        return 2;
      }
      sizes.push_back(s);
    } else if (!std::strcmp(argv[i], "--models") && i + 1 < argc) {
      std::stringstream list(argv[++i]);
      for (std::string m; std::getline(list, m, ',');) {
        if (m != "gru" && m != "lstm" && m != "ncgru") {
          std::fprintf(stderr, "bench_rnn_step: --models takes gru, lstm, ncgru; got %s\n", m.c_str());
          return 2;
        }
        models.push_back(m);
      }
    } else if (!std::strcmp(argv[i], "--profile") && i + 1 < argc) {
      profile_steps = std::max(0, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--no-torch")) {
      with_torch = false;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (sizes.empty())
    sizes = {{16, 100, 50, 1}, {16, 400, 118, 1}, {128, 100, 100, 10}, {128, 200, 42, 10}, {64, 100, 512, 10}};
  if (models.empty()) models = {"gru", "lstm", "ncgru"};
  b::Args args = b::parse_args(int(rest.size()), rest.data(), "rnn_step");
  omp_set_num_threads(threads);

  try {
    b::Report rep("bench_rnn_step", "GRU / LSTM / NC-GRU training step (forward, loss = mean(out), backward through time)",
                  "1 layer; B16 T100 H50 I1, B16 T400 H118 I1, B128 T100 H100 I10, B128 T200 H42 I10, B64 T100 H512 I10", "float32",
                  "float32, " + std::string(cpu::gemm_backend()) + " GEMM, " + std::to_string(threads) +
                      " OpenMP threads",
                  b::cpu_name());
    rep.doc()["threads"] = threads;
    for (const std::string& model : models) {
      for (const Size& s : sizes) {
        const std::string name = label(model, s);
        Net m = make(model, s);
        Tensor x = randn({s.steps, s.batch, s.input});

        // ---- validate: the float32 gradient against float64 on the same weights ----
        {
          Net m64 = make(model, s);
          m64.module->to(kFloat64);
          StateDict weights;
          for (const auto& [key, p] : m.module->state_dict()) weights.insert(key, p.to(kFloat64));
          m64.module->load_state_dict(weights);
          const std::vector<double> got = flat_grad(m, x), ref = flat_grad(m64, x.to(kFloat64));
          if (!rep.validate("v1 nova " + name, b::rel_l2_error(got, ref), 1e-4)) continue;
        }

        // ---- v1 nova ----
        const b::Timing t = b::time_cpu([&] { step(m, x); }, args.warmup, args.iters);
        if (profile_steps > 0) {
          profile::Profiler prof;
          for (int i = 0; i < profile_steps; ++i) step(m, x);
          prof.stop();
          std::printf("profile of %d steps, nova %s:\n%s\n", profile_steps, name.c_str(), prof.table().c_str());
        }

        // ---- v0 PyTorch ----
        std::vector<std::string> notes;
        const nlohmann::json torch = !with_torch ? nlohmann::json() : b::run_torch_baseline(
            NOVA_BENCH_SOURCE_DIR "/rnn_step_torch.py",
            fmt::format("--model {} --batch {} --steps {} --hidden {} --input {} --threads {} --iters {} --warmup {}",
                        model, s.batch, s.steps, s.hidden, s.input, threads, args.iters, args.warmup),
            notes);
        for (const std::string& n : notes) rep.note(n);
        nlohmann::json extra = {{"model", model}, {"batch", s.batch}, {"steps", s.steps},
                                {"hidden", s.hidden}, {"input", s.input}};
        if (!torch.is_null()) {
          const b::Timing tt = b::torch_timing(torch);
          rep.row("v0 torch " + name, tt, {{"ratio", 1.0}, {"torch", torch.value("torch", std::string("?"))},
                                           {"threads", torch.value("threads", 0)}});
          if (torch.value("threads", 0) != threads)
            rep.note("WARNING: torch ran with " + std::to_string(torch.value("threads", 0)) +
                     " threads, nova with " + std::to_string(threads));
          extra["ratio"] = tt.median_ms / t.median_ms;
          extra["ratio_of"] = "torch median ms / nova median ms";
          extra["ratio_of_mins"] = tt.min_ms / t.min_ms;
        }
        rep.row("v1 nova " + name, t, extra);
      }
    }
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_rnn_step: %s\n", e.what());
    return 1;
  }
}
