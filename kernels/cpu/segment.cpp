// kernels/cpu/segment.cpp: the per-segment loops (see kernels/segment.h).
// segment_sum: work is cut into tasks of (segment, block of kCols columns); a
// task walks its segment's rows top to bottom, adding each row's block into a
// stack-allocated accumulator row: every read is a dense, vectorisable run
// of x, and no two tasks write the same output. Tasks go to OpenMP threads
// only from kSumParallel elements: one thread sums [1024, 128] float32 in
// about 40 us, less than a fork/join costs on a busy 2-core machine.
// segment_outer: the K GEMMs share ONE parallel region, as tasks of
// (segment, block of output rows), instead of one region per GEMM. On a busy
// machine a fork/join can wait a whole time slice for a descheduled thread,
// so grad_split's cost there follows its count of parallel regions: for the
// 8-Gaussian discriminator (bench/bench_grad_split.cpp, 2 threads) a plain
// backward makes 10, the fused split 11 (13 with one region per GEMM and
// parallel small sums, which made it 1.3x one backward on the loaded
// machine instead of 1.1x).
#include "kernels/segment.h"

#include <omp.h>

#include <algorithm>
#include <numeric>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/reduce_loop.h"

namespace nova::cpu {

namespace {

constexpr int64_t kCols = 512;  // 4 KB of double accumulators per task
constexpr int64_t kSumParallel = int64_t(1) << 20;

template <typename T>
void segment_sum_rows(const T* x, T* out, const std::vector<int64_t>& offsets, int64_t m) {
  const int64_t k_segments = static_cast<int64_t>(offsets.size()) - 1;
  const int64_t blocks = (m + kCols - 1) / kCols;
  const int64_t tasks = k_segments * blocks;
  const bool parallel = offsets.back() * m >= kSumParallel && tasks > 1;
  parallel_for(tasks, parallel, [&](int64_t task) {
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
  });
}

constexpr int64_t kParallelWork = int64_t(1) << 20;  // multiply-adds, as cpu::matmul

template <typename T>
void segment_outer_typed(const T* a, const T* b, T* out, const std::vector<int64_t>& offsets, int64_t m,
                         int64_t n) {
  const int64_t k_segments = static_cast<int64_t>(offsets.size()) - 1;
  const int64_t work = offsets.back() * m * n;
  const int64_t threads = work >= kParallelWork ? omp_get_max_threads() : 1;
  // K * row_blocks = lcm(K, threads) tasks: equal segments share the threads
  // evenly, and the GEMM packs each b_k as few times as possible (once per task)
  const int64_t row_blocks = std::min<int64_t>(std::max<int64_t>(m, 1), threads / std::gcd(k_segments, threads));
  const int64_t block_rows = (m + row_blocks - 1) / row_blocks;
  auto task = [&](int64_t t) {
    const int64_t k = t / row_blocks, r0 = (t % row_blocks) * block_rows;
    const int64_t rows = std::min(block_rows, m - r0);
    if (rows <= 0) return;
    const int64_t first = offsets[k], count = offsets[k + 1] - offsets[k];
    // out_k[r0 : r0 + rows] = a_k[:, r0 : r0 + rows]^T b_k, a_k = a's rows [first, first + count)
    gemm<T>(rows, n, count, a + first * m + r0, 1, m, b + first * n, n, 1, out + k * m * n + r0 * n, n);
  };
  const int64_t tasks = k_segments * row_blocks;
  if (threads > 1) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) task(t);
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  }
}

}  // namespace

void segment_outer(const View& a, const View& b, const std::vector<int64_t>& offsets,
                   const View& out) {
  dispatch_floating("segment_outer", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    segment_outer_typed<T>(a.data<T>(), b.data<T>(), out.data<T>(), offsets, a.size(1), b.size(1));
  });
}

void segment_sum(const View& x, const std::vector<int64_t>& offsets, const View& out) {
  dispatch_floating("segment_sum", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    segment_sum_rows<T>(x.data<T>(), out.data<T>(), offsets, out.size(1));
  });
}

}  // namespace nova::cpu
