// bench/report.h: the device-neutral half of every nova benchmark (see
// STYLE.md and DESIGN.md, "Benchmarks"): command line, date and commit,
// Timing, CPU wall-clock timing, validation by relative L2 error, and the
// printed table + JSON file
//   {benchmark, op, shape, dtype, math_mode, device, date, commit, rows: [...]}
// written to --json PATH (default bench-<name>.json in the current folder).
// bench/common.h adds CUDA-event timing on top of it.
//
// Command line of every bench program: [--json PATH] [--iters N] [--warmup N]
// Exit codes: 0 all rows passed validation, 1 a validation failed or an
// error was thrown, 77 (CUDA benchmarks) no CUDA device answered.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#ifndef NOVA_BENCH_SOURCE_DIR
#define NOVA_BENCH_SOURCE_DIR "."
#endif

namespace nova::bench {

struct Args {
  std::string json_path;
  int iters = 50;
  int warmup = 5;
  std::string device = "cpu";  // --device: only benchmarks that run on both read it
};

inline Args parse_args(int argc, char** argv, const std::string& name) {
  Args a;
  a.json_path = "bench-" + name + ".json";
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: %s needs a value\n", name.c_str(), s.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (s == "--json") a.json_path = next();
    else if (s == "--iters") a.iters = std::max(1, std::atoi(next().c_str()));
    else if (s == "--warmup") a.warmup = std::max(0, std::atoi(next().c_str()));
    else if (s == "--device") a.device = next();
    else {
      std::fprintf(stderr, "usage: %s [--json PATH] [--iters N] [--warmup N] [--device cpu|cuda]\n", name.c_str());
      std::exit(2);
    }
  }
  return a;
}

inline std::string utc_date() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

/// Output of a shell command (trailing newlines cut), or "" when it fails.
inline std::string run_command(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    if (status) *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (status) *status = rc;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

/// A Python that imports torch: the venv the README's side-by-side run
/// installs (/tmp/tv), else the system python3; "" when neither has it.
inline std::string python_with_torch() {
  int rc = 0;
  run_command("/tmp/tv/bin/python3 -c \"import torch\" >/dev/null 2>&1", &rc);
  if (rc == 0) return "/tmp/tv/bin/python3";
  run_command("python3 -c \"import torch\" >/dev/null 2>&1", &rc);
  return rc == 0 ? "python3" : "";
}

/// Runs the PyTorch side of a CPU benchmark: `python script args`, whose
/// last line of output is one JSON object with at least "median_ms". Returns
/// it, or null with a note in `notes` when there is no PyTorch or the script
/// failed (the benchmark then reports nova alone, and says so).
inline nlohmann::json run_torch_baseline(const std::string& script, const std::string& args,
                                         std::vector<std::string>& notes) {
  const std::string python = python_with_torch();
  if (python.empty()) {
    notes.push_back("PyTorch not found (/tmp/tv/bin/python3 or python3 with torch): nova alone, no ratio");
    return nullptr;
  }
  int rc = 0;
  const std::string out = run_command(python + " \"" + script + "\" " + args + " 2>/dev/null", &rc);
  const size_t nl = out.rfind('\n');
  const std::string line = out.substr(nl == std::string::npos ? 0 : nl + 1);
  nlohmann::json result = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (rc != 0 || result.is_discarded() || !result.contains("median_ms")) {
    notes.push_back("PyTorch found but " + script + " failed (rc " + std::to_string(rc) + "): no ratio; output: " +
                    out);
    return nullptr;
  }
  return result;
}

inline std::string git_commit() {
  int rc = 0;
  std::string c = run_command("git -C \"" NOVA_BENCH_SOURCE_DIR "\" rev-parse --short HEAD 2>/dev/null", &rc);
  return (rc != 0 || c.empty()) ? "unknown" : c;
}

// ---- timing ----

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int iters = 0;
  bool l2_flushed = false;
};

/// The Timing of run_torch_baseline's JSON ("median_ms", "min_ms", "max_ms", "iters").
inline Timing torch_timing(const nlohmann::json& torch) {
  Timing t;
  t.median_ms = torch["median_ms"].get<double>();
  t.min_ms = torch.value("min_ms", t.median_ms);
  t.max_ms = torch.value("max_ms", t.median_ms);
  t.iters = torch.value("iters", 0);
  return t;
}

inline Timing summarize(std::vector<double> ms, bool l2_flushed) {
  std::sort(ms.begin(), ms.end());
  Timing r;
  r.iters = int(ms.size());
  r.l2_flushed = l2_flushed;
  if (ms.empty()) return r;
  r.min_ms = ms.front();
  r.max_ms = ms.back();
  size_t n = ms.size();
  r.median_ms = (n % 2) ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return r;
}

/// Times fn() on the host: `warmup` untimed calls, then `iters` calls each
/// measured with steady_clock (for CPU work; CUDA work needs time_cuda).
inline Timing time_cpu(const std::function<void()>& fn, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  ms.reserve(iters);
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return summarize(std::move(ms), false);
}

/// "model name" of /proc/cpuinfo and the hardware thread count, e.g.
/// "AMD EPYC 9454 (2 threads)": the device string of CPU benchmarks.
inline std::string cpu_name() {
  std::string model = run_command("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'");
  if (model.empty()) model = "unknown CPU";
  return model + " (" + std::to_string(std::thread::hardware_concurrency()) + " threads)";
}

// ---- validation ----

/// ||out - ref||_2 / ||ref||_2 in double (absolute L2 error when ref is 0).
template <typename A, typename B>
inline double rel_l2_error(const std::vector<A>& out, const std::vector<B>& ref) {
  if (out.size() != ref.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    double d = double(out[i]) - double(ref[i]);
    num += d * d;
    den += double(ref[i]) * double(ref[i]);
  }
  if (std::isnan(num)) return INFINITY;
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// ---- report: table + JSON ----

class Report {
 public:
  Report(std::string name, std::string op, std::string shape, std::string dtype, std::string math_mode,
         std::string device)
      : name_(std::move(name)) {
    doc_["benchmark"] = name_;
    doc_["op"] = op;
    doc_["shape"] = shape;
    doc_["dtype"] = dtype;
    doc_["math_mode"] = math_mode;
    doc_["device"] = device;
    doc_["date"] = utc_date();
    doc_["commit"] = git_commit();
    doc_["rows"] = nlohmann::json::array();
    std::printf("%s: op %s, shape %s, dtype %s, math %s\n", name_.c_str(), op.c_str(), shape.c_str(),
                dtype.c_str(), math_mode.c_str());
    std::printf("device %s, date %s, commit %s\n\n", doc_["device"].get<std::string>().c_str(),
                doc_["date"].get<std::string>().c_str(), doc_["commit"].get<std::string>().c_str());
  }

  /// Checks a validation; on failure prints why, marks the run failed and
  /// records the row as failed. Returns whether it passed.
  bool validate(const std::string& row, double err, double bound) {
    bool ok = err <= bound;
    std::printf("validate %-28s rel L2 error %.3e (bound %.1e): %s\n", row.c_str(), err, bound,
                ok ? "ok" : "FAILED");
    if (!ok) {
      std::fprintf(stderr,
                   "%s: validation of '%s' FAILED: relative L2 error %.3e exceeds the bound %.1e; "
                   "row not timed\n",
                   name_.c_str(), row.c_str(), err, bound);
      failed_ = true;
      doc_["rows"].push_back({{"name", row}, {"validation", "failed"}, {"rel_l2_error", err}, {"bound", bound}});
    }
    return ok;
  }

  /// One timed row. `extra` carries GB/s, ratio, target, ...
  void row(const std::string& row, const Timing& t, nlohmann::json extra = nlohmann::json::object()) {
    extra["name"] = row;
    extra["median_ms"] = t.median_ms;
    extra["min_ms"] = t.min_ms;
    extra["max_ms"] = t.max_ms;
    extra["iters"] = t.iters;
    extra["l2_flushed"] = t.l2_flushed;
    if (!extra.contains("validation")) extra["validation"] = "passed";
    doc_["rows"].push_back(extra);
    table_.push_back(extra);
  }

  void note(const std::string& text) {
    std::printf("%s\n", text.c_str());
    doc_["notes"].push_back(text);
  }

  void set_failed() { failed_ = true; }
  bool failed() const { return failed_; }

  /// Prints the table, writes the JSON, returns the exit code.
  int finish(const std::string& json_path) {
    std::printf("\n%-26s %10s %10s %10s %10s %9s %8s\n", "row", "median ms", "min ms", "max ms", "GB/s",
                "ratio", "target");
    for (const auto& r : table_) {
      auto num = [&](const char* k, const char* fmt) {
        char b[32];
        if (r.contains(k) && r[k].is_number()) std::snprintf(b, sizeof b, fmt, r[k].get<double>());
        else std::snprintf(b, sizeof b, "-");
        return std::string(b);
      };
      std::string target = r.contains("target") ? r["target"].get<std::string>() : "-";
      std::printf("%-26s %10.4f %10.4f %10.4f %10s %9s %8s\n", r["name"].get<std::string>().c_str(),
                  r["median_ms"].get<double>(), r["min_ms"].get<double>(), r["max_ms"].get<double>(),
                  num("gbps", "%.1f").c_str(), num("ratio", "%.3f").c_str(), target.c_str());
    }
    doc_["status"] = failed_ ? "failed" : "passed";
    std::ofstream f(json_path);
    if (!f) {
      std::fprintf(stderr, "%s: cannot write %s\n", name_.c_str(), json_path.c_str());
      return 1;
    }
    f << doc_.dump(2) << "\n";
    std::printf("\nJSON: %s\n%s: %s\n", json_path.c_str(), name_.c_str(), failed_ ? "FAILED" : "ok");
    return failed_ ? 1 : 0;
  }

  nlohmann::json& doc() { return doc_; }

 private:
  std::string name_;
  nlohmann::json doc_;
  std::vector<nlohmann::json> table_;
  bool failed_ = false;
};

/// "met" / "MISSED" for a ratio against a target (higher is better unless
/// lower_is_better).
inline const char* verdict(double ratio, double target, bool lower_is_better = false) {
  bool ok = lower_is_better ? ratio <= target : ratio >= target;
  return ok ? "met" : "MISSED";
}

}  // namespace nova::bench
