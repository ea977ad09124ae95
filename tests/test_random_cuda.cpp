// tests/test_random_cuda.cpp: the GPU's Philox stream equals the CPU's
// (kernels/cuda/random.cu, kernels/cuda/philox.cuh). For the same seed and
// offset, rand/uniform/randint/bernoulli on cuda:0 give bit-identical values
// and randn/normal agree within a stated bound, and a draw advances the
// Generator's offset by the same number of blocks on both devices.
//
// The normal bound: both devices run Box-Muller in double on the same
// uniforms; only the device's double log/sqrt/cos/sin differ from glibc's,
// by at most 2 ulp (CUDA math API), i.e. ~5e-16 relative. float32 results
// are that double rounded to float, which can land on the other side of a
// rounding boundary: one float ulp, 1.2e-7 relative; we allow 1e-6. float64
// results allow 1e-12 (the parity bound of the backend).
#include "kernels/cuda/philox.cuh"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

constexpr double kNormalTolFloat32 = 1e-6;
constexpr double kNormalTolFloat64 = 1e-12;

double normal_tolerance(DType dt) { return dt == kFloat64 ? kNormalTolFloat64 : kNormalTolFloat32; }

/// Two generators at the same seed and offset: one for each device.
struct GeneratorPair {
  Generator cpu, gpu;
  GeneratorPair(uint64_t seed, uint64_t offset) : cpu(seed), gpu(seed) {
    cpu.set_offset(offset);
    gpu.set_offset(offset);
  }
  void require_same_offset() const { REQUIRE(cpu.offset() == gpu.offset()); }
};

// offset 2^32 - 3: draws cross into the high word of the Philox counter
const uint64_t kOffsets[] = {0, 5, (uint64_t(1) << 32) - 3};
const uint64_t kSeeds[] = {0, 42, 0xDEADBEEFCAFEF00DULL};

}  // namespace

TEST_CASE("philox.cuh computes core/random.cpp's Philox function on the host", "[cuda][random]") {
  for (uint64_t seed : kSeeds) {
    for (uint64_t block : {uint64_t(0), uint64_t(1), uint64_t(12345), (uint64_t(1) << 32) + 7, ~uint64_t(0)}) {
      auto expected = philox_block(seed, block);
      auto got = cuda::philox_block(seed, block);
      for (int lane = 0; lane < 4; ++lane) REQUIRE(got.w[lane] == expected[lane]);
    }
  }
}

TEST_CASE("rand and uniform on cuda equal the CPU bit for bit", "[cuda][random]") {
  for (DType dt : {kFloat32, kFloat64}) {
    for (uint64_t seed : kSeeds) {
      for (uint64_t offset : kOffsets) {
        for (int64_t n : odd_sizes()) {
          INFO(dtype_name(dt) << ", seed " << seed << ", offset " << offset << ", n = " << n);
          GeneratorPair g(seed, offset);
          require_parity(rand({n}, dt, kCPU, &g.cpu), rand({n}, dt, gpu(), &g.gpu), 0.0);
          g.require_same_offset();
          require_parity(uniform({n}, -2.0, 3.0, dt, kCPU, &g.cpu), uniform({n}, -2.0, 3.0, dt, gpu(), &g.gpu),
                         0.0);
          g.require_same_offset();
        }
      }
    }
    INFO(dtype_name(dt) << ", 2-d shape");
    GeneratorPair g(7, 0);
    require_parity(rand({33, 17}, dt, kCPU, &g.cpu), rand({33, 17}, dt, gpu(), &g.gpu), 0.0);
    g.require_same_offset();
  }
}

TEST_CASE("randn and normal on cuda equal the CPU within the Box-Muller bound", "[cuda][random]") {
  for (DType dt : {kFloat32, kFloat64}) {
    for (uint64_t seed : kSeeds) {
      for (uint64_t offset : kOffsets) {
        for (int64_t n : odd_sizes()) {  // odd n: the last pair's sine branch is dropped on both
          INFO(dtype_name(dt) << ", seed " << seed << ", offset " << offset << ", n = " << n);
          GeneratorPair g(seed, offset);
          require_parity(randn({n}, dt, kCPU, &g.cpu), randn({n}, dt, gpu(), &g.gpu), normal_tolerance(dt));
          g.require_same_offset();
          require_parity(normal({n}, 1.5, 0.25, dt, kCPU, &g.cpu), normal({n}, 1.5, 0.25, dt, gpu(), &g.gpu),
                         normal_tolerance(dt));
          g.require_same_offset();
        }
      }
    }
  }
}

TEST_CASE("randint on cuda equals the CPU exactly", "[cuda][random]") {
  for (DType dt : {kInt64, kInt32, kFloat32, kFloat64}) {
    for (uint64_t offset : kOffsets) {
      for (int64_t n : odd_sizes()) {
        INFO(dtype_name(dt) << ", offset " << offset << ", n = " << n);
        GeneratorPair g(123, offset);
        require_parity(randint(-7, 10, {n}, dt, kCPU, &g.cpu), randint(-7, 10, {n}, dt, gpu(), &g.gpu), 0.0);
        g.require_same_offset();
      }
    }
  }
  // a range wider than 32 bits uses all 64 random bits
  GeneratorPair g(9, 3);
  const int64_t big = int64_t(1) << 40;
  require_parity(randint(-big, big, {1023}, kInt64, kCPU, &g.cpu), randint(-big, big, {1023}, kInt64, gpu(), &g.gpu),
                 0.0);
  g.require_same_offset();
  REQUIRE_THROWS_NOVA(randint(0, 2, {4}, kBool, gpu()), "randint: not defined for bool");
  REQUIRE_THROWS_NOVA(rand({4}, kInt64, gpu()), "rand: expected a floating dtype");
  REQUIRE_THROWS_NOVA(randn({4}, kInt32, gpu()), "randn: expected a floating dtype");
}

TEST_CASE("bernoulli and the *_like factories on cuda equal the CPU", "[cuda][random]") {
  for (DType dt : {kFloat32, kFloat64, kBool, kInt64}) {
    for (int64_t n : odd_sizes()) {
      INFO(dtype_name(dt) << ", n = " << n);
      GeneratorPair g(2024, 11);
      require_parity(bernoulli({n}, 0.3, dt, kCPU, &g.cpu), bernoulli({n}, 0.3, dt, gpu(), &g.gpu), 0.0);
      g.require_same_offset();
    }
  }
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    Tensor probs = rand({5, 9}, dt);
    GeneratorPair g(77, 0);
    require_parity(bernoulli(probs, &g.cpu), bernoulli(probs.to(gpu()), &g.gpu), 0.0);
    g.require_same_offset();
    Tensor like = zeros({4, 6}, dt);
    require_parity(rand_like(like, &g.cpu), rand_like(like.to(gpu()), &g.gpu), 0.0);
    require_parity(randn_like(like, &g.cpu), randn_like(like.to(gpu()), &g.gpu), normal_tolerance(dt));
    g.require_same_offset();
  }
}

TEST_CASE("the default generator advances identically for cuda and CPU draws", "[cuda][random]") {
  // interleaved draws of every kind: the offsets after each must agree
  manual_seed(31337);
  std::vector<Tensor> on_cpu = {rand({7}), randn({1023}, kFloat64), randint(0, 5, {9}), rand({1}, kFloat64),
                                randn({65537})};
  const uint64_t cpu_offset = default_generator().offset();
  manual_seed(31337);
  std::vector<Tensor> on_gpu = {rand({7}, kFloat32, gpu()), randn({1023}, kFloat64, gpu()),
                                randint(0, 5, {9}, kInt64, gpu()), rand({1}, kFloat64, gpu()),
                                randn({65537}, kFloat32, gpu())};
  REQUIRE(default_generator().offset() == cpu_offset);
  for (size_t i = 0; i < on_cpu.size(); ++i) {
    INFO("draw " << i);
    const bool is_normal = i == 1 || i == 4;
    require_parity(on_cpu[i], on_gpu[i], is_normal ? normal_tolerance(on_cpu[i].dtype()) : 0.0);
  }
}
