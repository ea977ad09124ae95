// kernels/cpu/matmul.cpp: batched GEMM on the CPU: batches and row blocks
// shared across threads, each block one cpu::gemm (gemm.h), which reads
// transposed views in place, so x @ w.t() never copies w.
#include "kernels/matmul.h"

#include <omp.h>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loops.h"

namespace nova::cpu {

namespace {

constexpr int64_t kParallelWork = int64_t(1) << 20;

}  // namespace

void matmul(const View& a, const View& b, const View& out) {
  dispatch_floating("matmul", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int nd = out.dim();
    const int64_t m = out.size(nd - 2), n = out.size(nd - 1), k = a.size(nd - 1);
    const int64_t batches = out.numel() / std::max<int64_t>(m * n, 1);
    if (out.numel() == 0) return;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    const int64_t ars = a.strides()[nd - 2], acs = a.strides()[nd - 1];
    const int64_t brs = b.strides()[nd - 2], bcs = b.strides()[nd - 1];
    // Threads split batches, then row blocks of one product, and only above
    // kParallelWork multiply-adds: below it the fork/join costs more than the
    // GEMM (Eigen's own threading, off via EIGEN_DONT_PARALLELIZE, made a
    // 128x32x32 product 5x slower on 2 cores).
    const int64_t work = batches * m * n * k;
    const int64_t threads = work >= kParallelWork ? omp_get_max_threads() : 1;
    const int64_t row_blocks = batches >= threads ? 1 : std::min<int64_t>(m, (threads + batches - 1) / batches);
    const int64_t block_rows = (m + row_blocks - 1) / row_blocks;
    parallel_for(batches * row_blocks, threads > 1, [&](int64_t task) {
      const int64_t i = task / row_blocks, r0 = (task % row_blocks) * block_rows;
      const int64_t rows = std::min(block_rows, m - r0);
      if (rows <= 0) return;
      const T* pai = pa + matrix_batch_offset(a, i) + r0 * ars;
      const T* pbi = pb + matrix_batch_offset(b, i);
      gemm<T>(rows, n, k, pai, ars, acs, pbi, brs, bcs, po + i * m * n + r0 * n, n);
    });
  });
}

// gemm reads any strides (kernels/cpu/gemm.h)
bool matmul_reads_in_place(const View&) { return true; }

}  // namespace nova::cpu
