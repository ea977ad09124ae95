// kernels/cpu/segment.cpp: the per-segment row-sum loop (see segment.h).
// Work is cut into tasks of (segment, block of kCols columns); a task walks
// its segment's rows top to bottom, adding each row's block into a
// stack-allocated accumulator row: every read is a dense, vectorisable run
// of x, and no two tasks write the same output. Tasks go to OpenMP threads
// only above kParallelGrain elements (thread start-up costs more below).
#include "kernels/cpu/segment.h"

#include <algorithm>

#include "kernels/cpu/reduce_loop.h"

namespace nova::cpu {

namespace {

constexpr int64_t kCols = 512;  // 4 KB of double accumulators per task

template <typename T>
void segment_sum_rows(const T* x, T* out, const std::vector<int64_t>& offsets, int64_t m) {
  const int64_t k_segments = static_cast<int64_t>(offsets.size()) - 1;
  const int64_t blocks = (m + kCols - 1) / kCols;
  const int64_t tasks = k_segments * blocks;
  const bool parallel = offsets.back() * m >= kParallelGrain && tasks > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t k = task / blocks, c0 = (task % blocks) * kCols;
    const int64_t n = std::min(kCols, m - c0);
    acc_t<T> acc[kCols];
    std::fill(acc, acc + n, acc_t<T>(0));
    for (int64_t r = offsets[k]; r < offsets[k + 1]; ++r) {
      const T* row = x + r * m + c0;
      for (int64_t j = 0; j < n; ++j) acc[j] += row[j];
    }
    T* dst = out + k * m + c0;
    for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<T>(acc[j]);
  }
}

}  // namespace

void segment_sum(const Tensor& x, const std::vector<int64_t>& offsets, const Tensor& out) {
  dispatch_floating("segment_sum", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    segment_sum_rows<T>(x.data<T>(), out.data<T>(), offsets, out.size(1));
  });
}

}  // namespace nova::cpu
