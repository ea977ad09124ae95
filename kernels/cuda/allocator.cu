// kernels/cuda/allocator.cu: the caching device allocator.
//
// cudaMalloc and cudaFree are slow (cudaFree waits for the whole device), so
// freed blocks are kept in per-device free lists and handed out again to a
// request of the same size class. After the first training step every
// allocation is a cache hit and cudaMalloc is never called.
//
// Size classes: requests below 1 MiB round up to a multiple of 512 bytes,
// larger ones to a multiple of 2 MiB (a 3 MiB tensor takes a 4 MiB block).
// A block is reused only for a request of exactly its class: no splitting,
// so at most one class of waste per block and no fragmentation bookkeeping.
//
// Why reuse is safe without events: memory freed on the host may still be
// read or written by kernels queued earlier. All nova work on a device runs
// on ONE stream (runtime.cu), so any kernel that gets the block later is
// queued after those kernels and runs after them: reuse in stream order is
// safe. (Work on another stream would need an event per block; nova has none.)
//
// Zero-byte requests return nullptr (and deallocate(nullptr) does nothing):
// an empty tensor's kernels launch nothing, so its pointer is never read.
//
// Out of memory: the cache is emptied (its blocks go back to the driver) and
// cudaMalloc is tried once more; then nova::Error with the size and counters.
#include "kernels/cuda/runtime.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/check.cuh"

namespace nova::cuda {

namespace {

constexpr size_t kSmallRound = 512;              // bytes
constexpr size_t kLargeThreshold = 1ull << 20;   // 1 MiB
constexpr size_t kLargeRound = 2ull << 20;       // 2 MiB

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

/// The size class of a request (the bytes the block really has).
size_t size_class(size_t nbytes) {
  return nbytes < kLargeThreshold ? round_up(nbytes, kSmallRound) : round_up(nbytes, kLargeRound);
}

struct DeviceCache {
  std::map<size_t, std::vector<void*>> free_blocks;  // size class -> cached blocks
  MemoryStats stats;
};

struct Block {
  size_t size;  // its size class
  int device;
};

// One mutex guards everything below: allocation is not a hot path once the
// cache is warm (a map lookup), and one lock is easy to get right.
std::mutex g_mutex;
std::vector<DeviceCache> g_caches;              // indexed by device
std::unordered_map<void*, Block> g_live;        // blocks handed out now

DeviceCache& cache_of(int device) {
  if (g_caches.size() <= size_t(device)) g_caches.resize(device + 1);
  return g_caches[device];
}

void check_device(const char* op, int device) {
  int count = device_count();
  NOVA_CHECK(device >= 0 && device < count, "{}: no device cuda:{} ({} CUDA device{} answer{})", op,
             device, count, count == 1 ? "" : "s", count == 1 ? "s" : "");
}

/// Frees every cached block of `device`. Caller holds g_mutex. cudaFree
/// waits for the device, so no queued kernel still uses a freed block.
void release_cached(int device) {
  DeviceCache& cache = cache_of(device);
  DeviceGuard guard(device);
  for (auto& [size, blocks] : cache.free_blocks) {
    for (void* p : blocks) {
      NOVA_CUDA_CHECK("empty_cache", cudaFree(p));
      cache.stats.reserved -= size;
    }
  }
  cache.free_blocks.clear();
}

[[noreturn]] void out_of_memory(size_t nbytes, int device, const MemoryStats& s) {
  fail("cuda: out of memory allocating {} bytes on cuda:{} (allocated {}, reserved {}, peak {}; "
       "call empty_cache() or use smaller batches)",
       nbytes, device, s.allocated, s.reserved, s.peak_allocated);
}

}  // namespace

void* allocate(size_t nbytes, int device) {
  check_device("allocate", device);
  if (nbytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(g_mutex);
  DeviceCache& cache = cache_of(device);
  if (nbytes > SIZE_MAX - kLargeRound) out_of_memory(nbytes, device, cache.stats);  // rounding would overflow
  size_t size = size_class(nbytes);

  void* ptr = nullptr;
  auto it = cache.free_blocks.find(size);
  if (it != cache.free_blocks.end() && !it->second.empty()) {
    ptr = it->second.back();  // cache hit: no driver call
    it->second.pop_back();
  } else {
    DeviceGuard guard(device);
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // not sticky; clear it so the next launch check is clean
      release_cached(device);
      status = cudaMalloc(&ptr, size);
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        out_of_memory(nbytes, device, cache.stats);
      }
    }
    if (status != cudaSuccess) throw_cuda_error("allocate", "cudaMalloc", status);
    cache.stats.reserved += size;
    cache.stats.num_mallocs += 1;
  }
  cache.stats.allocated += size;
  cache.stats.peak_allocated = std::max(cache.stats.peak_allocated, cache.stats.allocated);
  g_live[ptr] = Block{size, device};
  return ptr;
}

void deallocate(void* ptr, int device) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_live.find(ptr);
  NOVA_CHECK(it != g_live.end(), "deallocate: pointer {} on cuda:{} was not allocated by nova's CUDA allocator (or was freed twice)",
             ptr, device);
  Block block = it->second;
  NOVA_CHECK(block.device == device, "deallocate: pointer {} belongs to cuda:{}, not cuda:{}", ptr,
             block.device, device);
  g_live.erase(it);
  DeviceCache& cache = cache_of(device);
  cache.free_blocks[block.size].push_back(ptr);
  cache.stats.allocated -= block.size;
}

MemoryStats memory_stats(int device) {
  check_device("memory_stats", device);
  std::lock_guard<std::mutex> lock(g_mutex);
  return cache_of(device).stats;
}

void reset_peak_memory_stats(int device) {
  check_device("reset_peak_memory_stats", device);
  std::lock_guard<std::mutex> lock(g_mutex);
  MemoryStats& stats = cache_of(device).stats;
  stats.peak_allocated = stats.allocated;
}

void empty_cache() {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (size_t d = 0; d < g_caches.size(); ++d) release_cached(int(d));
}

}  // namespace nova::cuda
