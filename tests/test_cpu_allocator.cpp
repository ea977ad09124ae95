// tests/test_cpu_allocator.cpp: the CPU caching allocator behind Storage
// (kernels/cpu/allocator.h): large blocks are reused by exact size, small
// ones are not cached, the limit and empty_cache hold, blocks are aligned,
// and concurrent use from several threads keeps the counters consistent.
#include <cstdint>
#include <thread>
#include <vector>

#include "kernels/cpu/allocator.h"
#include "tests/test_util.h"

using namespace nova;

namespace {

constexpr size_t kLarge = size_t(1) << 20;  // 1 MiB: cached

/// Restores the cache limit a test changed, whatever the test does.
struct LimitGuard {
  size_t saved = cpu::cache_limit();
  ~LimitGuard() { cpu::set_cache_limit(saved); }
};

}  // namespace

TEST_CASE("a freed large block is handed out again for the same size", "[allocator]") {
  LimitGuard guard;
  cpu::set_cache_limit(size_t(64) << 20);
  void* a = cpu::allocate(kLarge);
  cpu::deallocate(a, kLarge);
  const cpu::MemoryStats before = cpu::memory_stats();
  REQUIRE(before.cached >= kLarge);
  void* b = cpu::allocate(kLarge);
  REQUIRE(b == a);
  const cpu::MemoryStats after = cpu::memory_stats();
  REQUIRE(after.cache_hits == before.cache_hits + 1);
  REQUIRE(after.system_allocs == before.system_allocs);
  REQUIRE(after.cached == before.cached - kLarge);
  cpu::deallocate(b, kLarge);
}

TEST_CASE("small blocks are not cached, and a limit of 0 caches nothing", "[allocator]") {
  LimitGuard guard;
  cpu::set_cache_limit(size_t(64) << 20);
  const size_t cached0 = cpu::memory_stats().cached;
  void* s = cpu::allocate(cpu::kMinCachedBytes - 64);
  cpu::deallocate(s, cpu::kMinCachedBytes - 64);
  REQUIRE(cpu::memory_stats().cached == cached0);

  cpu::set_cache_limit(0);
  REQUIRE(cpu::memory_stats().cached == 0);  // lowering the limit emptied it
  void* a = cpu::allocate(kLarge);
  cpu::deallocate(a, kLarge);
  REQUIRE(cpu::memory_stats().cached == 0);
}

TEST_CASE("the cache never holds more than its limit, and empty_cache empties it", "[allocator]") {
  LimitGuard guard;
  cpu::empty_cache();
  cpu::set_cache_limit(3 * kLarge);
  std::vector<void*> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(cpu::allocate(kLarge));
  for (void* p : blocks) cpu::deallocate(p, kLarge);
  REQUIRE(cpu::memory_stats().cached == 3 * kLarge);
  cpu::empty_cache();
  REQUIRE(cpu::memory_stats().cached == 0);
}

TEST_CASE("blocks are 64-byte aligned and counted in allocated while in use", "[allocator]") {
  const size_t in_use = cpu::memory_stats().allocated;
  for (size_t n : {size_t(0), size_t(1), size_t(100), cpu::kMinCachedBytes + 1, kLarge + 3}) {
    void* p = cpu::allocate(n);
    REQUIRE(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    REQUIRE(cpu::memory_stats().allocated >= in_use + n);
    cpu::deallocate(p, n);
  }
  REQUIRE(cpu::memory_stats().allocated == in_use);
}

TEST_CASE("tensors reuse cached storage from step to step", "[allocator]") {
  LimitGuard guard;
  cpu::set_cache_limit(size_t(64) << 20);
  (void)(randn({512, 128}) * 2.0);  // first step: the sizes enter the cache
  const cpu::MemoryStats before = cpu::memory_stats();
  Tensor y = randn({512, 128}) * 2.0;  // same sizes again
  const cpu::MemoryStats after = cpu::memory_stats();
  REQUIRE(after.system_allocs == before.system_allocs);
  REQUIRE(after.cache_hits >= before.cache_hits + 2);
  REQUIRE(y.shape() == Shape{512, 128});
}

TEST_CASE("allocate and deallocate from several threads at once", "[allocator][threads]") {
  LimitGuard guard;
  cpu::set_cache_limit(size_t(64) << 20);
  const size_t in_use = cpu::memory_stats().allocated;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 500; ++i) {
        size_t n = kLarge + size_t((i + t) % 3) * 4096;
        auto* p = static_cast<unsigned char*>(cpu::allocate(n));
        p[0] = p[n - 1] = static_cast<unsigned char>(i);
        cpu::deallocate(p, n);
      }
    });
  for (auto& th : threads) th.join();
  REQUIRE(cpu::memory_stats().allocated == in_use);
}

TEST_CASE("a full cache evicts blocks of other sizes for the size freed now", "[allocator]") {
  LimitGuard guard;
  cpu::empty_cache();
  cpu::set_cache_limit(2 * kLarge);
  void* old_a = cpu::allocate(kLarge);
  void* old_b = cpu::allocate(kLarge);
  cpu::deallocate(old_a, kLarge);
  cpu::deallocate(old_b, kLarge);  // the cache is full of 1 MiB blocks
  REQUIRE(cpu::memory_stats().cached == 2 * kLarge);
  const size_t other = kLarge + 4096;
  void* fresh = cpu::allocate(other);
  cpu::deallocate(fresh, other);  // room for 1 MiB + 4 KiB: both 1 MiB blocks are evicted
  REQUIRE(cpu::memory_stats().cached == other);
  void* again = cpu::allocate(other);
  REQUIRE(again == fresh);  // and the new size is the one kept
  cpu::deallocate(again, other);
}
