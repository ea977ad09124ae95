// kernels/cpu/allocator.h: the caching allocator behind CPU Storage.
//
// Why cache on the CPU at all: glibc hands blocks of 128 KiB and more back to
// the system (munmap, or trimming the heap top) as soon as they are freed, and
// the next step's allocation of the same size faults every page in again. A
// training step frees and reallocates the same activation and gradient sizes
// every time, so with plain malloc the 8-Gaussian discriminator's backward
// took 650-700 page faults (15-20% of its time), and how many fell in which
// call depended on the heap's history. Blocks of kMinCachedBytes and more are
// therefore kept, per exact (64-byte rounded) size, and handed out again:
// after the first step a training loop never faults. Smaller blocks go
// straight to malloc, whose bins already reuse them cheaply.
//
// The cache holds at most cache_limit() bytes (default 1 GiB; the environment
// variable NOVA_CPU_CACHE_MB sets it at start-up, 0 turns caching off). A
// block freed when the cache is full first evicts cached blocks of other
// sizes (sizes a program stopped using give way to the ones it uses now);
// what still does not fit goes back to the system. When the system refuses a
// block, the cache is emptied and the allocation tried once more. Thread-safe
// (one mutex): tensors may be created and dropped on any thread.
#pragma once

#include <cstddef>

namespace nova::cpu {

/// Blocks smaller than this are never cached.
inline constexpr size_t kMinCachedBytes = size_t(64) << 10;

/// A 64-byte aligned block of at least nbytes (1 byte for nbytes == 0);
/// throws nova::Error when the system has no memory left.
void* allocate(size_t nbytes);
/// Returns a block from allocate(ptr's nbytes must be the size asked for)
/// to the cache or the system. nullptr does nothing.
void deallocate(void* ptr, size_t nbytes);

/// In bytes of 64-byte rounded blocks.
struct MemoryStats {
  size_t allocated = 0;       // bytes in blocks handed out now
  size_t cached = 0;          // bytes in free blocks kept for reuse
  size_t peak_allocated = 0;  // largest `allocated` seen since the last reset
  size_t system_allocs = 0;   // blocks taken from the system (malloc) so far
  size_t cache_hits = 0;      // blocks handed out again from the cache
};
MemoryStats memory_stats();
void reset_peak_memory_stats();

/// Gives every cached block back to the system.
void empty_cache();
/// Most bytes the cache keeps; lowering it below what is cached empties the
/// cache first. 0 turns caching off.
void set_cache_limit(size_t bytes);
size_t cache_limit();

}  // namespace nova::cpu
