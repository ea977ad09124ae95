// core/base/philox.cpp: Philox-4x32-10, one block and 16 side by side (see philox.h).
#include "core/base/philox.h"

namespace nova {

namespace {
// Multipliers and Weyl key increments from the Philox paper.
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = uint64_t(a) * b;
  hi = uint32_t(p >> 32);
  lo = uint32_t(p);
}
}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c[0], hi0, lo0);
    mulhilo(kM1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kW0;
    k[1] += kW1;
  }
  return c;
}

void philox_blocks(uint64_t seed, uint64_t first, uint32_t (&words)[4][kPhiloxBatch]) {
  uint32_t(&c0)[kPhiloxBatch] = words[0];
  uint32_t(&c1)[kPhiloxBatch] = words[1];
  uint32_t(&c2)[kPhiloxBatch] = words[2];
  uint32_t(&c3)[kPhiloxBatch] = words[3];
  for (int j = 0; j < kPhiloxBatch; ++j) {
    const uint64_t block = first + uint64_t(j);
    c0[j] = uint32_t(block);
    c1[j] = uint32_t(block >> 32);
    c2[j] = 0;
    c3[j] = 0;
  }
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    for (int j = 0; j < kPhiloxBatch; ++j) {  // the same round as philox4x32_10, per block
      const uint64_t p0 = uint64_t(kM0) * c0[j];
      const uint64_t p1 = uint64_t(kM1) * c2[j];
      const uint32_t n0 = uint32_t(p1 >> 32) ^ c1[j] ^ k0;
      const uint32_t n2 = uint32_t(p0 >> 32) ^ c3[j] ^ k1;
      c1[j] = uint32_t(p1);
      c3[j] = uint32_t(p0);
      c0[j] = n0;
      c2[j] = n2;
    }
    k0 += kW0;
    k1 += kW1;
  }
}

}  // namespace nova
