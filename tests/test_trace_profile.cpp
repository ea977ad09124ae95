// tests/test_trace_profile.cpp: seeing nova run. The profiler
// (core/profile.h): per-op calls, self and total time (linear around its
// matmul), FLOPs of a matmul, user scopes, the CPU allocator line, a Chrome
// trace that parses, one profiler at a time. The op trace (core/trace.h,
// NOVA_DEBUG) and --profile through the main example: one line per op with
// shapes and whether it records a backward node, time and kernel at level 2,
// nothing when off.
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/ops.h"
#include "core/profile.h"
#include "core/trace.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// The table's row for `op`: calls, self ms, total ms (REQUIREs it exists).
struct Row {
  int64_t calls;
  double self_ms, total_ms;
  std::string line;
};

Row row_of(const std::string& table, const std::string& op) {
  std::smatch m;
  REQUIRE(std::regex_search(table, m, std::regex("\\n" + op + " +([0-9]+) +([0-9.]+) +([0-9.]+)[^\\n]*")));
  return {std::stoll(m[1]), std::stod(m[2]), std::stod(m[3]), m[0]};
}

}  // namespace

TEST_CASE("the profiler counts ops, self and total time, FLOPs and scopes, and writes a Chrome trace", "[profile]") {
  Tensor x = uniform({64, 32}, -1, 1), w = uniform({16, 32}, -1, 1).requires_grad_(), b = zeros({16});
  REQUIRE_FALSE(trace::active());  // nothing on: a KernelRun costs a load and a branch
  profile::Profiler profiler;
  REQUIRE(trace::active());
  REQUIRE_THROWS_WITH(profile::Profiler(), Catch::Matchers::Contains("another profiler is running"));
  {
    profile::Scope outer("step");
    for (int i = 0; i < 3; ++i) {
      profile::Scope inner("forward");
      ops::sum(ops::tanh(ops::linear(x, w, b))).backward();
    }
  }
  profiler.stop();
  REQUIRE_FALSE(trace::active());
  ops::tanh(x);  // after stop: not recorded
  const std::string table = profiler.table();
  INFO(table);
  const Row linear = row_of(table, "linear"), matmul = row_of(table, "matmul"), tanh = row_of(table, "tanh");
  REQUIRE(linear.calls == 3);
  REQUIRE(tanh.calls == 3);
  // forward: one matmul per linear; backward: dx is not needed (x is no
  // leaf that wants it), dW is one more matmul
  REQUIRE(matmul.calls == 6);
  REQUIRE(linear.total_ms >= linear.self_ms);
  REQUIRE(linear.total_ms >= matmul.self_ms / 2);  // its three forward matmuls are inside it
  REQUIRE(matmul.self_ms == Approx(matmul.total_ms));
  REQUIRE(matmul.line.find(" -\n") == std::string::npos);  // GFLOP/s known for a matmul
  REQUIRE(table.find("step/forward") != std::string::npos);
  REQUIRE(std::regex_search(table, std::regex("\\nstep +1 ")));
  REQUIRE(std::regex_search(table, std::regex("\\nstep/forward +3 ")));
  REQUIRE(table.find("CPU allocator:") != std::string::npos);
  REQUIRE(profiler.kernel_calls() >= 12);

  TempDir dir;
  const std::string path = dir.file("trace.json");
  profiler.write_chrome_trace(path);
  std::ifstream f(path);
  const nlohmann::json j = nlohmann::json::parse(f);
  const auto& events = j.at("traceEvents");
  int64_t ops = 0, scopes = 0;
  for (const auto& e : events) {
    REQUIRE(e.at("ph") == "X");
    REQUIRE(e.at("dur").get<double>() >= 0);
    if (e.at("cat") == "op") {
      ++ops;
      REQUIRE(e.at("args").contains("kernel"));
    } else {
      ++scopes;
    }
  }
  REQUIRE(ops == profiler.kernel_calls());
  REQUIRE(scopes == 4);  // step once, step/forward three times
  REQUIRE_THROWS_WITH(profiler.write_chrome_trace("/nonexistent-dir/t.json"),
                      Catch::Matchers::Contains("/nonexistent-dir/t.json"));
}

TEST_CASE("a profiler keeps at most its event cap and still counts every call", "[profile]") {
  Tensor x = uniform({4, 4}, -1, 1);
  profile::Profiler profiler(5);
  for (int i = 0; i < 10; ++i) ops::tanh(x);
  profiler.stop();
  REQUIRE(profiler.kernel_calls() == 10);
  REQUIRE(row_of(profiler.table(), "tanh").calls == 10);
  TempDir dir;
  profiler.write_chrome_trace(dir.file("t.json"));
  std::ifstream f(dir.file("t.json"));
  const nlohmann::json j = nlohmann::json::parse(f);
  REQUIRE(j.at("traceEvents").size() == 5);
  REQUIRE(j.at("otherData").at("dropped_events") == 5);
}

#ifdef NOVA_GAN_EXAMPLE_PATH

TEST_CASE("NOVA_DEBUG prints each op with its shapes, and at 2 its time and kernel; --profile prints the table",
          "[profile][example]") {
  const std::string base =
      std::string(NOVA_GAN_EXAMPLE_PATH) + " --threads 1 --batch 4 --eval-samples 10 --plot-every 0";
  const std::string run = base + " --steps 1";
  const CommandResult off = run_command(run);
  REQUIRE(off.status == 0);
  REQUIRE(off.output.find("[nova]") == std::string::npos);

  const CommandResult one = run_command("NOVA_DEBUG=1 " + run);
  INFO(one.output.substr(0, 3000));
  REQUIRE(one.status == 0);
  // D's first layer on the 8 rows (4 real, 4 fake): its matmul indented
  // under it, the layer recording a node (D's weights want gradients)
  REQUIRE(std::regex_search(one.output, std::regex("\\[nova\\]   matmul +in: \\[8, 2\\] float32, \\[2, 128\\] float32  "
                                                   "out: \\[8, 128\\] float32  backward node: no\\n")));
  REQUIRE(std::regex_search(one.output, std::regex("\\[nova\\] linear +in: \\[8, 2\\] float32, \\[128, 2\\] "
                                                   "float32, \\[128\\] float32  out: \\[8, 128\\] float32  "
                                                   "backward node: yes\\n")));
  REQUIRE(one.output.find("tanh_backward") != std::string::npos);
  REQUIRE(one.output.find("adam_step") != std::string::npos);

  const CommandResult two = run_command("NOVA_DEBUG=2 " + run);
  REQUIRE(two.status == 0);
  REQUIRE(std::regex_search(two.output, std::regex("\\[nova\\]   matmul .* [0-9]+\\.[0-9]{3} ms  (OpenBLAS|Eigen)")));
  REQUIRE(std::regex_search(two.output, std::regex("\\[nova\\] tanh .* [0-9]+\\.[0-9]{3} ms  CPU loop\\n")));

  TempDir dir;
  const CommandResult prof = run_command(base + " --steps 3 --profile " + dir.file("p.json"));
  INFO(prof.output);
  REQUIRE(prof.status == 0);
  REQUIRE(std::regex_search(prof.output, std::regex("\\nmatmul +[0-9]+ ")));
  REQUIRE(std::regex_search(prof.output, std::regex("\\nD step +3 ")));
  REQUIRE(std::regex_search(prof.output, std::regex("\\nG step +3 ")));
  std::ifstream f(dir.file("p.json"));
  REQUIRE(nlohmann::json::parse(f).at("traceEvents").size() > 100);
}

#endif
