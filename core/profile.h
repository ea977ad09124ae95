// core/profile.h: named scopes of user code ("D step", "G step") and the
// profiler that times the ops inside them.
//
// A Scope labels what runs inside it; scopes nest, and the label is the
// path, "train step/D step". Anomaly mode reports an op with the scope it
// was recorded in (core/autograd.h, AnomalyGuard), and the profiler times
// each scope and groups the ops by it.
//
// A Profiler, while it lives, records every op's kernel call
// (trace::KernelRun, core/trace.h) and every Scope; table() is the per-op
// table (calls, total and mean time, share of the profiled time, bytes
// moved and GB/s, GFLOP/s where the op knows its FLOPs) with the scopes'
// times under it and the CPU allocator's counters, and
// write_chrome_trace() the events as Chrome trace-event JSON (open it in
// https://ui.perfetto.dev or chrome://tracing). Times are host wall-clock
// times, for a CUDA op its launch (unless NOVA_DEBUG=2 makes each op wait
// for its kernels); a CUDA op's GPU time is measured too, with CUDA events
// queued on the stream before and after its kernels (no waiting while the
// profiler runs), read when it stops: the table's "CUDA ms" column, shown
// when any op ran on a GPU, with the CUDA caching allocator's counters
// under the CPU's. The Chrome trace holds host times only.
//
//   {
//     nova::profile::Scope scope("D step");
//     Tensor loss = d_loss(real, fake);   // ops recorded here carry "D step"
//     loss.backward();
//   }
//
// A scope costs a push and a pop on a thread-local list of pointers; the
// names must outlive the scope (string literals do).
#pragma once

#include <cstdint>
#include <string>

namespace nova::profile {

/// A named region of user code, for its lifetime (RAII), on this thread.
class Scope {
 public:
  explicit Scope(const char* name);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  int64_t start_ns_ = -1;  // set while a Profiler runs
};

/// Records ops and scopes from construction to stop() or destruction. One
/// at a time in a process (a second throws nova::Error); it records every
/// thread's ops. At most max_events are kept (the table still counts the
/// rest; the trace says how many it left out).
class Profiler {
 public:
  explicit Profiler(int64_t max_events = 1000000);
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  /// Stops recording (the destructor does it too); the results stay.
  void stop();
  /// The per-op table, sorted by total time, then the scopes and the CPU
  /// allocator's counters (see the top of this file).
  std::string table() const;
  /// The events as Chrome trace-event JSON; throws nova::Error naming the
  /// path when it cannot be written.
  void write_chrome_trace(const std::string& path) const;
  /// Kernel calls recorded (all of them, kept or not).
  int64_t kernel_calls() const;

  struct Data;  // the events (profile.cpp)

 private:
  bool running_ = false;
};

/// The scopes open on this thread, outermost first, joined by "/"; empty
/// outside every scope.
std::string current_scope();

}  // namespace nova::profile
