// core/trace.h: what an op reports about itself as it runs, for the op trace
// (NOVA_DEBUG) and the profiler (core/profile.h).
//
// Every op that runs a kernel opens a KernelRun around the kernel call, at
// the one place it switches on the device:
//
//   trace::KernelRun run("sum", {&x}, {&y});
//   switch (x.device().type) { ... the kernel ... }
//   run.finish();
//
// With NOVA_DEBUG=1 each run prints one line to stderr: the op, its inputs'
// shapes, dtypes and devices, its outputs' shapes, and whether it records a
// backward node (grad mode on and an input that requires a gradient: the
// test every op makes before record()). NOVA_DEBUG=2 adds the time the
// kernel took and which kernel ran (a CPU loop, OpenBLAS or Eigen for a
// matrix product, a CUDA kernel, cuBLAS, cuDNN; on CUDA the time is taken
// after synchronising the device, so NOVA_DEBUG=2 serialises the GPU). While
// a profile::Profiler runs, every KernelRun is recorded for its table and
// trace, printed or not.
//
// An op made of other ops (linear: a matmul and the bias) opens a run
// around them too: its inner runs print first, indented under it, and the
// profiler counts their time as the outer op's total but not its self time.
//
// Off (no NOVA_DEBUG, no profiler running) a KernelRun is one load and one
// branch: the op's arguments are not looked at.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nova::trace {

/// The NOVA_DEBUG level: 0 off, 1 ops, 2 ops with time and kernel. Read from
/// the environment at the first call; set_level overrides it (tests, tools).
int level();
void set_level(int level);

namespace detail {
// bit 0: the trace is on (level >= 1), bit 1: a profiler runs, bit 2: the
// trace is at level 2; -1: NOVA_DEBUG not read yet
extern std::atomic<int> active_bits;
int init_active_bits();
}  // namespace detail

/// True when KernelRuns must report (the trace is on or a profiler runs).
inline bool active() {
  int bits = detail::active_bits.load(std::memory_order_relaxed);
  if (bits < 0) bits = detail::init_active_bits();
  return bits != 0;
}

/// One op's kernel call, from construction to finish() (or destruction).
/// `kernel`: which kernel runs, when the op knows better than its device
/// ("OpenBLAS", "cuBLAS", "cuDNN"); null: "CPU loop" or "CUDA kernel".
/// `flops`: floating-point operations of the call when known (a matrix
/// product's 2 m n k), 0 otherwise; the profiler reports GFLOP/s from it.
class KernelRun {
 public:
  KernelRun(const char* op, std::initializer_list<const Tensor*> inputs, std::initializer_list<const Tensor*> outputs,
            const char* kernel = nullptr, double flops = 0) {
    if (active()) start(op, std::vector<const Tensor*>(inputs), std::vector<const Tensor*>(outputs), kernel, flops);
  }
  /// The same for an op whose inputs are a list (cat, stack, gram).
  KernelRun(const char* op, const std::vector<Tensor>& inputs, std::initializer_list<const Tensor*> outputs,
            const char* kernel = nullptr, double flops = 0) {
    if (active()) {
      std::vector<const Tensor*> in;
      for (const Tensor& t : inputs) in.push_back(&t);
      start(op, in, std::vector<const Tensor*>(outputs), kernel, flops);
    }
  }
  ~KernelRun() { finish(); }
  KernelRun(const KernelRun&) = delete;
  KernelRun& operator=(const KernelRun&) = delete;

  /// Names the output when it was not known at construction (an op made of
  /// other ops learns it at the end); call before finish().
  void output(const Tensor& out) {
    if (on_) outputs_.push_back(&out);
  }

  /// Ends the run (prints, records); later calls do nothing.
  void finish() {
    if (on_) stop();
  }

 private:
  void start(const char* op, const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& outputs,
             const char* kernel, double flops);
  void stop();

  bool on_ = false;
  const char* op_ = nullptr;
  const char* kernel_ = nullptr;
  double flops_ = 0;
  double bytes_ = 0;
  bool cuda_ = false;
  bool records_ = false;  // grad mode on and an input requires a gradient
  int device_ = 0;
  int64_t start_ns_ = 0;
  int64_t inner_ns_ = 0;      // time of the runs nested inside this one
  void* gpu_start_ = nullptr;  // CUDA op under a profiler: the mark before its kernels
  KernelRun* outer_ = nullptr;  // the run this one is nested in (this thread)
  std::string line_;  // the trace line's text up to the outputs
  std::vector<const Tensor*> outputs_;  // alive until finish(): the op's own locals
};

/// Nanoseconds on a steady clock (the profiler's time base).
int64_t now_ns();

}  // namespace nova::trace
