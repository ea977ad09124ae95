// kernels/cpu/simd_rows.h: elementwise math over a row of n values in whole
// SIMD packets, the last packet masked, for loops whose rows are short and
// of any length (the recurrent kernels' rows of H = 42-200 gate values).
//
// Why not Eigen arrays over the row: on a Map of unknown alignment Eigen
// runs scalar code up to the first aligned element and after the last whole
// packet, and its scalar exp and tanh are libm's. At H = 100 that is 4-19
// of every 100 elements per gate (a GRU step's gate math spent a third of
// its time there), and an element's bits depended on its address. Here
// every element takes the packet path: Eigen's packet exp and tanh
// (Eigen::internal::pexp / ptanh), the same functions for every position.
//
// Lanes<T> is the policy: for float on AVX / AVX-512 the packet of
// Eigen's packet_traits with masked loads and stores; otherwise (double,
// or a CPU without AVX) one value at a time with std::exp and std::tanh.
// Either way P supports + - * / with P and with T (GCC vector extensions),
// so one loop body serves both.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

namespace nova::cpu::simd_rows {

/// One value at a time (double, or float without AVX).
template <typename T>
struct Lanes {
  using P = T;
  static constexpr int kWidth = 1;
  static P load(const T* p, int) { return *p; }
  static void store(T* p, P v, int) { *p = v; }
  static P exp(P v) { return std::exp(v); }
  static P tanh(P v) { return std::tanh(v); }
};

#if defined(__AVX512F__) || defined(__AVX__)
/// float in Eigen's widest packet (16 lanes with AVX-512, 8 with AVX).
template <>
struct Lanes<float> {
  using P = Eigen::internal::packet_traits<float>::type;
  static constexpr int kWidth = int(sizeof(P) / sizeof(float));
  using Mask = std::conditional_t<kWidth == 16, uint16_t, uint8_t>;
  static Mask mask(int n) { return Mask((1u << n) - 1u); }
  /// n <= kWidth values at p; the lanes past n read as zero (never touched).
  static P load(const float* p, int n) {
    return n == kWidth ? Eigen::internal::ploadu<P>(p) : Eigen::internal::ploadu<P>(p, mask(n));
  }
  /// Stores the first n lanes of v at p.
  static void store(float* p, P v, int n) {
    if (n == kWidth) {
      Eigen::internal::pstoreu(p, v);
    } else {
      Eigen::internal::pstoreu(p, v, mask(n));
    }
  }
  static P exp(P v) { return Eigen::internal::pexp(v); }
  static P tanh(P v) { return Eigen::internal::ptanh(v); }
};
#endif

/// Calls body(j, n) for the packets of a row of `len` values: j = 0,
/// kWidth, 2 kWidth, ... and n = min(kWidth, len - j) values in each.
template <typename T, typename Body>
inline void for_each_packet(int64_t len, Body&& body) {
  constexpr int W = Lanes<T>::kWidth;
  for (int64_t j = 0; j < len; j += W) body(j, int(std::min<int64_t>(W, len - j)));
}

/// 1 / (1 + exp(-v)): exp(-v) = inf below v = -88 (float) gives 0.
template <typename T>
inline typename Lanes<T>::P sigmoid(typename Lanes<T>::P v) {
  return T(1) / (T(1) + Lanes<T>::exp(-v));
}

}  // namespace nova::cpu::simd_rows
