// kernels/cpu/random.cpp: Philox fills on the CPU (see kernels/cpu/random.h).
#include "kernels/cpu/random.h"

#include <cmath>

#include "core/random.h"

namespace nova::cpu {

namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;

/// Uniform in [0, 1) for element i of a draw starting at block `offset`.
template <typename T>
T unit_uniform(uint64_t seed, uint64_t offset, int64_t i) {
  if constexpr (std::is_same_v<T, double>) {
    auto w = philox_block(seed, offset + uint64_t(i) / 2);
    int lane = 2 * (i % 2);
    return bits_to_unit_double(w[lane], w[lane + 1]);
  } else {
    auto w = philox_block(seed, offset + uint64_t(i) / 4);
    return bits_to_unit_float(w[i % 4]);
  }
}
}  // namespace

void fill_uniform(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high) {
  dispatch_floating("rand", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t n = out.numel();
    const T lo = T(low), span = T(high - low);
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; ++i) p[i] = lo + span * unit_uniform<T>(seed, offset, i);
  });
}

void fill_normal(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double std) {
  dispatch_floating("randn", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t n = out.numel();
    const int64_t pairs = (n + 1) / 2;
#pragma omp parallel for if (n > 65536)
    for (int64_t pair = 0; pair < pairs; ++pair) {
      double u1, u2;  // Box-Muller in double for both dtypes: CUDA does the same
      if constexpr (std::is_same_v<T, double>) {
        auto w = philox_block(seed, offset + uint64_t(pair));
        u1 = bits_to_unit_double(w[0], w[1]);
        u2 = bits_to_unit_double(w[2], w[3]);
      } else {
        auto w = philox_block(seed, offset + uint64_t(pair) / 2);
        int lane = 2 * (pair % 2);
        u1 = bits_to_unit_float(w[lane]);
        u2 = bits_to_unit_float(w[lane + 1]);
      }
      double r = std::sqrt(-2.0 * std::log(1.0 - u1));  // 1 - u1 in (0, 1]: log is finite
      double theta = kTwoPi * u2;
      p[2 * pair] = T(mean + std * r * std::cos(theta));
      if (2 * pair + 1 < n) p[2 * pair + 1] = T(mean + std * r * std::sin(theta));
    }
  });
}

void fill_randint(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) {
  const uint64_t range = uint64_t(high - low);
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail("randint: not defined for bool");
    } else {
      T* p = out.data<T>();
      const int64_t n = out.numel();
      for (int64_t i = 0; i < n; ++i) {
        auto w = philox_block(seed, offset + uint64_t(i) / 2);
        int lane = 2 * (i % 2);
        uint64_t bits = (uint64_t(w[lane]) << 32) | w[lane + 1];
        p[i] = T(low + int64_t(bits % range));
      }
    }
  });
}

}  // namespace nova::cpu
