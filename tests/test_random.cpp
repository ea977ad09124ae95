// tests/test_random.cpp: Philox-4x32-10 against the Random123 known-answer
// vectors, and the stream convention of core/random.h (seeded, offset-based,
// element i independent of the tensor size).
#include <cmath>
#include <random>

#include "tests/test_util.h"

using namespace nova;

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[random]") {
  using W = std::array<uint32_t, 4>;
  REQUIRE(philox4x32_10({0, 0, 0, 0}, {0, 0}) == W{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  REQUIRE(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
          W{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  REQUIRE(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
          W{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("the same seed gives the same numbers and advances the offset", "[random]") {
  Generator a(42), b(42);
  REQUIRE(rand({10}, kFloat32, kCPU, &a).to_vector<float>() == rand({10}, kFloat32, kCPU, &b).to_vector<float>());
  REQUIRE(a.offset() == 3);  // 10 floats use ceil(10 / 4) blocks
  Tensor next = rand({10}, kFloat32, kCPU, &a);
  Tensor again = rand({10}, kFloat32, kCPU, &b);
  REQUIRE(next.to_vector<float>() == again.to_vector<float>());
  Generator c(43);
  REQUIRE(rand({10}, kFloat32, kCPU, &c).to_vector<float>() != next.to_vector<float>());
}

TEST_CASE("element i of a draw does not depend on the draw's size", "[random]") {
  Generator a(7), b(7);
  auto small = randn({5}, kFloat64, kCPU, &a).to_vector<double>();
  auto large = randn({1001}, kFloat64, kCPU, &b).to_vector<double>();
  for (int i = 0; i < 5; ++i) REQUIRE(small[i] == large[i]);
  Generator c(7), d(7);
  auto us = rand({3}, kFloat32, kCPU, &c).to_vector<float>();
  auto ul = rand({100}, kFloat32, kCPU, &d).to_vector<float>();
  for (int i = 0; i < 3; ++i) REQUIRE(us[i] == ul[i]);
  // float32 normals: 80 values end in a part batch of 8 pairs (converted
  // one by one), 512 in whole batches (converted a word row at a time);
  // both lengths keep the log and sqrt in whole SIMD packets
  Generator e(7), f(7);
  auto ns = randn({80}, kFloat32, kCPU, &e).to_vector<float>();
  auto nl = randn({512}, kFloat32, kCPU, &f).to_vector<float>();
  for (int i = 0; i < 80; ++i) REQUIRE(ns[size_t(i)] == nl[size_t(i)]);
}

TEST_CASE("uniform float32 uses the top 24 bits of lane i % 4 of block i / 4", "[random]") {
  Generator g(123);
  g.set_offset(5);
  auto u = rand({6}, kFloat32, kCPU, &g).to_vector<float>();
  auto block5 = philox_block(123, 5), block6 = philox_block(123, 6);
  REQUIRE(u[0] == float(block5[0] >> 8) / 16777216.0f);
  REQUIRE(u[3] == float(block5[3] >> 8) / 16777216.0f);
  REQUIRE(u[5] == float(block6[1] >> 8) / 16777216.0f);
}

TEST_CASE("random tensors have the right moments and ranges", "[random]") {
  Generator g(2024);
  const int64_t n = 200000;
  for (DType dt : {kFloat32, kFloat64}) {
    auto u = uniform({n}, -2.0, 3.0, dt, kCPU, &g).to_vector<double>();
    double lo = 1e9, hi = -1e9, mean = 0;
    for (double v : u) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      mean += v / n;
    }
    REQUIRE(lo >= -2.0);
    REQUIRE(hi < 3.0);
    REQUIRE(mean == Approx(0.5).margin(0.02));
    auto z = normal({n}, 1.0, 2.0, dt, kCPU, &g).to_vector<double>();
    double m = 0, v2 = 0;
    for (double v : z) m += v / n;
    for (double v : z) v2 += (v - m) * (v - m) / n;
    REQUIRE(m == Approx(1.0).margin(0.03));
    REQUIRE(std::sqrt(v2) == Approx(2.0).epsilon(0.02));
  }
  auto r = randint(-3, 4, {n}, kInt64, kCPU, &g).to_vector<int64_t>();
  std::vector<int> counts(7, 0);
  for (int64_t v : r) {
    REQUIRE(v >= -3);
    REQUIRE(v < 4);
    ++counts[v + 3];
  }
  for (int c : counts) REQUIRE(c == Approx(n / 7.0).epsilon(0.05));
  auto b = bernoulli({n}, 0.3, kFloat32, kCPU, &g).to_vector<float>();
  double ones = 0;
  for (float v : b) ones += v;
  REQUIRE(ones / n == Approx(0.3).margin(0.01));
}

TEST_CASE("randperm is a permutation", "[random]") {
  Generator g(5);
  auto p = randperm(100, kCPU, &g).to_vector<int64_t>();
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) REQUIRE(sorted[i] == i);
  REQUIRE(p != sorted);
}

TEST_CASE("manual_seed makes the default generator repeatable", "[random]") {
  manual_seed(99);
  auto a = randn({4}).to_vector<float>();
  manual_seed(99);
  auto b = randn({4}).to_vector<float>();
  REQUIRE(a == b);
}

// The float32 CPU path computes Box-Muller with SIMD log/sqrt and a polynomial
// sin/cos; CUDA uses libm-accurate double math. Both must agree with the
// scalar double formula on the same Philox bits to well within the parity
// bound of 1e-6.
TEST_CASE("randn float32 equals scalar double Box-Muller on the same Philox bits", "[random]") {
  const int64_t n = 100001;  // odd: the last pair keeps only its cosine half
  Generator gen(1234);
  uint64_t offset = gen.offset();
  Tensor x = randn({n}, kFloat32, kCPU, &gen);
  std::vector<double> got = x.to_vector<double>();
  double worst = 0;
  for (int64_t pair = 0; pair < (n + 1) / 2; ++pair) {
    auto w = philox_block(gen.seed(), offset + uint64_t(pair) / 2);
    int lane = 2 * int(pair % 2);
    double u1 = bits_to_unit_float(w[lane]), u2 = bits_to_unit_float(w[lane + 1]);
    double r = std::sqrt(-2.0 * std::log(1.0 - u1));
    double theta = 6.283185307179586476925286766559 * u2;
    worst = std::max(worst, std::abs(got[2 * pair] - r * std::cos(theta)));
    if (2 * pair + 1 < n) worst = std::max(worst, std::abs(got[2 * pair + 1] - r * std::sin(theta)));
  }
  INFO("worst absolute difference " << worst);
  REQUIRE(worst < 5e-7);  // float rounding of values up to ~5.6 is ~3.4e-7
}

TEST_CASE("philox_blocks gives philox_block's words, across the 32-bit counter boundary", "[random]") {
  // the SIMD rounds (AVX-512 or AVX2 builds) against the scalar function:
  // random keys and counters, so every lane's multiply and blend is exercised
  std::mt19937_64 pick(99);
  for (int draw = 0; draw < 500; ++draw) {
    const uint64_t seed = pick(), first = pick();
    uint32_t w[4][kPhiloxBatch];
    philox_blocks(seed, first, w);
    for (int j = 0; j < kPhiloxBatch; ++j) {
      auto ref = philox_block(seed, first + uint64_t(j));
      for (int k = 0; k < 4; ++k) REQUIRE(w[k][j] == ref[k]);
    }
  }
  for (uint64_t seed : {uint64_t(0), uint64_t(0x2545F4914F6CDD1DULL), ~uint64_t(0)}) {
    for (uint64_t first : {uint64_t(0), uint64_t(5), (uint64_t(1) << 32) - 7, ~uint64_t(0) - 20}) {
      uint32_t w[4][kPhiloxBatch];
      philox_blocks(seed, first, w);
      for (int j = 0; j < kPhiloxBatch; ++j) {
        auto ref = philox_block(seed, first + uint64_t(j));
        INFO("seed " << seed << ", block " << first + uint64_t(j));
        for (int k = 0; k < 4; ++k) REQUIRE(w[k][j] == ref[k]);
      }
    }
  }
}
