// core/trace.cpp: KernelRun's printing and recording (see trace.h), and the
// NOVA_DEBUG level.
#include "core/trace.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "core/autograd.h"
#include "core/profile_events.h"
#include "kernels/cuda/runtime.h"

namespace nova::trace {

namespace detail {
std::atomic<int> active_bits{-1};

int init_active_bits() {
  const char* env = std::getenv("NOVA_DEBUG");
  const int lvl = env ? std::atoi(env) : 0;
  int expected = -1;
  active_bits.compare_exchange_strong(expected, lvl > 0 ? (lvl >= 2 ? 0x5 : 0x1) : 0);
  return active_bits.load();
}
}  // namespace detail

// bit 0: trace on; bit 2: trace level 2; bit 1: profiler (set by profile.cpp)
int level() {
  const int bits = active() ? detail::active_bits.load() : 0;
  return (bits & 0x1) ? ((bits & 0x4) ? 2 : 1) : 0;
}

void set_level(int lvl) {
  active();  // read the environment first, so it cannot override this later
  int bits = detail::active_bits.load();
  int next;
  do {
    next = (bits & 0x2) | (lvl > 0 ? 0x1 : 0) | (lvl >= 2 ? 0x4 : 0);
  } while (!detail::active_bits.compare_exchange_weak(bits, next));
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string describe(const Tensor& t) {
  if (!t.defined()) return "-";
  return fmt::format("{} {}{}", t.shape().str(), dtype_name(t.dtype()), t.is_cuda() ? " " + t.device().str() : "");
}

double bytes_of(const Tensor& t) { return t.defined() ? double(t.numel()) * double(dtype_size(t.dtype())) : 0.0; }

thread_local KernelRun* innermost = nullptr;  // the open run on this thread
thread_local int depth = 0;

}  // namespace

void KernelRun::start(const char* op, const std::vector<const Tensor*>& inputs,
                      const std::vector<const Tensor*>& outputs, const char* kernel, double flops) {
  on_ = true;
  op_ = op;
  flops_ = flops;
  const Tensor* first = !outputs.empty() ? outputs.front() : !inputs.empty() ? inputs.front() : nullptr;
  cuda_ = first && first->defined() && first->is_cuda();
  device_ = cuda_ ? first->device().index : 0;
  kernel_ = kernel ? kernel : (cuda_ ? "CUDA kernel" : "CPU loop");
  bool records = autograd::is_grad_enabled();
  bool any_grad = false;
  for (const Tensor* t : inputs) {
    bytes_ += bytes_of(*t);
    any_grad = any_grad || (t->defined() && t->requires_grad());
  }
  outputs_ = outputs;
  records_ = records && any_grad;
  if (level() > 0) {
    std::string ins;
    for (const Tensor* t : inputs) ins += (ins.empty() ? "" : ", ") + describe(*t);
    line_ = fmt::format("{:<14} in: {}", op, ins.empty() ? "-" : ins);
  }
  outer_ = innermost;
  innermost = this;
  ++depth;
  if (cuda_ && level() >= 2) cuda::synchronize(device_);  // time this kernel, not the queue before it
  // the profiler times a CUDA op's kernels with events on the stream: no wait
  if (cuda_ && profile::detail::recording()) gpu_start_ = profile::detail::cuda_mark(device_);
  start_ns_ = now_ns();
}

void KernelRun::stop() {
  on_ = false;
  if (cuda_ && level() >= 2) cuda::synchronize(device_);
  const int64_t end = now_ns(), total = end - start_ns_;
  std::string outs;
  for (const Tensor* t : outputs_) {
    bytes_ += bytes_of(*t);
    if (level() > 0) outs += (outs.empty() ? "" : ", ") + describe(*t);
  }
  line_ += fmt::format("  out: {}  backward node: {}", outs.empty() ? "-" : outs, records_ ? "yes" : "no");
  innermost = outer_;
  --depth;
  if (outer_) outer_->inner_ns_ += total;
  const int lvl = level();
  const std::string indent(size_t(2 * depth), ' ');
  if (lvl == 1) fmt::print(stderr, "[nova] {}{}\n", indent, line_);
  if (lvl >= 2) fmt::print(stderr, "[nova] {}{}  {:.3f} ms  {}\n", indent, line_, double(total) * 1e-6, kernel_);
  if (profile::detail::recording()) {
    profile::detail::record_kernel(op_, kernel_, start_ns_, total, total - inner_ns_, bytes_, flops_);
    if (gpu_start_) profile::detail::record_cuda_span(op_, gpu_start_, profile::detail::cuda_mark(device_));
  }
}

}  // namespace nova::trace
