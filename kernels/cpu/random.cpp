// kernels/cpu/random.cpp: Philox fills on the CPU (see kernels/random.h).
#include "kernels/random.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

#include "core/base/philox.h"
#include "kernels/cpu/loops.h"

namespace nova::cpu {

namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;

/// Uniform in [0, 1) from the words of a block: float takes one word per
/// element (4 per block), double two (2 per block), the layout CUDA uses.
template <typename T>
constexpr int64_t kPerBlock = std::is_same_v<T, double> ? 2 : 4;

template <typename T>
T unit_from_words(const uint32_t (&w)[4][kPhiloxBatch], int64_t block_in_batch, int64_t k) {
  if constexpr (std::is_same_v<T, double>) {
    return bits_to_unit_double(w[2 * k][block_in_batch], w[2 * k + 1][block_in_batch]);
  } else {
    return bits_to_unit_float(w[k][block_in_batch]);
  }
}
}  // namespace

void fill_uniform(const View& out, uint64_t seed, uint64_t offset, double low, double high) {
  dispatch_floating("rand", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t n = out.numel();
    const T lo = T(low), span = T(high - low);
    // element i comes from block offset + i / per_block; a task is a run of
    // whole batches of kPhiloxBatch blocks
    constexpr int64_t per_block = kPerBlock<T>, per_batch = per_block * kPhiloxBatch;
    constexpr int64_t kBatchesPerTask = 64;
    const int64_t batches = (n + per_batch - 1) / per_batch;
    const int64_t tasks = (batches + kBatchesPerTask - 1) / kBatchesPerTask;
    parallel_for(tasks, n > 65536, [&](int64_t t) {
      uint32_t w[4][kPhiloxBatch];
      const int64_t last = std::min(batches, (t + 1) * kBatchesPerTask);
      for (int64_t batch = t * kBatchesPerTask; batch < last; ++batch) {
        philox_blocks(seed, offset + uint64_t(batch * kPhiloxBatch), w);
        const int64_t i0 = batch * per_batch, len = std::min(per_batch, n - i0);
        if (len == per_batch) {
          // a whole batch: element b * per_block + k is word k of block b,
          // written with fixed strides the compiler vectorises
          for (int64_t k = 0; k < per_block; ++k)
            for (int64_t b = 0; b < kPhiloxBatch; ++b) p[i0 + b * per_block + k] = lo + span * unit_from_words<T>(w, b, k);
          continue;
        }
        for (int64_t e = 0; e < len; ++e) p[i0 + e] = lo + span * unit_from_words<T>(w, e / per_block, e % per_block);
      }
    });
  });
}

namespace {

/// sin and cos of 2 pi u for u in [0, 1) in double, as a branch-free loop
/// body the compiler vectorises (libm's sin/cos are scalar calls). The
/// quadrant comes from u itself: 4u = k + f with f in [-1/2, 1/2] is exact
/// (u has 24 bits), so the reduced angle y = f pi/2 carries one rounding.
/// Taylor polynomials on |y| <= pi/4 to degree 13/12: truncation below 2e-13,
/// and the result is rounded to float (6e-8) and checked against CUDA's
/// double sincos within 1e-6 (tests/test_random_cuda.cpp).
inline void sincos_turns(double u, double& s, double& c) {
  const double k = std::nearbyint(4.0 * u);
  const double y = (4.0 * u - k) * 1.5707963267948966;
  const double y2 = y * y;
  const double ps = y * (1 + y2 * (-1.0 / 6 + y2 * (1.0 / 120 + y2 * (-1.0 / 5040 + y2 * (1.0 / 362880 +
                    y2 * (-1.0 / 39916800 + y2 * (1.0 / 6227020800)))))));
  const double pc = 1 + y2 * (-0.5 + y2 * (1.0 / 24 + y2 * (-1.0 / 720 + y2 * (1.0 / 40320 +
                    y2 * (-1.0 / 3628800 + y2 * (1.0 / 479001600))))));
  const int q = int(k) & 3;  // 2 pi u = k pi/2 + y: rotate (sin y, cos y) by q quarter turns
  s = (q == 0) ? ps : (q == 1) ? pc : (q == 2) ? -ps : -pc;
  c = (q == 0) ? pc : (q == 1) ? -ps : (q == 2) ? -pc : ps;
}

/// float32 normals for pairs [p0, p0 + m) (p0 even): pair p takes lanes
/// 2(p % 2), 2(p % 2) + 1 of Philox block p / 2 (the layout CUDA uses), so
/// each block is computed once for two pairs, 16 blocks at a time
/// (philox_blocks). Box-Muller stays in double as on CUDA; log and sqrt run
/// on whole arrays (Eigen SIMD), sin/cos through sincos_turns.
void normal_float_pairs(float* p, int64_t n, int64_t p0, int64_t m, uint64_t seed, uint64_t offset,
                        double mean, double std) {
  constexpr int64_t kChunk = 256;
  static_assert(kChunk % (2 * kPhiloxBatch) == 0, "a batch of pairs never runs past the arrays");
  alignas(64) double u1[kChunk], u2[kChunk], r[kChunk], sn[kChunk], cs[kChunk];
  for (int64_t base = p0; base < p0 + m; base += kChunk) {
    const int64_t len = std::min<int64_t>(kChunk, p0 + m - base);  // even except at the very end
    for (int64_t j = 0; j < len; j += 2 * kPhiloxBatch) {
      uint32_t w[4][kPhiloxBatch];
      philox_blocks(seed, offset + uint64_t(base + j) / 2, w);
      // convert each word row in one pass, then interleave (two passes the
      // compiler vectorises; one loop with stride-2 stores stayed scalar and
      // took a fifth of the fill). A part batch at the end fills slots past
      // len, still inside the kChunk arrays, that nothing reads.
      alignas(64) double a1[kPhiloxBatch], a2[kPhiloxBatch], b1[kPhiloxBatch], b2[kPhiloxBatch];
      for (int64_t b = 0; b < kPhiloxBatch; ++b) {
        a1[b] = 1.0 - double(bits_to_unit_float(w[0][b]));  // in (0, 1]: log is finite
        a2[b] = double(bits_to_unit_float(w[1][b]));
        b1[b] = 1.0 - double(bits_to_unit_float(w[2][b]));
        b2[b] = double(bits_to_unit_float(w[3][b]));
      }
      for (int64_t b = 0; b < kPhiloxBatch; ++b) {
        u1[j + 2 * b] = a1[b];
        u1[j + 2 * b + 1] = b1[b];
        u2[j + 2 * b] = a2[b];
        u2[j + 2 * b + 1] = b2[b];
      }
    }
    Eigen::Map<Eigen::ArrayXd> rv(r, len);
    rv = (-2.0 * Eigen::Map<const Eigen::ArrayXd>(u1, len).log()).sqrt();
    for (int64_t j = 0; j < len; ++j) sincos_turns(u2[j], sn[j], cs[j]);
    // pairs whose both values exist, then (odd n) the last half pair
    float* out = p + 2 * base;
    const int64_t whole = std::min<int64_t>(len, (n - 2 * base) / 2);
    for (int64_t j = 0; j < whole; ++j) {
      out[2 * j] = float(mean + std * r[j] * cs[j]);
      out[2 * j + 1] = float(mean + std * r[j] * sn[j]);
    }
    if (whole < len) out[2 * whole] = float(mean + std * r[whole] * cs[whole]);
  }
}

}  // namespace

void fill_normal(const View& out, uint64_t seed, uint64_t offset, double mean, double std) {
  dispatch_floating("randn", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t n = out.numel();
    const int64_t pairs = (n + 1) / 2;
    if constexpr (std::is_same_v<T, float>) {
      constexpr int64_t kPairsPerTask = 4096;  // even, so tasks start on a block
      const int64_t tasks = (pairs + kPairsPerTask - 1) / kPairsPerTask;
      parallel_for(tasks, n > 65536, [&](int64_t t) {
        int64_t p0 = t * kPairsPerTask;
        normal_float_pairs(p, n, p0, std::min(kPairsPerTask, pairs - p0), seed, offset, mean, std);
      });
    } else {
      // float64: one block per pair; libm's sin/cos keep the 1e-12 parity
      // with CUDA's double sincos
      parallel_for(pairs, n > 65536, [&](int64_t pair) {
        auto w = philox_block(seed, offset + uint64_t(pair));
        double u1 = bits_to_unit_double(w[0], w[1]);
        double u2 = bits_to_unit_double(w[2], w[3]);
        double r = std::sqrt(-2.0 * std::log(1.0 - u1));  // 1 - u1 in (0, 1]: log is finite
        double theta = kTwoPi * u2;
        p[2 * pair] = T(mean + std * r * std::cos(theta));
        if (2 * pair + 1 < n) p[2 * pair + 1] = T(mean + std * r * std::sin(theta));
      });
    }
  });
}

void fill_randint(const View& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) {
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
