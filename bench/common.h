// bench/common.h: what every nova benchmark shares (see STYLE.md and
// DESIGN.md, "Benchmarks"): CUDA-event timing (warm-up, N timed iterations,
// median and min/max, optional L2 flush by writing a 100 MB buffer between
// iterations), validation by relative L2 error against a reference with a
// stated bound, the device name, the commit, a printed table and a JSON file
//   {op, shape, dtype, math_mode, device, date, commit, rows: [...]}
// written to --json PATH (default bench-<name>.json in the current folder).
//
// Command line of every bench program: [--json PATH] [--iters N] [--warmup N]
// Exit codes: 0 all rows passed validation, 1 a validation failed or an
// error was thrown, 77 no CUDA device answered.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/cuda/runtime.h"

#ifndef NOVA_BENCH_SOURCE_DIR
#define NOVA_BENCH_SOURCE_DIR "."
#endif

#define BENCH_CUDA_CHECK(expr)                                                         \
  do {                                                                                 \
    cudaError_t bench_err_ = (expr);                                                   \
    if (bench_err_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "bench: %s failed: %s (%s:%d)\n", #expr,                    \
                   cudaGetErrorString(bench_err_), __FILE__, __LINE__);                \
      std::exit(1);                                                                    \
    }                                                                                  \
  } while (0)

namespace nova::bench {

struct Args {
  std::string json_path;
  int iters = 50;
  int warmup = 5;
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
    else {
      std::fprintf(stderr, "usage: %s [--json PATH] [--iters N] [--warmup N]\n", name.c_str());
      std::exit(2);
    }
  }
  return a;
}

/// Exits 77 (as the CUDA tests do) when no CUDA device answers.
inline void require_device(const std::string& name) {
  if (nova::cuda::device_count() == 0) {
    std::fprintf(stderr, "%s: no CUDA device answered (or nova was built without CUDA): nothing measured\n",
                 name.c_str());
    std::exit(77);
  }
}

inline cudaStream_t nova_stream(int device = 0) {
  return static_cast<cudaStream_t>(nova::cuda::stream(device));
}

inline std::string device_name(int device = 0) {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "unknown";
  return prop.name;
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

/// Writes 100 MB between timed iterations so that data of the previous
/// iteration is not served from L2 (50 MB on H100).
class L2Flusher {
 public:
  static constexpr size_t kBytes = size_t(100) << 20;
  void flush(cudaStream_t s) {
    if (!buf_) BENCH_CUDA_CHECK(cudaMalloc(&buf_, kBytes));
    BENCH_CUDA_CHECK(cudaMemsetAsync(buf_, ++value_ & 0xff, kBytes, s));
  }
  ~L2Flusher() {
    if (buf_) cudaFree(buf_);
  }

 private:
  void* buf_ = nullptr;
  int value_ = 0;
};

inline L2Flusher& l2_flusher() {
  static L2Flusher f;
  return f;
}

/// Times fn() (which queues work on nova's stream of device 0): `warmup`
/// untimed calls, then `iters` calls each between two CUDA events on that
/// stream. The host work inside fn() counts when the GPU waits for it.
inline Timing time_cuda(const std::function<void()>& fn, int warmup, int iters, bool flush_l2) {
  cudaStream_t s = nova_stream(0);
  for (int i = 0; i < warmup; ++i) fn();
  BENCH_CUDA_CHECK(cudaStreamSynchronize(s));
  cudaEvent_t start, stop;
  BENCH_CUDA_CHECK(cudaEventCreate(&start));
  BENCH_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> ms;
  ms.reserve(iters);
  for (int i = 0; i < iters; ++i) {
    if (flush_l2) l2_flusher().flush(s);
    BENCH_CUDA_CHECK(cudaEventRecord(start, s));
    fn();
    BENCH_CUDA_CHECK(cudaEventRecord(stop, s));
    BENCH_CUDA_CHECK(cudaEventSynchronize(stop));
    float t = 0;
    BENCH_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  BENCH_CUDA_CHECK(cudaGetLastError());
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  Timing r;
  r.iters = iters;
  r.l2_flushed = flush_l2;
  r.min_ms = ms.front();
  r.max_ms = ms.back();
  r.median_ms = (iters % 2) ? ms[iters / 2] : 0.5 * (ms[iters / 2 - 1] + ms[iters / 2]);
  return r;
}

/// GB/s (1e9 bytes per second) for `bytes` moved in `ms` milliseconds.
inline double gbps(double bytes, double ms) { return ms > 0 ? bytes / 1e9 / (ms / 1e3) : 0.0; }

/// The baseline of the bandwidth benchmarks: a device-to-device
/// cudaMemcpyAsync of `bytes` on nova's stream. Its bytes moved are read +
/// write = 2 x bytes.
inline Timing time_d2d_copy(size_t bytes, int warmup, int iters) {
  void *src = nullptr, *dst = nullptr;
  BENCH_CUDA_CHECK(cudaMalloc(&src, bytes));
  BENCH_CUDA_CHECK(cudaMalloc(&dst, bytes));
  BENCH_CUDA_CHECK(cudaMemset(src, 1, bytes));
  cudaStream_t s = nova_stream(0);
  Timing t = time_cuda([&] { BENCH_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s)); },
                       warmup, iters, /*flush_l2=*/true);
  BENCH_CUDA_CHECK(cudaStreamSynchronize(s));
  cudaFree(src);
  cudaFree(dst);
  return t;
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
  Report(std::string name, std::string op, std::string shape, std::string dtype, std::string math_mode)
      : name_(std::move(name)) {
    doc_["benchmark"] = name_;
    doc_["op"] = op;
    doc_["shape"] = shape;
    doc_["dtype"] = dtype;
    doc_["math_mode"] = math_mode;
    doc_["device"] = device_name(0);
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
