// bench/bench_elementwise.cu: memory bandwidth of nova's elementwise and
// reduction kernels on cuda:0.
//
// Versions: 0 = baseline, a device-to-device cudaMemcpyAsync of 256 MB
// (bytes moved = read + write = 2 x 256 MB); 1 = ops::add of two float32
// tensors of 64M elements (256 MB each; bytes moved 3 x 256 MB); 2 = ops::sum
// over one 256 MB float32 tensor (bytes moved 256 MB).
// Each op is validated first (add: every element against the CPU sum; sum:
// against a double-precision CPU sum), its output poisoned with NaN first.
// Reported: median/min/max ms (L2 flushed between iterations), GB/s, and
// GB/s as a fraction of the copy's GB/s in the same run.
// Targets: add >= 0.85, sum >= 0.80 (issue 3).
#include <cmath>
#include <cstdio>
#include <exception>

#include "bench/common.h"
#include "core/ops.h"

using namespace nova;
namespace b = nova::bench;

int main(int argc, char** argv) {
  b::Args args = b::parse_args(argc, argv, "elementwise");
  b::require_device("bench_elementwise");
  try {
    const int64_t n = int64_t(64) << 20;  // 64M float32 = 256 MB
    const size_t bytes = size_t(n) * sizeof(float);
    const Device gpu = Device::cuda(0);
    b::Report rep("bench_elementwise", "add, sum", "[67108864] (256 MB)", "float32",
                  "float32 (no TF32, no fast-math)", b::device_name(0));

    // ---- baseline: D2D copy ----
    b::Timing copy = b::time_d2d_copy(bytes, args.warmup, args.iters);
    double copy_gbps = b::gbps(2.0 * bytes, copy.median_ms);
    rep.row("v0 d2d memcpy 256MB", copy, {{"gbps", copy_gbps}, {"bytes_moved", 2.0 * bytes}, {"ratio", 1.0}});

    Tensor a = rand({n}, kFloat32, gpu);
    Tensor bt = rand({n}, kFloat32, gpu);

    // ---- add: validate every element, then time ----
    {
      Tensor c;
      {
        Tensor poison = full({n}, NAN, kFloat32, gpu);  // the allocator hands this block to c
        poison = Tensor();
        c = ops::add(a, bt);
      }
      std::vector<float> av = a.to_vector<float>(), bv = bt.to_vector<float>(), cv = c.to_vector<float>();
      std::vector<float> ref(av.size());
      for (size_t i = 0; i < av.size(); ++i) ref[i] = av[i] + bv[i];
      if (rep.validate("v1 ops::add", b::rel_l2_error(cv, ref), 1e-6)) {
        b::Timing t = b::time_cuda([&] { Tensor out = ops::add(a, bt); }, args.warmup, args.iters, true);
        double g = b::gbps(3.0 * bytes, t.median_ms);
        double ratio = g / copy_gbps;
        rep.row("v1 ops::add", t,
                {{"gbps", g}, {"bytes_moved", 3.0 * bytes}, {"ratio", ratio}, {"target", ">= 0.85"},
                 {"target_met", ratio >= 0.85}});
        std::printf("add: %.1f GB/s, %.3f of copy (target >= 0.85: %s)\n", g, ratio, b::verdict(ratio, 0.85));
      }
    }

    // ---- sum: validate against a double CPU sum, then time ----
    {
      Tensor s;
      {
        Tensor poison = full({1}, NAN, kFloat32, gpu);
        poison = Tensor();
        s = ops::sum(a);
      }
      std::vector<float> av = a.to_vector<float>();
      double ref = 0;
      for (float v : av) ref += v;
      std::vector<double> got{s.item()}, want{ref};
      // uniform [0, 1) values: no cancellation, so float32 tree sums stay well inside 1e-5
      if (rep.validate("v2 ops::sum", b::rel_l2_error(got, want), 1e-5)) {
        b::Timing t = b::time_cuda([&] { Tensor out = ops::sum(a); }, args.warmup, args.iters, true);
        double g = b::gbps(double(bytes), t.median_ms);
        double ratio = g / copy_gbps;
        rep.row("v2 ops::sum", t,
                {{"gbps", g}, {"bytes_moved", double(bytes)}, {"ratio", ratio}, {"target", ">= 0.80"},
                 {"target_met", ratio >= 0.80}});
        std::printf("sum: %.1f GB/s, %.3f of copy (target >= 0.80: %s)\n", g, ratio, b::verdict(ratio, 0.80));
      }
    }
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_elementwise: error: %s\n", e.what());
    return 1;
  }
}
