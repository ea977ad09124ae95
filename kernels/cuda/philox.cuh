// kernels/cuda/philox.cuh: Philox-4x32-10 as a __host__ __device__ function,
// bit for bit the function of core/random.cpp (same multipliers, Weyl key
// increments and round structure), plus the block and bit-to-unit helpers of
// core/random.h. A GPU thread calls philox_block(seed, block) for the block
// that feeds its element and gets the CPU's four words.
// Without nvcc (a .cpp including this) the qualifiers vanish, so host code
// and tests can compare it against nova::philox4x32_10 directly.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define NOVA_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define NOVA_HOST_DEVICE inline
#endif

namespace nova::cuda {

/// Four 32-bit words (std::array is not usable in device code).
struct PhiloxWords {
  uint32_t w[4];
};

/// The raw Philox-4x32 function with 10 rounds (Salmon et al., SC'11).
NOVA_HOST_DEVICE PhiloxWords philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                           uint32_t k0, uint32_t k1) {
  // Multipliers and Weyl key increments from the Philox paper (core/random.cpp).
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(kM0) * c0;  // hi0:lo0
    const uint64_t p1 = uint64_t(kM1) * c2;  // hi1:lo1
    const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += kW0;
    k1 += kW1;
  }
  return PhiloxWords{{c0, c1, c2, c3}};
}

/// The 4 words of block `block` of the stream with key `seed`
/// (counter = {block lo, block hi, 0, 0}), as nova::philox_block.
NOVA_HOST_DEVICE PhiloxWords philox_block(uint64_t seed, uint64_t block) {
  return philox4x32_10(uint32_t(block), uint32_t(block >> 32), 0u, 0u, uint32_t(seed),
                       uint32_t(seed >> 32));
}

/// 24 random bits as a float in [0, 1) (nova::bits_to_unit_float).
NOVA_HOST_DEVICE float bits_to_unit_float(uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }

/// 53 random bits as a double in [0, 1) (nova::bits_to_unit_double).
NOVA_HOST_DEVICE double bits_to_unit_double(uint32_t hi, uint32_t lo) {
  return double(((uint64_t(hi) << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace nova::cuda
