// kernels/cpu/image_chunks.h: how the CPU convolutions (kernels/cpu/conv.cpp,
// kernels/cpu/symconv.cpp) cut a batch into work. Both lower a convolution
// to GEMMs over column blocks, and at small spatial sizes a GEMM per image
// is too narrow to pay for OpenBLAS's packing of the weight: consecutive
// images are chunked into one wide block. The batch is split into one
// contiguous range of images per thread, each with its own buffers, so a
// thread's result never depends on the team OpenMP gives (deterministic for
// a given thread count).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace nova::cpu {

/// body(thread, n, nb) for every chunk of nb <= chunk images starting at n,
/// the batch cut into `threads` contiguous ranges; thread t owns range t
/// whatever the team OpenMP actually gives.
template <typename Body>
void for_each_chunk(int64_t N, int64_t threads, int64_t chunk, Body&& body) {
  auto range = [&](int64_t t) {
    const int64_t begin = N * t / threads, end = N * (t + 1) / threads;
    for (int64_t n = begin; n < end; n += chunk) body(t, n, std::min(chunk, end - n));
  };
  if (threads <= 1) {
    range(0);
    return;
  }
#pragma omp parallel num_threads(int(threads))
  {
    const int64_t team = omp_get_num_threads();
    for (int64_t t = omp_get_thread_num(); t < threads; t += team) range(t);
  }
}

/// dst [rows, nb * cols] (image i at column i * cols) = rows x cols blocks of
/// nb consecutive images, image i's block at src + i * image_elems.
template <typename T>
void gather_chunk(const T* src, int64_t nb, int64_t rows, int64_t cols, int64_t image_elems, T* dst) {
  const int64_t ld = nb * cols;
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t r = 0; r < rows; ++r) {
      const T* from = src + i * image_elems + r * cols;
      std::copy(from, from + cols, dst + r * ld + i * cols);
    }
}

}  // namespace nova::cpu
