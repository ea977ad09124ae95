// kernels/cpu/random.h: fill tensors from the Philox stream (core/random.h
// fixes which block and lane feeds each element, so CUDA can match).
// `out` is contiguous; `offset` is the first block of the draw.
#pragma once

#include "core/tensor.h"

namespace nova::cpu {

/// out[i] = low + (high - low) * u_i, u_i uniform in [0, 1).
void fill_uniform(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high);
/// out[i] = mean + std * z_i, z_i standard normal (Box-Muller).
void fill_normal(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double std);
/// out[i] = low + (r_i mod (high - low)), r_i 64 random bits.
void fill_randint(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high);

}  // namespace nova::cpu
