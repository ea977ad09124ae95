// bench/common.h: what every CUDA benchmark shares, on top of bench/report.h
// (command line, Timing, validation, table + JSON): CUDA-event timing (warm-up, N timed iterations,
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

#include "bench/report.h"
#include "kernels/cuda/runtime.h"

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
  return summarize(std::move(ms), flush_l2);
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

}  // namespace nova::bench
