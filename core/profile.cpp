// core/profile.cpp: the thread-local stack of named scopes, and the
// profiler's events, table and Chrome trace (see profile.h).
#include "core/profile.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"
#include "core/profile_events.h"
#include "core/trace.h"
#include "kernels/cpu/allocator.h"
#include "kernels/cuda/runtime.h"

namespace nova::profile {

namespace {

thread_local std::vector<const char*> open_scopes;

struct Event {
  std::string name;      // op, or scope path
  const char* kernel;    // null for a scope
  std::string scope;     // the scope the op ran in ("" outside any)
  int64_t start_ns, duration_ns;
  double bytes, flops;
  uint64_t thread;
};

uint64_t thread_number() {
  static std::atomic<uint64_t> next{0};
  thread_local uint64_t mine = next++;
  return mine;
}

}  // namespace

struct Profiler::Data {
  std::mutex mutex;
  std::vector<Event> events;
  int64_t max_events = 0, kernel_calls = 0, dropped = 0;
  int64_t start_ns = 0, stop_ns = 0;
  // per op: calls, total ns, bytes, flops (all calls, kept or not)
  struct OpTotal {
    int64_t calls = 0, ns = 0, self_ns = 0;
    double bytes = 0, flops = 0;
    double cuda_ms = 0;  // GPU time between the op's marks (CUDA ops)
  };
  std::map<std::string, OpTotal> ops;
  std::map<std::string, OpTotal> scopes;  // calls and ns per scope path
  // CUDA ops' marks, read when the profiler stops (or its table is made)
  struct CudaSpan {
    std::string op;
    void* start;
    void* end;
  };
  std::vector<CudaSpan> cuda_spans;
  std::map<int, std::vector<void*>> free_events;  // per device, for reuse
  std::map<void*, int> event_device;              // every event made, and its device
};

namespace {
Profiler::Data data;  // the one profile of the process (one Profiler at a time)
}  // namespace

// ---- scopes ----

Scope::Scope(const char* name) {
  open_scopes.push_back(name ? name : "?");
  if (detail::recording()) start_ns_ = trace::now_ns();
}

Scope::~Scope() {
  if (start_ns_ >= 0 && detail::recording())
    detail::record_scope(current_scope(), start_ns_, trace::now_ns() - start_ns_);
  open_scopes.pop_back();
}

std::string current_scope() {
  std::string path;
  for (const char* s : open_scopes) {
    if (!path.empty()) path += '/';
    path += s;
  }
  return path;
}

// ---- recording ----

namespace detail {

bool recording() { return trace::active() && (trace::detail::active_bits.load(std::memory_order_relaxed) & 0x2); }

void record_kernel(const char* op, const char* kernel, int64_t start_ns, int64_t duration_ns, int64_t self_ns,
                   double bytes, double flops) {
  std::string scope = current_scope();
  std::lock_guard<std::mutex> lock(data.mutex);
  ++data.kernel_calls;
  auto& total = data.ops[op];
  total.calls++;
  total.ns += duration_ns;
  total.self_ns += self_ns;
  total.bytes += bytes;
  total.flops += flops;
  if (int64_t(data.events.size()) < data.max_events)
    data.events.push_back({op, kernel, std::move(scope), start_ns, duration_ns, bytes, flops, thread_number()});
  else
    ++data.dropped;
}

void* cuda_mark(int device) {
  void* event = nullptr;
  {
    std::lock_guard<std::mutex> lock(data.mutex);
    auto& free = data.free_events[device];
    if (!free.empty()) {
      event = free.back();
      free.pop_back();
    }
  }
  if (!event) {
    event = cuda::event_create(device);
    std::lock_guard<std::mutex> lock(data.mutex);
    data.event_device[event] = device;
  }
  cuda::event_record(event, device);
  return event;
}

void record_cuda_span(const char* op, void* start, void* end) {
  std::lock_guard<std::mutex> lock(data.mutex);
  data.cuda_spans.push_back({op, start, end});
}

void record_scope(const std::string& path, int64_t start_ns, int64_t duration_ns) {
  std::lock_guard<std::mutex> lock(data.mutex);
  auto& total = data.scopes[path];
  total.calls++;
  total.ns += duration_ns;
  if (int64_t(data.events.size()) < data.max_events)
    data.events.push_back({path, nullptr, "", start_ns, duration_ns, 0, 0, thread_number()});
  else
    ++data.dropped;
}

}  // namespace detail

// ---- the Profiler ----

namespace {

/// Waits for the CUDA spans recorded so far, adds their GPU times to their
/// ops and puts their events back in the pool. Caller holds data.mutex.
void resolve_cuda_spans() {
  for (const Profiler::Data::CudaSpan& span : data.cuda_spans) {
    data.ops[span.op].cuda_ms += double(cuda::event_elapsed_ms(span.start, span.end));
    for (void* e : {span.start, span.end}) data.free_events[data.event_device[e]].push_back(e);
  }
  data.cuda_spans.clear();
}

}  // namespace

Profiler::Profiler(int64_t max_events) {
  trace::active();  // NOVA_DEBUG read first
  int bits = trace::detail::active_bits.load();
  NOVA_CHECK(!(bits & 0x2), "profile::Profiler: another profiler is running; stop it first");
  {
    std::lock_guard<std::mutex> lock(data.mutex);
    resolve_cuda_spans();  // a previous profile's marks, so their events return to the pool
    data.events.clear();
    data.ops.clear();
    data.scopes.clear();
    data.max_events = std::max<int64_t>(0, max_events);
    data.kernel_calls = data.dropped = 0;
    data.start_ns = trace::now_ns();
    data.stop_ns = 0;
  }
  cpu::reset_peak_memory_stats();
  for (int d = 0; d < cuda::device_count(); ++d) cuda::reset_peak_memory_stats(d);  // none in a CPU build
  while (!trace::detail::active_bits.compare_exchange_weak(bits, bits | 0x2)) {
  }
  running_ = true;
}

Profiler::~Profiler() { stop(); }

void Profiler::stop() {
  if (!running_) return;
  running_ = false;
  int bits = trace::detail::active_bits.load();
  while (!trace::detail::active_bits.compare_exchange_weak(bits, bits & ~0x2)) {
  }
  std::lock_guard<std::mutex> lock(data.mutex);
  data.stop_ns = trace::now_ns();
  resolve_cuda_spans();
}

int64_t Profiler::kernel_calls() const {
  std::lock_guard<std::mutex> lock(data.mutex);
  return data.kernel_calls;
}

std::string Profiler::table() const {
  std::lock_guard<std::mutex> lock(data.mutex);
  resolve_cuda_spans();
  const int64_t end = data.stop_ns ? data.stop_ns : trace::now_ns();
  const double wall_ms = double(end - data.start_ns) * 1e-6;
  std::vector<std::pair<std::string, Data::OpTotal>> rows(data.ops.begin(), data.ops.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.self_ns > b.second.self_ns; });
  bool cuda = false;
  for (const auto& [name, t] : rows) cuda = cuda || t.cuda_ms > 0;
  std::string out = fmt::format("profile: {:.3f} ms of wall time, {} op calls in {} ops (sorted by self time)\n",
                                wall_ms, data.kernel_calls, rows.size());
  out += fmt::format("{:<24} {:>7} {:>10} {:>10} {:>9} {:>7} {:>10} {:>8} {:>8}{}\n", "op", "calls", "self ms",
                     "total ms", "mean us", "share", "MB moved", "GB/s", "GFLOP/s",
                     cuda ? fmt::format(" {:>10}", "CUDA ms") : std::string());
  double self_ms_all = 0;
  for (const auto& [name, t] : rows) {
    const double self_ms = double(t.self_ns) * 1e-6, ms = double(t.ns) * 1e-6, sec = double(t.ns) * 1e-9;
    self_ms_all += self_ms;
    out += fmt::format("{:<24} {:>7} {:>10.3f} {:>10.3f} {:>9.2f} {:>6.1f}% {:>10.2f} {:>8.2f} {:>8}{}\n", name,
                       t.calls, self_ms, ms, 1e3 * ms / double(std::max<int64_t>(t.calls, 1)),
                       wall_ms > 0 ? 100 * self_ms / wall_ms : 0.0, t.bytes * 1e-6,
                       sec > 0 ? t.bytes / sec * 1e-9 : 0.0,
                       t.flops > 0 && sec > 0 ? fmt::format("{:.2f}", t.flops / sec * 1e-9) : std::string("-"),
                       cuda ? fmt::format(" {:>10.3f}", t.cuda_ms) : std::string());
  }
  out += fmt::format("{:<24} {:>7} {:>10.3f} {:>10} {:>9} {:>6.1f}%  (the rest of the wall time: recording "
                     "autograd, views, the caller's own work)\n",
                     "all ops", data.kernel_calls, self_ms_all, "", "",
                     wall_ms > 0 ? 100 * self_ms_all / wall_ms : 0.0);
  if (!data.scopes.empty()) {
    out += fmt::format("{:<40} {:>8} {:>11} {:>7}\n", "scope", "calls", "total ms", "share");
    for (const auto& [path, t] : data.scopes) {
      const double ms = double(t.ns) * 1e-6;
      out += fmt::format("{:<40} {:>8} {:>11.3f} {:>6.1f}%\n", path, t.calls, ms,
                         wall_ms > 0 ? 100 * ms / wall_ms : 0.0);
    }
  }
  const cpu::MemoryStats m = cpu::memory_stats();
  out += fmt::format("CPU allocator: {:.2f} MB allocated now, {:.2f} MB cached, peak {:.2f} MB since the profiler "
                     "started, {} blocks from the system, {} cache hits\n",
                     double(m.allocated) * 1e-6, double(m.cached) * 1e-6, double(m.peak_allocated) * 1e-6,
                     m.system_allocs, m.cache_hits);
  if (cuda) {
    std::vector<int> devices;
    for (const auto& [event, device] : data.event_device)
      if (std::find(devices.begin(), devices.end(), device) == devices.end()) devices.push_back(device);
    std::sort(devices.begin(), devices.end());
    for (int d : devices) {
      const cuda::MemoryStats g = cuda::memory_stats(d);
      out += fmt::format("CUDA allocator, device {}: {:.2f} MB allocated now, {:.2f} MB reserved, peak {:.2f} MB "
                         "since the profiler started, {} cudaMalloc calls in all\n",
                         d, double(g.allocated) * 1e-6, double(g.reserved) * 1e-6, double(g.peak_allocated) * 1e-6,
                         g.num_mallocs);
    }
  }
  return out;
}

void Profiler::write_chrome_trace(const std::string& path) const {
  std::lock_guard<std::mutex> lock(data.mutex);
  std::ofstream f(path, std::ios::binary);
  NOVA_CHECK(f.good(), "profile::Profiler: cannot open {} for writing", path);
  auto quoted = [](const std::string& s) {
    std::string q = "\"";
    for (char ch : s) {
      if (ch == '"' || ch == '\\') q += '\\';
      if (static_cast<unsigned char>(ch) >= 0x20) q += ch;
    }
    return q + "\"";
  };
  f << "{\"displayTimeUnit\": \"ms\", \"otherData\": {\"dropped_events\": " << data.dropped
    << "},\n\"traceEvents\": [\n";
  bool first = true;
  for (const Event& e : data.events) {
    if (!first) f << ",\n";
    first = false;
    // complete events ("X"), microseconds from the profiler's start
    f << fmt::format("{{\"name\": {}, \"cat\": \"{}\", \"ph\": \"X\", \"ts\": {:.3f}, \"dur\": {:.3f}, \"pid\": 0, "
                     "\"tid\": {}",
                     quoted(e.name), e.kernel ? "op" : "scope", double(e.start_ns - data.start_ns) * 1e-3,
                     double(e.duration_ns) * 1e-3, e.thread);
    if (e.kernel)
      f << fmt::format(", \"args\": {{\"kernel\": {}, \"scope\": {}, \"bytes\": {:.0f}, \"flops\": {:.0f}}}",
                       quoted(e.kernel), quoted(e.scope), e.bytes, e.flops);
    f << "}";
  }
  f << "\n]}\n";
  f.close();
  NOVA_CHECK(f.good(), "profile::Profiler: writing {} failed", path);
}

}  // namespace nova::profile
