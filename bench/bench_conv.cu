// bench/bench_conv.cu: 2-D convolution on cuda:0 at every distinct conv
// shape of SN-GAN's 32x32 G and D (models/sngan.h, paper widths: G 256, D
// 128, 3 image channels), batch 64 and 128, the three passes:
//   fwd  y  = conv2d(x, w)                      ops::conv2d
//   bd   gx = conv_transpose2d(gy, w)           (conv2d's backward-data)
//   bf   gw = conv2d_backward_filter(x, gy)     (conv2d's backward-filter)
// x [N, C, H, W], w [K, C, R, S], y and gy [N, K, P, Q]; every SN-GAN conv
// has stride 1 and padding R/2, so P, Q = H, W. G's upsampling is nearest 2x
// followed by a plain conv, so its convs are listed at the upsampled size.
// The shapes (C, K, H, W, R x S, stride, pad), from the architecture:
//   G  block1-3 conv1/conv2   256 -> 256, 3x3, at 8, 16, 32
//      block1-3 shortcut      256 -> 256, 1x1, at 8, 16, 32
//      conv_out               256 -> 3,   3x3, at 32
//   D  optimized conv1        3 -> 128,   3x3, at 32
//      optimized conv2        128 -> 128, 3x3, at 32
//      optimized shortcut     3 -> 128,   1x1, at 16 (pooled first)
//      block2 conv1/conv2     128 -> 128, 3x3, at 16
//      block2 shortcut        128 -> 128, 1x1, at 16
//      block3-4 conv1/conv2   128 -> 128, 3x3, at 8
// And the convs of DCGAN's D (models/dcgan.h, width 64, 32x32) that SN-GAN
// lacks, the other shapes of issue 17's target: the three 4x4 stride-2 pad-1
// downsamplers (64 -> 128 at 32, 128 -> 256 at 16, 256 -> 512 at 8; P, Q =
// H/2, W/2) and the last 3x3 512 -> 512 at 4x4.
// GFLOP/s count 2*N*K*(C/groups)*R*S*P*Q per pass (the same for all three).
//
// Versions: 0 = cuDNN through nova's own path (Conv2dArgs().backend(
// ConvBackend::cudnn), kernels/cuda/conv_cudnn.cu), pinned to CUDNN_FMA_MATH
// by nova while TF32 is not allowed; 2 = nova's tiled implicit-GEMM kernels
// (ConvBackend::native, kernels/cuda/conv_igemm.cu; v1 was the direct
// one-thread-per-output kernels of kernels/cuda/conv.cu, now only the
// reference path, NOVA_CONV_V1=1, and not timed here). Each in float32 (FMA)
// and in TF32 (set_allow_tf32(true): cuDNN then picks CUDNN_DEFAULT_MATH,
// nova runs its mma.sync tensor-core kernel); TF32 rows are compared with
// TF32 only. Target (issue 17): v2 forward >= 0.8x v0's throughput in
// float32 (ratio = v0 median / v2 median); the TF32 ratio is reported too.
//
// Validation, before any timing, each output poisoned with NaN first: the
// float64 reference is nova's CPU path on the first kValidateImages images
// (fwd and bd outputs are per image: the full-batch GPU output's first
// images are compared; bf sums over the batch: it is validated on a gy that
// is zero past those images, x random everywhere, so a kernel that pairs the
// wrong images still fails). Bounds, relative L2: float32 1e-4 (as
// tests/test_conv_cuda.cpp), TF32 5e-3 (inputs rounded to 10 mantissa bits,
// ~5e-4 each). Then v2's bf on the full random gy is checked against v0's.
// Timing: CUDA events, L2 flushed between iterations (bench/common.h); the
// baseline is timed twice (before and after v2), its gap is the noise floor.
// Each row's iterations are capped by a time budget (kRowBudgetMs, at least
// 3) to keep the whole run inside tools/gpu-check.sh's 180 s.
//
// Command line: common.h's [--json PATH] [--iters N] [--warmup N], plus
// --batch N to run one batch size only (default: 64 and 128), and --layout
// 48 for the shapes of SN-GAN's 48x48 (STL-10) G and D instead (kShapes48,
// 23 shapes; JSON bench-conv_48.json), a run of its own so that each stays
// inside gpu-check's limit.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "bench/common.h"
#include "core/conv.h"
#include "core/matmul.h"
#include "core/ops.h"

using namespace nova;
namespace b = nova::bench;

namespace {

constexpr int64_t kValidateImages = 2;
constexpr double kRowBudgetMs = 200;  // per timed row, warm-up included (5 timings a row, 17 or 23 shapes)
constexpr double kBoundFloat32 = 1e-4, kBoundTf32 = 5e-3;

struct ConvShape {
  const char* where;  // which layers of G / D run it
  int64_t C, K, H, W, R, stride, pad;
};

// models/sngan.h, 32x32 layout, paper widths (see the top of this file)
const std::vector<ConvShape> kShapes32 = {
    {"G block1 conv1/conv2", 256, 256, 8, 8, 3, 1, 1},
    {"G block2 conv1/conv2", 256, 256, 16, 16, 3, 1, 1},
    {"G block3 conv1/conv2", 256, 256, 32, 32, 3, 1, 1},
    {"G block1 shortcut", 256, 256, 8, 8, 1, 1, 0},
    {"G block2 shortcut", 256, 256, 16, 16, 1, 1, 0},
    {"G block3 shortcut", 256, 256, 32, 32, 1, 1, 0},
    {"G conv_out", 256, 3, 32, 32, 3, 1, 1},
    {"D block1 (optimized) conv1", 3, 128, 32, 32, 3, 1, 1},
    {"D block1 (optimized) conv2", 128, 128, 32, 32, 3, 1, 1},
    {"D block1 (optimized) shortcut", 3, 128, 16, 16, 1, 1, 0},
    {"D block2 conv1/conv2", 128, 128, 16, 16, 3, 1, 1},
    {"D block2 shortcut", 128, 128, 16, 16, 1, 1, 0},
    {"D block3/block4 conv1/conv2", 128, 128, 8, 8, 3, 1, 1},
    {"DCGAN D conv 4x4/2 (2nd)", 64, 128, 32, 32, 4, 2, 1},
    {"DCGAN D conv 4x4/2 (4th)", 128, 256, 16, 16, 4, 2, 1},
    {"DCGAN D conv 4x4/2 (6th)", 256, 512, 8, 8, 4, 2, 1},
    {"DCGAN D conv 3x3 (7th)", 512, 512, 4, 4, 3, 1, 1},
};

// models/sngan.h, 48x48 (STL-10) layout, paper widths: G dense 6x6x512 then
// up-blocks 512 -> 256 -> 128 -> 64 (convs at the upsampled 12, 24, 48); D
// blocks 3 -> 64 -> 128 -> 256 -> 512 (down, at 48, 24, 12, 6) and 512 ->
// 1024 (at 3); a D block's conv1 maps in -> out, its 1x1 shortcut runs
// before the pooling (the optimized block's after it)
const std::vector<ConvShape> kShapes48 = {
    {"G48 block1 conv1", 512, 256, 12, 12, 3, 1, 1},
    {"G48 block1 conv2", 256, 256, 12, 12, 3, 1, 1},
    {"G48 block1 shortcut", 512, 256, 12, 12, 1, 1, 0},
    {"G48 block2 conv1", 256, 128, 24, 24, 3, 1, 1},
    {"G48 block2 conv2 / D48 block2 conv2", 128, 128, 24, 24, 3, 1, 1},
    {"G48 block2 shortcut", 256, 128, 24, 24, 1, 1, 0},
    {"G48 block3 conv1", 128, 64, 48, 48, 3, 1, 1},
    {"G48 block3 conv2 / D48 block1 conv2", 64, 64, 48, 48, 3, 1, 1},
    {"G48 block3 shortcut", 128, 64, 48, 48, 1, 1, 0},
    {"G48 conv_out", 64, 3, 48, 48, 3, 1, 1},
    {"D48 block1 (optimized) conv1", 3, 64, 48, 48, 3, 1, 1},
    {"D48 block1 (optimized) shortcut", 3, 64, 24, 24, 1, 1, 0},
    {"D48 block2 conv1", 64, 128, 24, 24, 3, 1, 1},
    {"D48 block2 shortcut", 64, 128, 24, 24, 1, 1, 0},
    {"D48 block3 conv1", 128, 256, 12, 12, 3, 1, 1},
    {"D48 block3 conv2", 256, 256, 12, 12, 3, 1, 1},
    {"D48 block3 shortcut", 128, 256, 12, 12, 1, 1, 0},
    {"D48 block4 conv1", 256, 512, 6, 6, 3, 1, 1},
    {"D48 block4 conv2", 512, 512, 6, 6, 3, 1, 1},
    {"D48 block4 shortcut", 256, 512, 6, 6, 1, 1, 0},
    {"D48 block5 conv1", 512, 1024, 3, 3, 3, 1, 1},
    {"D48 block5 conv2", 1024, 1024, 3, 3, 3, 1, 1},
    {"D48 block5 shortcut", 512, 1024, 3, 3, 1, 1, 0},
};

enum class Pass { fwd, bd, bf };
const char* pass_name(Pass p) { return p == Pass::fwd ? "fwd" : p == Pass::bd ? "bd" : "bf"; }

/// One (shape, batch): its operands on the GPU and on the CPU (float32; the
/// reference converts its slice to float64).
struct Problem {
  ConvShape s;
  int64_t N, P, Q;
  Tensor x_cpu, w_cpu, gy_cpu;  // float32, full batch
  Tensor x, w, gy;              // the same on cuda:0

  double flops() const { return 2.0 * double(N) * double(s.K) * double(s.C) * double(s.R * s.R) * double(P * Q); }
  Shape weight_shape() const { return {s.K, s.C, s.R, s.R}; }
};

Conv2dArgs conv_args(const ConvShape& s, ConvBackend backend) {
  return Conv2dArgs().stride(s.stride).padding(s.pad).backend(backend);
}

/// One pass on the GPU operands (gy given: bf's validation passes a zeroed one).
Tensor run_pass(const Problem& pr, Pass pass, ConvBackend backend, const Tensor& gy) {
  switch (pass) {
    case Pass::fwd: return ops::conv2d(pr.x, pr.w, conv_args(pr.s, backend));
    case Pass::bd:
      return ops::conv_transpose2d(
          gy, pr.w, ConvTranspose2dArgs().stride(pr.s.stride).padding(pr.s.pad).backend(backend));
    case Pass::bf: return ops::conv2d_backward_filter(pr.x, gy, pr.weight_shape(), conv_args(pr.s, backend));
  }
  return Tensor();
}

/// The float64 CPU reference of a pass on the first kValidateImages images
/// (bf: with gy zero past them, so the full-batch sum is this one).
std::vector<double> reference(const Problem& pr, Pass pass) {
  const int64_t v = std::min(kValidateImages, pr.N);
  Tensor x = pr.x_cpu.narrow(0, 0, v).to(kFloat64), w = pr.w_cpu.to(kFloat64);
  Tensor gy = pr.gy_cpu.narrow(0, 0, v).to(kFloat64);
  return run_pass(Problem{pr.s, v, pr.P, pr.Q, {}, {}, {}, x, w, gy}, pass, ConvBackend::native, gy)
      .contiguous()
      .to_vector<double>();
}

/// The GPU output of a pass poisoned with NaN before, restricted to what the
/// reference covers.
std::vector<float> validated_output(const Problem& pr, Pass pass, ConvBackend backend, const Tensor& gy_zeroed) {
  Shape out_shape = pass == Pass::fwd  ? Shape{pr.N, pr.s.K, pr.P, pr.Q}
                    : pass == Pass::bd ? Shape{pr.N, pr.s.C, pr.s.H, pr.s.W}
                                       : pr.weight_shape();
  Tensor out;
  {
    // the caching allocator hands this block to the pass's output next
    Tensor poison = full(out_shape, NAN, kFloat32, pr.x.device());
    poison = Tensor();
    out = run_pass(pr, pass, backend, pass == Pass::bf ? gy_zeroed : pr.gy);
  }
  if (pass != Pass::bf) out = out.narrow(0, 0, std::min(kValidateImages, pr.N));
  return out.contiguous().to_vector<float>();
}

/// Time one pass: one timed call (warm already: validation ran this shape,
/// so cuDNN's plan and the allocator's blocks exist) sizes the row's
/// iteration count against kRowBudgetMs, then common.h's timing; a slow row
/// gets no further warm-up and 3 iterations.
b::Timing time_pass(const Problem& pr, Pass pass, ConvBackend backend, const b::Args& args) {
  auto fn = [&] { Tensor out = run_pass(pr, pass, backend, pr.gy); };
  b::Timing probe = b::time_cuda(fn, 0, 1, /*flush_l2=*/true);
  const double per = std::max(probe.median_ms, 1e-3);
  const int budget_iters = int(kRowBudgetMs / per);
  const int warmup = std::min(args.warmup, budget_iters / 5);
  const int iters = std::max(3, std::min(args.iters, budget_iters - warmup));
  return b::time_cuda(fn, warmup, iters, /*flush_l2=*/true);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> batches = {64, 128};
  std::vector<char*> rest = {argv[0]};
  int layout = 32;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--layout") && i + 1 < argc) {
      layout = std::atoi(argv[++i]);
      if (layout != 32 && layout != 48) {
        std::fprintf(stderr, "bench_conv: --layout must be 32 (SN-GAN's CIFAR G and D, DCGAN D) or 48 (SN-GAN's "
                             "STL-10 G and D)\n");
        return 2;
      }
    } else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) {
      batches = {std::atoll(argv[++i])};
      if (batches[0] < 1) {
        std::fprintf(stderr, "bench_conv: --batch must be >= 1\n");
        return 2;
      }
    } else {
      rest.push_back(argv[i]);
    }
  }
  b::Args args = b::parse_args(int(rest.size()), rest.data(), layout == 48 ? "conv_48" : "conv");
  const std::vector<ConvShape>& kShapes = layout == 48 ? kShapes48 : kShapes32;
  b::require_device("bench_conv");
  try {
    const Device gpu = Device::cuda(0);
    b::Report rep("bench_conv", "conv2d fwd / backward-data / backward-filter",
                  fmt::format("{} ({} shapes), NCHW, batch {}",
                              layout == 48 ? "SN-GAN 48x48 (STL-10) G and D convs"
                                           : "SN-GAN 32x32 G and D convs and DCGAN D's 4x4/2 and 512-channel convs",
                              kShapes.size(),
                              batches.size() == 1 ? std::to_string(batches[0]) : std::string("64 and 128")),
                  "float32",
                  "v0 cuDNN CUDNN_FMA_MATH and v2 nova tiled implicit GEMM (FMA, no TF32); v0-tf32 cuDNN "
                  "CUDNN_DEFAULT_MATH and v2-tf32 nova mma.sync TF32, with TF32 allowed, compared with TF32 only",
                  b::device_name(0));
    rep.note("v2 = nova's tiled implicit-GEMM kernels (kernels/cuda/conv_igemm.cu); the direct v1 kernels are not timed.");
    set_allow_tf32(false);

    // cuDNN is optional at build time (core/conv_cudnn_missing.cpp throws): without it, v2 alone
    bool have_cudnn = true;
    try {
      Tensor probe = ops::conv2d(zeros({1, 1, 3, 3}, kFloat32, gpu), zeros({1, 1, 3, 3}, kFloat32, gpu),
                                 Conv2dArgs().backend(ConvBackend::cudnn));
    } catch (const std::exception& e) {
      have_cudnn = false;
      rep.note(std::string("cuDNN path unavailable (") + e.what() + "): v2 rows only, no ratio");
    }

    std::printf("\nshapes (C -> K, H x W, R x S, stride, pad):\n");
    for (size_t i = 0; i < kShapes.size(); ++i) {
      const ConvShape& s = kShapes[i];
      std::printf("  s%02zu %-30s %3lld -> %3lld, %2lld x %2lld, %lldx%lld, stride %lld, pad %lld\n", i, s.where,
                  (long long)s.C, (long long)s.K, (long long)s.H, (long long)s.W, (long long)s.R, (long long)s.R,
                  (long long)s.stride, (long long)s.pad);
    }
    std::printf("\n");

    struct Summary {
      std::string row;
      double gflops_v0 = 0, gflops_v2 = 0, gflops_v0_tf32 = 0, gflops_v2_tf32 = 0, ratio = 0, ratio_tf32 = 0;
    };
    std::vector<Summary> summary;
    int forward_rows = 0, forward_met = 0, forward_met_tf32 = 0;

    Generator gen(17);
    for (int64_t N : batches) {
      for (size_t si = 0; si < kShapes.size(); ++si) {
        const ConvShape& s = kShapes[si];
        Problem pr{};
        pr.s = s;
        pr.N = N;
        pr.P = ops::conv2d_output_size(s.H, s.R, s.stride, s.pad, 1);
        pr.Q = ops::conv2d_output_size(s.W, s.R, s.stride, s.pad, 1);
        pr.x_cpu = randn({N, s.C, s.H, s.W}, kFloat32, kCPU, &gen);
        pr.w_cpu = randn({s.K, s.C, s.R, s.R}, kFloat32, kCPU, &gen) * (1.0 / std::sqrt(double(s.C * s.R * s.R)));
        pr.gy_cpu = randn({N, s.K, pr.P, pr.Q}, kFloat32, kCPU, &gen);
        pr.x = pr.x_cpu.to(gpu);
        pr.w = pr.w_cpu.to(gpu);
        pr.gy = pr.gy_cpu.to(gpu);
        const int64_t v = std::min(kValidateImages, N);
        Tensor gy_zeroed =
            ops::cat({pr.gy_cpu.narrow(0, 0, v), zeros({N - v, s.K, pr.P, pr.Q})}, 0).to(gpu);

        for (Pass pass : {Pass::fwd, Pass::bd, Pass::bf}) {
          const std::string tag = fmt::format("s{:02d} N{} {}", si, N, pass_name(pass));
          const std::vector<double> ref = reference(pr, pass);
          const double gflop = pr.flops() / 1e9;
          auto gflops = [&](const b::Timing& t) { return gflop / (t.median_ms / 1e3); };
          nlohmann::json common = {{"shape_index", si}, {"layers", s.where}, {"N", N}, {"C", s.C}, {"K", s.K},
                                   {"H", s.H}, {"W", s.W}, {"R", s.R}, {"S", s.R}, {"stride", s.stride},
                                   {"pad", s.pad}, {"pass", pass_name(pass)}, {"gflop", gflop}};

          // ---- validate every version before timing any ----
          bool ok = rep.validate(tag + " v2", b::rel_l2_error(validated_output(pr, pass, ConvBackend::native,
                                                                               gy_zeroed), ref),
                                 kBoundFloat32);
          set_allow_tf32(true);
          ok = rep.validate(tag + " v2-tf32",
                            b::rel_l2_error(validated_output(pr, pass, ConvBackend::native, gy_zeroed), ref),
                            kBoundTf32) && ok;
          set_allow_tf32(false);
          if (have_cudnn) {
            ok = rep.validate(tag + " v0", b::rel_l2_error(validated_output(pr, pass, ConvBackend::cudnn, gy_zeroed),
                                                           ref),
                              kBoundFloat32) && ok;
            set_allow_tf32(true);
            ok = rep.validate(tag + " v0-tf32",
                              b::rel_l2_error(validated_output(pr, pass, ConvBackend::cudnn, gy_zeroed), ref),
                              kBoundTf32) && ok;
            set_allow_tf32(false);
            if (pass == Pass::bf) {  // the full batch, both float32 versions
              ok = rep.validate(tag + " v2 vs v0 full",
                                b::rel_l2_error(run_pass(pr, pass, ConvBackend::native, pr.gy).to_vector<float>(),
                                                run_pass(pr, pass, ConvBackend::cudnn, pr.gy).to_vector<float>()),
                                kBoundFloat32) && ok;
            }
          }
          if (!ok) continue;

          // ---- time: v0, v2, v0 again (noise), then TF32: v0, v2 ----
          Summary sum{tag};
          b::Timing t2;
          auto timed_tf32 = [&](ConvBackend backend) {
            set_allow_tf32(true);
            b::Timing t = time_pass(pr, pass, backend, args);
            set_allow_tf32(false);
            return t;
          };
          if (have_cudnn) {
            b::Timing t0 = time_pass(pr, pass, ConvBackend::cudnn, args);
            t2 = time_pass(pr, pass, ConvBackend::native, args);
            b::Timing t0b = time_pass(pr, pass, ConvBackend::cudnn, args);
            b::Timing tt0 = timed_tf32(ConvBackend::cudnn);
            b::Timing tt2 = timed_tf32(ConvBackend::native);
            nlohmann::json e0 = common;
            e0.update({{"version", 0}, {"math", "CUDNN_FMA_MATH"}, {"gflops", gflops(t0)}, {"ratio", 1.0},
                       {"median_ms_again", t0b.median_ms}, {"gflops_again", gflops(t0b)}});
            rep.row(tag + " v0 cudnn", t0, e0);
            const double ratio = t0.median_ms / t2.median_ms;
            nlohmann::json e2 = common;
            e2.update({{"version", 2}, {"math", "FMA (no TF32)"}, {"gflops", gflops(t2)}, {"ratio", ratio},
                       {"ratio_of", "v0 median ms / v2 median ms (throughput of v2 over cuDNN's)"}});
            if (pass == Pass::fwd) {
              e2["target"] = ">= 0.8";
              e2["target_met"] = ratio >= 0.8;
              ++forward_rows;
              forward_met += ratio >= 0.8;
            }
            rep.row(tag + " v2 nova", t2, e2);
            nlohmann::json et0 = common;
            et0.update({{"version", 0}, {"math", "TF32 (CUDNN_DEFAULT_MATH)"}, {"gflops", gflops(tt0)},
                        {"ratio", 1.0}, {"note", "TF32 baseline"}});
            rep.row(tag + " v0 cudnn tf32", tt0, et0);
            const double ratio_tf32 = tt0.median_ms / tt2.median_ms;
            nlohmann::json et2 = common;
            et2.update({{"version", 2}, {"math", "TF32 (mma.sync m16n8k8)"}, {"gflops", gflops(tt2)},
                        {"ratio", ratio_tf32},
                        {"ratio_of", "v0 tf32 median ms / v2 tf32 median ms (throughput over cuDNN's TF32)"}});
            if (pass == Pass::fwd) forward_met_tf32 += ratio_tf32 >= 0.8;
            rep.row(tag + " v2 nova tf32", tt2, et2);
            sum.gflops_v0 = gflops(t0);
            sum.gflops_v0_tf32 = gflops(tt0);
            sum.gflops_v2_tf32 = gflops(tt2);
            sum.ratio = ratio;
            sum.ratio_tf32 = ratio_tf32;
            std::printf("%-18s v0 %8.1f GFLOP/s (again %8.1f)  v2 %8.1f GFLOP/s  v2/v0 %.3f%s  | tf32 v0 %8.1f  v2 "
                        "%8.1f GFLOP/s  v2/v0 %.3f\n",
                        tag.c_str(), gflops(t0), gflops(t0b), gflops(t2), ratio,
                        pass == Pass::fwd ? (ratio >= 0.8 ? " (>= 0.8: met)" : " (>= 0.8: MISSED)") : "",
                        gflops(tt0), gflops(tt2), ratio_tf32);
          } else {
            t2 = time_pass(pr, pass, ConvBackend::native, args);
            b::Timing tt2 = timed_tf32(ConvBackend::native);
            nlohmann::json e2 = common;
            e2.update({{"version", 2}, {"math", "FMA (no TF32)"}, {"gflops", gflops(t2)}});
            rep.row(tag + " v2 nova", t2, e2);
            nlohmann::json et2 = common;
            et2.update({{"version", 2}, {"math", "TF32 (mma.sync m16n8k8)"}, {"gflops", gflops(tt2)}});
            rep.row(tag + " v2 nova tf32", tt2, et2);
            sum.gflops_v2_tf32 = gflops(tt2);
            std::printf("%-18s v2 %8.1f GFLOP/s  tf32 %8.1f GFLOP/s (no cuDNN: no ratio)\n", tag.c_str(), gflops(t2),
                        gflops(tt2));
          }
          sum.gflops_v2 = gflops(t2);
          summary.push_back(sum);
        }
      }
    }

    std::printf("\nGFLOP/s (2*N*K*C*R*S*P*Q per pass):\n%-18s %10s %10s %8s %12s %12s %8s\n", "row", "v0 cudnn",
                "v2 nova", "v2/v0", "v0 tf32", "v2 tf32", "v2/v0");
    for (const Summary& s : summary)
      std::printf("%-18s %10.1f %10.1f %8.3f %12.1f %12.1f %8.3f\n", s.row.c_str(), s.gflops_v0, s.gflops_v2,
                  s.ratio, s.gflops_v0_tf32, s.gflops_v2_tf32, s.ratio_tf32);
    if (have_cudnn) {
      std::printf("\nforward float32, v2 >= 0.8x cuDNN's throughput: met on %d of %d rows (target: all) %s\n",
                  forward_met, forward_rows, forward_met == forward_rows ? "met" : "MISSED");
      std::printf("forward TF32, v2 >= 0.8x cuDNN's TF32 throughput: %d of %d rows (reported, not a target)\n",
                  forward_met_tf32, forward_rows);
    }
    rep.doc()["forward_target"] = {{"target", "v2 fwd >= 0.8x cuDNN float32 throughput"},
                                   {"rows", forward_rows}, {"met", forward_met}, {"met_tf32", forward_met_tf32}};
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_conv: error: %s\n", e.what());
    return 1;
  }
}
