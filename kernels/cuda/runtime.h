// kernels/cuda/runtime.h: the CUDA runtime as nova sees it: devices, streams,
// the caching allocator and host<->device copies. Plain C++ (no CUDA
// headers), so core includes it in every build: with CUDA it is implemented
// in the .cu files beside it, without CUDA in stub.cpp, whose functions throw
// "built without CUDA" (device_count() returns 0 there).
#pragma once

#include <cstddef>

namespace nova::cuda {

/// Devices that answer; 0 on any runtime error (no driver, no GPU) and in a
/// build without CUDA.
int device_count();

/// True when this build contains the CUDA backend (whether or not a GPU exists).
bool built_with_cuda();

/// Throws nova::Error "op: nova was built without CUDA (...)"; what every
/// function of stub.cpp calls, so the message and its hint are in one place.
[[noreturn]] void built_without_cuda(const char* op);

/// The device that kernels launch on from this thread, and changing it.
int current_device();
void set_device(int device);

/// nova's stream on `device` (a cudaStream_t, as void* so this header stays
/// plain C++). Every nova kernel and copy on that device is ordered on it.
void* stream(int device);

/// Waits until all work queued on `device` (all devices when -1) is done.
void synchronize(int device = -1);

// ---- timing: CUDA events on nova's stream ----
// What the profiler (core/profile.h) times a CUDA op's kernels with, without
// waiting for them: a mark before the launch and one after, both queued on
// the device's stream, read once the profiler stops.

/// A new timing event on `device` (a cudaEvent_t, as void*).
void* event_create(int device);
/// Queues `event` on `device`'s stream: it completes when the work queued
/// before it has.
void event_record(void* event, int device);
/// The GPU time in milliseconds between two recorded events; waits for `end`.
float event_elapsed_ms(void* start, void* end);
void event_destroy(void* event);

// ---- memory: the caching allocator ----

/// Device memory of at least nbytes from the caching allocator: a freed
/// block of the same size class is reused, so steady-state training calls
/// cudaMalloc never. Out of memory throws nova::Error with the size asked
/// and the counters below. nbytes == 0 returns nullptr (never dereferenced:
/// kernels launch nothing for empty tensors).
void* allocate(size_t nbytes, int device);
/// Returns a block to the cache (not to the driver). nullptr does nothing; a
/// pointer that allocate() did not return throws nova::Error.
void deallocate(void* ptr, int device);

/// Per device, in bytes of whole blocks (requests rounded up to their size class).
struct MemoryStats {
  size_t allocated = 0;       // bytes in blocks handed out now
  size_t reserved = 0;        // bytes held from the driver (allocated + cached)
  size_t peak_allocated = 0;  // largest `allocated` seen since the last reset
  size_t num_mallocs = 0;     // cudaMalloc calls so far
};
MemoryStats memory_stats(int device);
void reset_peak_memory_stats(int device);
/// Gives every cached (free) block back to the driver.
void empty_cache();

// ---- copies of contiguous bytes (pinned staging for large host copies) ----
// Host->device returns once `src` may be reused; device->host returns with
// `dst` filled (it waits for the stream). nbytes == 0 does nothing.
void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device);
void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device);
/// Both pointers on `device`; ordered on its stream (asynchronous).
void copy_device_to_device(void* dst, const void* src, size_t nbytes, int device);
/// From src_device to another dst_device; complete when it returns (see copy.cu).
void copy_between_devices(void* dst, int dst_device, const void* src, int src_device, size_t nbytes);

// ---- math modes (defined in matmul.cu, where cuBLAS's mode is set) ----

/// Whether float32 GEMMs may use TF32 tensor cores (about 10 bits of
/// mantissa in the products). Off by default: float32 results then agree
/// with the CPU within 1e-5 relative.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace nova::cuda
