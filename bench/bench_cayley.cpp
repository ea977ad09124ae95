// bench/bench_cayley.cpp: the time of one Cayley update (Algorithm 4,
// optim/cayley.h) of an n x n orthogonal weight, Neumann orders 1, 2, 3
// against the exact inverse (thesis Figure 3.5, issue 18), for n = 64 ..
// 1024, on the CPU (default) or cuda:0, float32 (the models' dtype) or
// float64.
//
// One update = CayleyOptimizer::step() with a fixed random U.grad: grad_A
// (two n x n matmuls), the inner Adam step on A, the carried inverse (order
// p: p + 1 matmuls; exact: one LU inverse, Eigen or cuSOLVER) and U =
// inverse (I - A) D (one matmul). The reset clock is off (reset_every 0) so
// every timed step takes the path of its row. Ratio = the exact row's
// median / this row's: how many times faster than inverting, Figure 3.5's
// comparison. The thesis measured on its authors' GPU with TensorFlow's
// least-squares inverse; these are nova's kernels, one device, one run.
//
// Validation before timing, per n and order: U after one step from the same
// state against the exact update's U, relative L2 error <= 10 x^{p+1} with
// x = sqrt(n) * lr, the size of X = (I + A)^-1 dA after Adam's first step
// (every entry of dA about lr), and never below the dtype's rounding (1e-5
// float32, 1e-12 float64). A wrong series (a sign, a missing term) is off
// by O(x), which stays above the bound at every n and order.
//
// Command line: report.h's [--json PATH] [--iters N] [--warmup N], plus
//   --device cpu|cuda   (default cpu; cuda without a device: exit 77)
//   --dtype float32|float64  (default float32)
//   --sizes 64,128,...  (default 64,128,256,512,1024)
//   --threads N         OpenMP/BLAS threads on the CPU (default 1)
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/report.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/cuda/runtime.h"
#include "optim/cayley.h"
#include "optim/optimizer.h"

using namespace nova;
namespace b = nova::bench;

namespace {

constexpr double kLr = 1e-3;  // Adam's lr for A, the thesis's

struct Options {
  Device device = kCPU;  // from report.h's --device
  DType dtype = kFloat32;
  std::vector<int64_t> sizes{64, 128, 256, 512, 1024};
  int threads = 1;
};

/// Reads this bench's own flags and removes them from argv for parse_args.
Options own_options(int& argc, char** argv) {
  Options o;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_cayley: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dtype") {
      const std::string v = value();
      if (v != "float32" && v != "float64") {
        std::fprintf(stderr, "bench_cayley: --dtype must be float32 or float64, got %s\n", v.c_str());
        std::exit(2);
      }
      o.dtype = v == "float32" ? kFloat32 : kFloat64;
    } else if (a == "--sizes") {
      o.sizes.clear();
      std::stringstream ss(value());
      for (std::string item; std::getline(ss, item, ',');) {
        const long n = std::atol(item.c_str());
        if (n < 2) {
          std::fprintf(stderr, "bench_cayley: --sizes needs integers >= 2, got '%s'\n", item.c_str());
          std::exit(2);
        }
        o.sizes.push_back(n);
      }
    } else if (a == "--threads") {
      o.threads = std::atoi(value().c_str());
      if (o.threads < 1) {
        std::fprintf(stderr, "bench_cayley: --threads must be >= 1\n");
        std::exit(2);
      }
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return o;
}

/// One weight at size n from a fixed seed, its optimizer (Adam lr 1e-3, the
/// thesis's) at `order`, and a fixed random U.grad.
struct Setup {
  optim::OrthogonalWeight w;
  std::unique_ptr<optim::CayleyOptimizer> cayley;
  Tensor grad;

  Setup(int64_t n, int order, const Options& o) {
    Generator gen{uint64_t(n)};
    w = optim::OrthogonalWeight::make(n, n / 4, o.dtype, o.device, &gen);
    grad = uniform({n, n}, -1.0, 1.0, o.dtype, o.device, &gen);
    cayley = std::make_unique<optim::CayleyOptimizer>(
        std::vector<optim::OrthogonalWeight>{w},
        std::make_unique<optim::Adam>(std::vector<Tensor>{w.A}, optim::AdamOptions{kLr}),
        optim::CayleyOptions{order, 0});
  }
  void step() {
    w.U.set_grad(grad);
    cayley->step();
  }
};

void synchronize(const Options& o) {
  if (o.device.is_cuda()) cuda::synchronize(0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = own_options(argc, argv);
  const b::Args args = b::parse_args(argc, argv, "cayley");
  if (args.device != "cpu" && args.device != "cuda") {
    std::fprintf(stderr, "bench_cayley: --device must be cpu or cuda, got %s\n", args.device.c_str());
    return 2;
  }
  o.device = args.device == "cuda" ? Device::cuda(0) : kCPU;
  try {
    if (o.device.is_cuda() && cuda::device_count() == 0) {
      std::fprintf(stderr, "bench_cayley: no CUDA device\n");
      return 77;
    }
    omp_set_num_threads(o.threads);
    std::string device = b::cpu_name() + ", " + std::to_string(o.threads) + " thread(s)";
    if (o.device.is_cuda()) {
      const std::string gpu = b::run_command("nvidia-smi --query-gpu=name --format=csv,noheader -i 0 2>/dev/null");
      device = gpu.empty() ? "cuda:0" : gpu;
    }
    b::Report report("cayley", "CayleyOptimizer::step (Algorithm 4)", "n x n, n in --sizes", dtype_name(o.dtype),
                     "neumann 1-3 vs exact LU inverse", device);
    const char* names[] = {"exact", "neumann1", "neumann2", "neumann3"};
    for (int64_t n : o.sizes) {
      // Validation: one step of each order against the exact one.
      Setup exact(n, 0, o);
      exact.step();
      for (int order = 1; order <= 3; ++order) {
        Setup s(n, order, o);
        s.step();
        const double x = std::sqrt(double(n)) * kLr;
        const double bound = std::max(o.dtype == kFloat32 ? 1e-5 : 1e-12, 10 * std::pow(x, order + 1));
        report.validate("n=" + std::to_string(n) + " " + names[order],
                        b::rel_l2_error(s.w.U.to(kCPU).to_vector<double>(), exact.w.U.to(kCPU).to_vector<double>()),
                        bound);
      }
      // Fewer timed steps for the large sizes (n^3 work each).
      const int iters = n >= 512 ? std::max(3, args.iters / 10) : args.iters;
      double exact_ms = 0;
      for (int order = 0; order <= 3; ++order) {
        Setup s(n, order, o);
        const b::Timing t = b::time_cpu(
            [&] {
              s.step();
              synchronize(o);
            },
            args.warmup, iters);
        if (order == 0) exact_ms = t.median_ms;
        nlohmann::json extra{{"n", n}, {"order", order}};
        if (order > 0) extra["ratio"] = exact_ms / t.median_ms;
        report.row("n=" + std::to_string(n) + " " + names[order], t, extra);
      }
    }
    report.note("ratio: the exact-inverse update's median time / this row's (higher: the series is faster)");
    return report.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cayley: %s\n", e.what());
    return 1;
  }
}
