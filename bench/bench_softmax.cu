// bench/bench_softmax.cu: ops::softmax(x, -1) over rows of 4096 on cuda:0,
// x float32 [8192, 4096] (128 MB in, 128 MB out).
//
// Versions: 0 = baseline, torch.softmax on the same shape and device timed by
// bench/softmax_torch.py (run when `python3 -c "import torch"` works; its
// median counts, ratio = nova / torch, target <= 1.1, issue 3);
// 1 = nova's ops::softmax. Validated first against the CPU op (relative L2
// error, bound 1e-5), output poisoned with NaN before. Reported: median/min/
// max ms (L2 flushed between iterations), GB/s (read + write = 2 x 128 MB).
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "bench/common.h"
#include "core/ops.h"

using namespace nova;
namespace b = nova::bench;

int main(int argc, char** argv) {
  b::Args args = b::parse_args(argc, argv, "softmax");
  b::require_device("bench_softmax");
  try {
    const int64_t rows = 8192, cols = 4096;
    const double bytes = 2.0 * double(rows) * double(cols) * sizeof(float);
    const Device gpu = Device::cuda(0);
    b::Report rep("bench_softmax", "softmax(dim=-1)", "[8192, 4096]", "float32",
                  "float32 (no TF32, no fast-math)", b::device_name(0));

    Tensor xc = randn({rows, cols});
    Tensor x = xc.to(gpu);
    Tensor y;
    {
      Tensor poison = full({rows, cols}, NAN, kFloat32, gpu);
      poison = Tensor();
      y = ops::softmax(x, -1);
    }
    Tensor ref = ops::softmax(xc, -1);
    if (!rep.validate("v1 ops::softmax", b::rel_l2_error(y.to_vector<float>(), ref.to_vector<float>()), 1e-5))
      return rep.finish(args.json_path);
    y = Tensor();

    b::Timing t = b::time_cuda([&] { Tensor out = ops::softmax(x, -1); }, args.warmup, args.iters, true);
    nlohmann::json extra = {{"gbps", b::gbps(bytes, t.median_ms)}, {"bytes_moved", bytes}};

    // ---- baseline: PyTorch, where installed ----
    int rc = 0;
    b::run_command("python3 -c \"import torch\" >/dev/null 2>&1", &rc);
    if (rc != 0) {
      rep.note("PyTorch not found: no ratio");
      extra["baseline"] = "none (PyTorch not found)";
    } else {
      std::string cmd = "python3 \"" NOVA_BENCH_SOURCE_DIR "/softmax_torch.py\" " + std::to_string(rows) + " " +
                        std::to_string(cols) + " " + std::to_string(args.iters) + " " +
                        std::to_string(args.warmup);
      std::string out = b::run_command(cmd, &rc);
      std::string line = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
      nlohmann::json torch = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (rc != 0 || torch.is_discarded() || !torch.contains("median_ms")) {
        rep.note("PyTorch found but softmax_torch.py failed (rc " + std::to_string(rc) + "): no ratio; output: " +
                 out);
        extra["baseline"] = "none (softmax_torch.py failed)";
      } else {
        b::Timing tt;
        tt.median_ms = torch["median_ms"].get<double>();
        tt.min_ms = torch["min_ms"].get<double>();
        tt.max_ms = torch["max_ms"].get<double>();
        tt.iters = torch["iters"].get<int>();
        tt.l2_flushed = true;
        rep.row("v0 torch.softmax", tt,
                {{"gbps", b::gbps(bytes, tt.median_ms)}, {"bytes_moved", bytes}, {"ratio", 1.0},
                 {"torch", torch.value("torch", std::string("?"))}});
        double ratio = t.median_ms / tt.median_ms;
        extra["ratio"] = ratio;
        extra["ratio_of"] = "nova median ms / torch median ms";
        extra["target"] = "<= 1.1";
        extra["target_met"] = ratio <= 1.1;
        std::printf("softmax: nova %.4f ms, torch %.4f ms (torch %s), nova/torch %.3f (target <= 1.1: %s)\n",
                    t.median_ms, tt.median_ms, torch.value("torch", std::string("?")).c_str(), ratio,
                    b::verdict(ratio, 1.1, true));
      }
    }
    rep.row("v1 ops::softmax", t, extra);
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_softmax: error: %s\n", e.what());
    return 1;
  }
}
