// tests/test_trace_profile_cuda.cpp: the profiler on a GPU (core/profile.h).
// A CUDA op's GPU time comes from two CUDA events queued on nova's stream
// around its kernels (kernels/cuda/runtime.h: event_create, event_record,
// event_elapsed_ms), read when the profiler stops: the table gets a "CUDA
// ms" column, a matmul's GPU time is positive and at most the wall time of
// the run, the CUDA allocator's counters follow the CPU's, the events return
// to a pool that a second profiler reuses, and a CPU-only profile has
// neither.
#include <chrono>
#include <regex>
#include <string>

#include "core/profile.h"
#include "kernels/cuda/runtime.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// The last number on the table's line for `op` (the CUDA ms column).
double cuda_ms_of(const std::string& table, const std::string& op) {
  std::smatch m;
  const std::regex line("\\n" + op + " +[^\\n]* ([0-9.]+)\\n");
  REQUIRE(std::regex_search(table, m, line));
  return std::stod(m[1]);
}

}  // namespace

TEST_CASE("CUDA events time the stream between two marks", "[cuda][profile]") {
  void* start = cuda::event_create(0);
  void* end = cuda::event_create(0);
  Tensor a = randn({512, 512}).to(gpu());
  cuda::event_record(start, 0);
  Tensor c = ops::matmul(a, a);
  cuda::event_record(end, 0);
  const float ms = cuda::event_elapsed_ms(start, end);
  CHECK(ms > 0.0f);
  CHECK(ms < 1000.0f);
  cuda::event_destroy(start);
  cuda::event_destroy(end);
}

TEST_CASE("the profiler reports each CUDA op's GPU time from events", "[cuda][profile]") {
  Tensor a = randn({1024, 1024}).to(gpu());
  cuda::synchronize(0);
  for (int round = 0; round < 2; ++round) {  // the second profiler reuses the first one's events
    INFO("profiler " << round);
    const auto t0 = std::chrono::steady_clock::now();
    profile::Profiler profiler;
    Tensor c;
    for (int i = 0; i < 5; ++i) c = ops::matmul(a, a);
    profiler.stop();
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const std::string table = profiler.table();
    INFO(table);
    CHECK(table.find("CUDA ms") != std::string::npos);
    CHECK(table.find("CUDA allocator, device 0: ") != std::string::npos);
    const double gpu_ms = cuda_ms_of(table, "matmul");
    CHECK(gpu_ms > 0.0);
    CHECK(gpu_ms <= wall_ms);  // stop() waited for the marks, so they fell inside the run
  }
  profile::Profiler cpu_only;
  ops::matmul(randn({8, 8}), randn({8, 8}));
  cpu_only.stop();
  CHECK(cpu_only.table().find("CUDA ms") == std::string::npos);
  CHECK(cpu_only.table().find("CUDA allocator") == std::string::npos);
}
