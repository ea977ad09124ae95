// kernels/cuda/random.h: fill device tensors from the Philox stream, the same
// functions as kernels/cpu/random.h. Every element computes its own Philox
// block (core/random.h fixes which block and lane feeds element i), so the
// values equal the CPU's for the same seed and offset. Plain C++: a build
// without CUDA links kernels/cuda/stub.cpp, whose versions throw.
// `out` is contiguous; `offset` is the first block of the draw.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace nova::cuda {

/// out[i] = low + (high - low) * u_i, u_i uniform in [0, 1).
void fill_uniform(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high);
/// out[i] = mean + std * z_i, z_i standard normal (Box-Muller in double).
void fill_normal(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double std);
/// out[i] = low + (r_i mod (high - low)), r_i 64 random bits.
void fill_randint(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high);

}  // namespace nova::cuda
