// core/base/philox.h: the Philox-4x32-10 counter-based generator and nova's
// stream convention, shared by the CPU kernels (kernels/cpu/random.cpp) and the CUDA
// kernels (kernels/cuda/random.cu).
//
// Philox maps (counter, key) -> 4 random 32-bit words with no hidden state, so
// element i of a random tensor can be computed independently of element i-1:
// that is what lets a GPU thread produce exactly the CPU's numbers.
//
// Convention: a Generator (core/random.h) holds a 64-bit seed (the Philox
// key) and an offset (how many 128-bit blocks have been used). A draw of n values takes the
// blocks offset .. offset+blocks(n)-1 and advances the offset past them.
// Which block and lane feeds element i is fixed per kind of draw:
//   uniform float32  block i/4, lane i%4; u = (w >> 8) * 2^-24 in [0, 1)
//   uniform float64  block i/2, lanes 2(i%2), 2(i%2)+1 -> 53 bits
//   normal           Box-Muller on a pair of uniforms (float32: 2 pairs per
//                    block; float64: 1 pair per block); element 2p is the
//                    cosine branch, 2p+1 the sine branch of pair p
//   integers         block i/2, two lanes -> 64 bits, reduced modulo the range
//                    (bias < range/2^64: negligible for any realistic range)
#pragma once

#include <array>
#include <cstdint>

namespace nova {

/// The raw Philox-4x32 function with 10 rounds (Salmon et al., SC'11).
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

/// The 4 words of block `block` of the stream with key `seed`
/// (counter = {block lo, block hi, 0, 0}).
inline std::array<uint32_t, 4> philox_block(uint64_t seed, uint64_t block) {
  return philox4x32_10({uint32_t(block), uint32_t(block >> 32), 0u, 0u},
                       {uint32_t(seed), uint32_t(seed >> 32)});
}

/// How many blocks philox_blocks computes in one call.
inline constexpr int kPhiloxBatch = 16;

/// Blocks first, first + 1, ..., first + kPhiloxBatch - 1 of the stream with
/// key `seed`: words[w][j] is word w of block first + j, the same values as
/// philox_block. One block is a chain of 10 dependent multiply rounds; 16
/// independent chains side by side keep the multipliers busy. With AVX-512
/// (or AVX2) the 16 chains run in SIMD registers: 2.1 ns per block on the
/// development VM (AMD EPYC), against 3.9 for the scalar loop the compiler
/// makes of the same rounds. CPU fills use it.
void philox_blocks(uint64_t seed, uint64_t first, uint32_t (&words)[4][kPhiloxBatch]);


/// Blocks used by a draw of n values of each kind (the convention above);
/// the CPU and CUDA kernels and the Generator bookkeeping all use these.
inline uint64_t uniform_blocks(bool is_double, int64_t n) {
  return is_double ? (uint64_t(n) + 1) / 2 : (uint64_t(n) + 3) / 4;
}
inline uint64_t normal_blocks(bool is_double, int64_t n) {
  uint64_t pairs = (uint64_t(n) + 1) / 2;
  return is_double ? pairs : (pairs + 1) / 2;
}
inline uint64_t integer_blocks(int64_t n) { return (uint64_t(n) + 1) / 2; }

/// 24 random bits as a float in [0, 1).
inline float bits_to_unit_float(uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }
/// 53 random bits as a double in [0, 1).
inline double bits_to_unit_double(uint32_t hi, uint32_t lo) {
  return double(((uint64_t(hi) << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace nova
