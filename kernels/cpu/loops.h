// kernels/cpu/loops.h: the one strided loop every CPU elementwise kernel uses.
//
// for_each_row visits all elements of `shape` for K operands that each have
// their own strides (0 on broadcast dims). It first merges dims that are
// contiguous in every operand (so a dense tensor of any shape is one flat
// row), then calls row(n, offsets, steps) per innermost row: element j of the
// row is at offsets[k] + j * steps[k] in operand k. When every step is 1 the
// row body is a plain loop the compiler vectorises.
//
// Rows are split across OpenMP threads only when there is enough work
// (kParallelGrain elements): below that, thread start-up costs more than the
// op itself, and the thesis's models are small.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/base/shape.h"

namespace nova::cpu {

constexpr int64_t kParallelGrain = 32768;

/// body(i) for i in [0, n): split across OpenMP threads (static schedule)
/// when `parallel`, else a plain loop. Not `#pragma omp parallel for
/// if (parallel)`: with a false condition libgomp still sets up a one-thread
/// team, about 0.6 us per call on the development VM, which is more than a
/// small op costs, and a reduction that loops per output element paid it per
/// element (sum over dim 1 of [1024, 2] took 0.9 ms instead of 3 us).
template <typename Body>
inline void parallel_for(int64_t n, bool parallel, Body&& body) {
  if (parallel) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i);
  } else {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
}

/// body(chunk, first, length) for the chunks of kParallelGrain elements of
/// [0, n), threaded only when there are several: for flat kernels over
/// dense buffers (a chunk's index keys a per-chunk partial result).
template <typename Body>
inline void for_each_grain(int64_t n, Body&& body) {
  const int64_t chunks = (n + kParallelGrain - 1) / kParallelGrain;
  parallel_for(chunks, chunks > 1, [&](int64_t c) {
    const int64_t i0 = c * kParallelGrain;
    body(c, i0, std::min(kParallelGrain, n - i0));
  });
}

/// may_parallelize = false when row() writes shared state (an accumulator).
template <size_t K, typename RowFn>
void for_each_row(const Shape& shape, const std::array<Shape, K>& strides, RowFn&& row,
                  bool may_parallelize = true) {
  // Collapse: drop size-1 dims, merge dim i into i+1 when contiguous in all operands.
  int64_t sizes[kMaxDims];
  int64_t st[K][kMaxDims];
  int nd = 0;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (shape[d] == 0) return;
    if (nd > 0) {
      bool mergeable = true;
      for (size_t k = 0; k < K; ++k)
        mergeable = mergeable && st[k][nd - 1] == strides[k][d] * shape[d];
      if (mergeable) {
        sizes[nd - 1] *= shape[d];
        for (size_t k = 0; k < K; ++k) st[k][nd - 1] = strides[k][d];
        continue;
      }
    }
    sizes[nd] = shape[d];
    for (size_t k = 0; k < K; ++k) st[k][nd] = strides[k][d];
    ++nd;
  }
  std::array<int64_t, K> steps{}, zero{};
  if (nd == 0) {  // one element
    row(int64_t(1), zero, steps);
    return;
  }
  int64_t inner = sizes[nd - 1];
  for (size_t k = 0; k < K; ++k) steps[k] = st[k][nd - 1];
  int64_t outer = 1;
  for (int d = 0; d < nd - 1; ++d) outer *= sizes[d];

  // A single long row is cut into chunks so that it too can be shared.
  int64_t chunk = inner;
  if (outer == 1 && inner >= 2 * kParallelGrain) chunk = kParallelGrain;
  int64_t chunks_per_row = (inner + chunk - 1) / chunk;
  int64_t tasks = outer * chunks_per_row;
  bool parallel = may_parallelize && outer * inner >= kParallelGrain && tasks > 1;

  parallel_for(tasks, parallel, [&](int64_t task) {
    int64_t r = task / chunks_per_row;
    int64_t c0 = (task % chunks_per_row) * chunk;
    std::array<int64_t, K> offsets{};
    int64_t rem = r;
    for (int d = nd - 2; d >= 0; --d) {
      int64_t i = rem % sizes[d];
      rem /= sizes[d];
      for (size_t k = 0; k < K; ++k) offsets[k] += i * st[k][d];
    }
    for (size_t k = 0; k < K; ++k) offsets[k] += c0 * steps[k];
    row(std::min(chunk, inner - c0), offsets, steps);
  });
}

/// True when every step is 1 (the row is dense in every operand).
template <size_t K>
inline bool all_unit(const std::array<int64_t, K>& steps) {
  for (int64_t s : steps)
    if (s != 1) return false;
  return true;
}

}  // namespace nova::cpu
