// kernels/cpu/allocator.cpp: the CPU caching allocator (see allocator.h for
// why). Free blocks are kept in a map from exact rounded size to a stack of
// pointers: a training loop asks for the same few sizes every step, so exact
// sizes reuse as well as size classes would, without wasting memory.
#include "kernels/cpu/allocator.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/base/error.h"

namespace nova::cpu {

namespace {

constexpr size_t kAlignment = 64;

size_t rounded(size_t nbytes) { return (std::max<size_t>(nbytes, 1) + kAlignment - 1) / kAlignment * kAlignment; }

size_t limit_from_environment() {
  const char* mb = std::getenv("NOVA_CPU_CACHE_MB");
  if (mb == nullptr || *mb == '\0') return size_t(1) << 30;
  char* end = nullptr;
  unsigned long long v = std::strtoull(mb, &end, 10);
  NOVA_CHECK(end != mb && *end == '\0', "NOVA_CPU_CACHE_MB must be a whole number of MiB, got \"{}\"", mb);
  return size_t(v) << 20;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t limit = limit_from_environment();
  MemoryStats stats;

  // callers hold `mutex`
  /// Frees cached blocks of other sizes than `keep` until `bytes` more fit
  /// under the limit: the sizes a program stopped using (an evaluation
  /// batch, an earlier model) give way to the ones it uses now.
  void make_room(size_t bytes, size_t keep) {
    for (auto it = free_blocks.begin(); it != free_blocks.end() && stats.cached + bytes > limit;) {
      if (it->first == keep) {
        ++it;
        continue;
      }
      while (!it->second.empty() && stats.cached + bytes > limit) {
        std::free(it->second.back());
        it->second.pop_back();
        stats.cached -= it->first;
      }
      it = it->second.empty() ? free_blocks.erase(it) : std::next(it);
    }
  }
  void release_all() {
    for (auto& [size, blocks] : free_blocks)
      for (void* p : blocks) std::free(p);
    free_blocks.clear();
    stats.cached = 0;
  }
};

// Never destroyed: Storage blocks (of static tensors, say) may be freed
// during static destruction, after a static Cache would be gone.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

}  // namespace

void* allocate(size_t nbytes) {
  const size_t size = rounded(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (size >= kMinCachedBytes) {
      auto it = c.free_blocks.find(size);
      if (it != c.free_blocks.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        c.stats.cached -= size;
        c.stats.cache_hits++;
        c.stats.allocated += size;
        c.stats.peak_allocated = std::max(c.stats.peak_allocated, c.stats.allocated);
        return p;
      }
    }
  }
  void* p = std::aligned_alloc(kAlignment, size);
  std::lock_guard<std::mutex> lock(c.mutex);
  if (p == nullptr && c.stats.cached > 0) {
    c.release_all();
    p = std::aligned_alloc(kAlignment, size);
  }
  NOVA_CHECK(p != nullptr, "storage: out of CPU memory allocating {} bytes ({} bytes in use)", nbytes,
             c.stats.allocated);
  c.stats.system_allocs++;
  c.stats.allocated += size;
  c.stats.peak_allocated = std::max(c.stats.peak_allocated, c.stats.allocated);
  return p;
}

void deallocate(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  const size_t size = rounded(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.allocated -= size;
    if (size >= kMinCachedBytes && size <= c.limit) {
      if (c.stats.cached + size > c.limit) c.make_room(size, size);
      if (c.stats.cached + size <= c.limit) {
        c.free_blocks[size].push_back(ptr);
        c.stats.cached += size;
        return;
      }
    }
  }
  std::free(ptr);
}

MemoryStats memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void reset_peak_memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.peak_allocated = c.stats.allocated;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.release_all();
}

void set_cache_limit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.limit = bytes;
  if (c.stats.cached > bytes) c.release_all();
}

size_t cache_limit() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.limit;
}

}  // namespace nova::cpu
