// tests/test_runtime_cuda.cpp: the CUDA runtime: devices, streams, the
// caching allocator, host<->device copies and Tensor::to(device) with its
// gradient. Needs no kernel beyond the copies (contiguous() of a CUDA
// tensor is avoided: sources are made contiguous on the CPU).
#include <cstdint>
#include <thread>
#include <vector>

#include "kernels/cuda/runtime.h"
#include "tests/cuda_util.h"

using namespace nova;
using nova::test::gpu;
using nova::test::values;

namespace {

constexpr size_t kMiB = size_t(1) << 20;

/// Values that are exact in every dtype: bool gets 0/1, the others small integers
/// and halves (exact in float32).
std::vector<double> pattern(int64_t n, DType dtype) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = dtype == kBool ? double(i % 3 == 0) : is_floating(dtype) ? (i % 1001) * 0.5 - 250 : double(i % 1001) - 500;
  return v;
}

/// CPU -> cuda:0 -> CPU, requiring identical values, shape and dtype.
void require_round_trip(const Tensor& x) {
  Tensor on_gpu = x.to(gpu());
  REQUIRE(on_gpu.is_cuda());
  REQUIRE(on_gpu.shape() == x.shape());
  REQUIRE(on_gpu.dtype() == x.dtype());
  REQUIRE(on_gpu.is_contiguous());
  Tensor back = on_gpu.to(kCPU);
  REQUIRE(back.is_cpu());
  REQUIRE(back.shape() == x.shape());
  REQUIRE(back.dtype() == x.dtype());
  REQUIRE(values(back) == values(x));
}

}  // namespace

// ---- devices and streams ----

TEST_CASE("set_device accepts every device that answers and refuses others", "[cuda][runtime]") {
  int count = cuda::device_count();
  REQUIRE(count >= 1);
  REQUIRE(cuda::built_with_cuda());
  for (int d = 0; d < count; ++d) {
    cuda::set_device(d);
    REQUIRE(cuda::current_device() == d);
  }
  cuda::set_device(0);
  REQUIRE_THROWS_NOVA(cuda::set_device(-1), "set_device: no device cuda:-1");
  REQUIRE_THROWS_NOVA(cuda::set_device(count), "set_device: no device cuda:" + std::to_string(count));
  REQUIRE(cuda::current_device() == 0);
}

TEST_CASE("each device has one nova stream, the same from every thread", "[cuda][runtime]") {
  void* first = cuda::stream(0);
  REQUIRE(first != nullptr);
  std::vector<void*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&seen, i] { seen[i] = cuda::stream(0); });
  for (auto& t : threads) t.join();
  for (void* s : seen) REQUIRE(s == first);
  REQUIRE_THROWS_NOVA(cuda::stream(cuda::device_count()), "stream: no device");
  cuda::synchronize(0);
  cuda::synchronize();
}

// ---- copies through Tensor::to ----

TEST_CASE("host-device round trips keep every byte (0, 1, 1000 bytes, 3 MiB staged, 21 MiB chunked)",
          "[cuda][runtime]") {
  // bool is one byte per element: the sizes below are bytes
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(1000), int64_t(3 * kMiB)}) {
    INFO("bytes " << n);
    require_round_trip(from_vector(pattern(n, kBool), {n}, kBool));
  }
  // more than two 8 MiB staging chunks, and not a multiple of the chunk
  int64_t n = int64_t(21 * kMiB / 4) + 3;
  require_round_trip(randn({n}, kFloat32));
  require_round_trip(randn({int64_t(3 * kMiB / 8) + 1}, kFloat64));
}

TEST_CASE("to(device) keeps values, shape and dtype for every dtype", "[cuda][runtime]") {
  for (DType dtype : {kFloat32, kFloat64, kInt64, kInt32, kBool}) {
    INFO(dtype_name(dtype));
    for (int64_t n : nova::test::odd_sizes()) require_round_trip(from_vector(pattern(n, dtype), {n}, dtype));
    require_round_trip(from_vector(pattern(12, dtype), {3, 4}, dtype));
    require_round_trip(from_vector(pattern(0, dtype), {0, 4}, dtype));
    require_round_trip(from_vector(pattern(1, dtype), {}, dtype));
  }
}

TEST_CASE("to(device) of a non-contiguous CPU tensor copies it densely", "[cuda][runtime]") {
  for (DType dtype : {kFloat32, kFloat64, kInt64, kInt32, kBool}) {
    INFO(dtype_name(dtype));
    Tensor x = from_vector(pattern(35, dtype), {5, 7}, dtype);
    require_round_trip(x.t());                    // transposed
    require_round_trip(x.slice(1, 1, 7, 2));      // strided columns
    require_round_trip(x.slice(0, 2, 4));         // offset into the storage
    require_round_trip(x.select(1, 3).unsqueeze(1).expand({5, 4}));  // stride 0
  }
}

TEST_CASE("to(device) names a device that does not exist", "[cuda][runtime]") {
  int count = cuda::device_count();
  REQUIRE_THROWS_NOVA(randn({3}).to(Device::cuda(count)), "no device cuda:" + std::to_string(count));
}

TEST_CASE("to(device) between two GPUs keeps values", "[cuda][runtime]") {
  if (cuda::device_count() < 2) {
    WARN("one CUDA device: the device-to-device case between GPUs is not exercised");
    return;
  }
  Tensor x = randn({1000, 3}, kFloat64);
  Tensor on_1 = x.to(gpu()).to(Device::cuda(1));
  REQUIRE(on_1.device() == Device::cuda(1));
  REQUIRE(values(on_1.to(kCPU)) == values(x));
  REQUIRE(values(on_1.to(gpu()).to(kCPU)) == values(x));
}

// ---- autograd through to() ----

TEST_CASE("gradients flow back through to(cuda) and to(cpu)", "[cuda][runtime][grad]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    Tensor x = randn({4, 3}, dtype).requires_grad_();
    Tensor y = x.to(gpu()).to(kCPU);  // identity in value
    REQUIRE(y.requires_grad());
    Tensor w = randn({4, 3}, dtype);
    (y * w).sum().backward();  // d/dx sum(x * w) = w
    REQUIRE(x.grad().defined());
    REQUIRE(x.grad().is_cpu());
    REQUIRE(values(x.grad()) == values(w));
  }
}

TEST_CASE("a CUDA leaf moved to the CPU gets its gradient on the GPU", "[cuda][runtime][grad]") {
  Tensor w = randn({5}, kFloat64);
  Tensor x = randn({5}, kFloat64).to(gpu()).requires_grad_();
  (x.to(kCPU) * w).sum().backward();
  REQUIRE(x.grad().is_cuda());
  REQUIRE(values(x.grad().to(kCPU)) == values(w));
}

// ---- the caching allocator ----

TEST_CASE("allocator: zero bytes give nullptr, and unknown pointers are refused", "[cuda][runtime][allocator]") {
  REQUIRE(cuda::allocate(0, 0) == nullptr);
  REQUIRE_NOTHROW(cuda::deallocate(nullptr, 0));
  int host_value = 0;
  REQUIRE_THROWS_NOVA(cuda::deallocate(&host_value, 0), "not allocated by nova's CUDA allocator");
  void* p = cuda::allocate(100, 0);
  REQUIRE(p != nullptr);
  cuda::deallocate(p, 0);
  REQUIRE_THROWS_NOVA(cuda::deallocate(p, 0), "freed twice");
  REQUIRE_THROWS_NOVA(cuda::allocate(8, -1), "allocate: no device cuda:-1");
}

TEST_CASE("allocator: a freed block is reused without cudaMalloc", "[cuda][runtime][allocator]") {
  for (int64_t n : {int64_t(1000), int64_t(3 * kMiB / 4)}) {  // a small and a large size class
    INFO("float32 elements " << n);
    { Tensor warm = empty({n}, kFloat32, gpu()); }
    size_t mallocs = cuda::memory_stats(0).num_mallocs;
    for (int i = 0; i < 10; ++i) {
      Tensor t = empty({n}, kFloat32, gpu());
      REQUIRE(t.raw_data() != nullptr);
    }
    REQUIRE(cuda::memory_stats(0).num_mallocs == mallocs);
  }
  // 1000 and 1001 bytes share the 1024-byte class: the second reuses the first's block
  void* a = cuda::allocate(1000, 0);
  cuda::deallocate(a, 0);
  void* b = cuda::allocate(1001, 0);
  REQUIRE(b == a);
  cuda::deallocate(b, 0);
}

TEST_CASE("allocator: counters track allocated, reserved and peak bytes", "[cuda][runtime][allocator]") {
  cuda::MemoryStats before = cuda::memory_stats(0);
  REQUIRE(before.reserved >= before.allocated);
  cuda::reset_peak_memory_stats(0);
  REQUIRE(cuda::memory_stats(0).peak_allocated == before.allocated);
  {
    Tensor big = empty({int64_t(8 * kMiB / 4)}, kFloat32, gpu());  // 8 MiB: exactly its class
    cuda::MemoryStats during = cuda::memory_stats(0);
    REQUIRE(during.allocated == before.allocated + 8 * kMiB);
    REQUIRE(during.reserved >= during.allocated);
    REQUIRE(during.peak_allocated == during.allocated);
  }
  cuda::MemoryStats after = cuda::memory_stats(0);
  REQUIRE(after.allocated == before.allocated);
  REQUIRE(after.peak_allocated == before.allocated + 8 * kMiB);  // the peak stays
  REQUIRE(after.reserved >= before.allocated + 8 * kMiB);        // the block is cached
  cuda::reset_peak_memory_stats(0);
  REQUIRE(cuda::memory_stats(0).peak_allocated == after.allocated);
}

TEST_CASE("allocator: empty_cache gives cached blocks back to the driver", "[cuda][runtime][allocator]") {
  { Tensor big = empty({int64_t(16 * kMiB / 4)}, kFloat32, gpu()); }
  cuda::MemoryStats cached = cuda::memory_stats(0);
  REQUIRE(cached.reserved >= cached.allocated + 16 * kMiB);
  Tensor kept = empty({int64_t(1000)}, kFloat32, gpu());  // live blocks stay
  cuda::empty_cache();
  cuda::MemoryStats emptied = cuda::memory_stats(0);
  REQUIRE(emptied.reserved < cached.reserved);
  REQUIRE(emptied.reserved == emptied.allocated);  // nothing cached any more
  REQUIRE(values(from_vector(pattern(7, kFloat32), {7}, kFloat32).to(gpu()).to(kCPU)) == pattern(7, kFloat32));
}

TEST_CASE("allocator: out of memory names the size and the counters", "[cuda][runtime][allocator][oom]") {
  size_t absurd = size_t(1) << 50;  // 1 PiB
  REQUIRE_THROWS_NOVA(cuda::allocate(absurd, 0), "out of memory allocating 1125899906842624 bytes on cuda:0");
  REQUIRE_THROWS_NOVA(cuda::allocate(absurd, 0), "reserved");
  REQUIRE_THROWS_NOVA(empty({int64_t(1) << 48}, kFloat32, gpu()), "out of memory");
  // the failure leaves no error behind: the device still works
  require_round_trip(randn({100}));
  REQUIRE(cuda::memory_stats(0).reserved >= cuda::memory_stats(0).allocated);
}
