// kernels/cuda/copy.cu: copies of contiguous bytes between the host and a
// device, and between devices. Everything is ordered on nova's stream of the
// device, so a copy sees the results of the kernels queued before it.
//
// Host -> device: small copies (< 1 MiB) are one cudaMemcpyAsync from the
// caller's (pageable) memory; the driver copies such a source into its own
// staging buffer before returning, so the caller may free it at once.
// Larger copies go through nova's pinned (page-locked) buffer in chunks:
// while the DMA engine moves chunk i, the CPU fills chunk i+1 (two slots,
// one event each). Pageable sources make the driver stage in small pieces
// and serialise the CPU copy with the transfer; this overlaps them.
//
// Device -> host: the same in reverse, and the copy is complete (the stream
// waited for) when the function returns: the caller reads dst next.
//
// Pinned memory is slow to allocate (cudaHostAlloc maps pages for the
// driver), so the buffer is kept and only grown; one mutex serialises its use.
#include "kernels/cuda/runtime.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "kernels/cuda/check.cuh"

namespace nova::cuda {

namespace {

constexpr size_t kStagingThreshold = 1ull << 20;  // copies above this are staged
constexpr size_t kChunk = 8ull << 20;              // bytes per staged chunk (per slot)

cudaStream_t nova_stream(int device) { return static_cast<cudaStream_t>(stream(device)); }

/// The pinned buffer: two slots of `slot_bytes` each, grown on demand up to
/// kChunk per slot. Guarded by `mutex` for the whole copy that uses it.
struct Staging {
  std::mutex mutex;
  char* buffer = nullptr;
  size_t slot_bytes = 0;

  /// Slots of at least `bytes`; the caller holds `mutex`.
  void reserve(size_t bytes) {
    if (bytes <= slot_bytes) return;
    if (buffer != nullptr) NOVA_CUDA_CHECK("copy", cudaFreeHost(buffer));
    buffer = nullptr;
    slot_bytes = 0;
    // Portable: pinned for every device, not only the current one.
    NOVA_CUDA_CHECK("copy", cudaHostAlloc(reinterpret_cast<void**>(&buffer), 2 * bytes, cudaHostAllocPortable));
    slot_bytes = bytes;
  }
  char* slot(size_t i) { return buffer + (i % 2) * slot_bytes; }
};

Staging& staging() {
  static Staging* s = new Staging();  // never destroyed: no cudaFreeHost after the driver shut down
  return *s;
}

/// Two events, one per staging slot, on `device` (destroyed at scope exit).
struct SlotEvents {
  cudaEvent_t event[2] = {nullptr, nullptr};
  bool used[2] = {false, false};
  SlotEvents() {
    for (auto& e : event) NOVA_CUDA_CHECK("copy", cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  }
  ~SlotEvents() {
    for (auto& e : event)
      if (e != nullptr) cudaEventDestroy(e);
  }
  SlotEvents(const SlotEvents&) = delete;
  SlotEvents& operator=(const SlotEvents&) = delete;

  /// Waits until the copy last recorded on slot i % 2 is done.
  void wait(size_t i) {
    if (used[i % 2]) NOVA_CUDA_CHECK("copy", cudaEventSynchronize(event[i % 2]));
  }
  void record(size_t i, cudaStream_t s) {
    NOVA_CUDA_CHECK("copy", cudaEventRecord(event[i % 2], s));
    used[i % 2] = true;
  }
};

}  // namespace

void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device) {
  if (nbytes == 0) return;
  DeviceGuard guard(device);
  cudaStream_t s = nova_stream(device);
  if (nbytes <= kStagingThreshold) {
    NOVA_CUDA_CHECK("copy_host_to_device", cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, s));
    return;
  }
  Staging& st = staging();
  std::lock_guard<std::mutex> lock(st.mutex);
  st.reserve(std::min(nbytes, kChunk));
  SlotEvents events;
  size_t chunks = (nbytes + st.slot_bytes - 1) / st.slot_bytes;
  for (size_t i = 0; i < chunks; ++i) {
    size_t begin = i * st.slot_bytes;
    size_t n = std::min(st.slot_bytes, nbytes - begin);
    events.wait(i);  // the DMA of chunk i-2 has left this slot
    std::memcpy(st.slot(i), static_cast<const char*>(src) + begin, n);
    NOVA_CUDA_CHECK("copy_host_to_device",
                    cudaMemcpyAsync(static_cast<char*>(dst) + begin, st.slot(i), n, cudaMemcpyHostToDevice, s));
    events.record(i, s);
  }
  // The slots are free again for the next copy once both DMAs are done.
  events.wait(chunks);
  events.wait(chunks + 1);
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device) {
  if (nbytes == 0) return;
  DeviceGuard guard(device);
  cudaStream_t s = nova_stream(device);
  if (nbytes <= kStagingThreshold) {
    NOVA_CUDA_CHECK("copy_device_to_host", cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, s));
    NOVA_CUDA_CHECK("copy_device_to_host", cudaStreamSynchronize(s));
    return;
  }
  Staging& st = staging();
  std::lock_guard<std::mutex> lock(st.mutex);
  st.reserve(std::min(nbytes, kChunk));
  SlotEvents events;
  size_t chunks = (nbytes + st.slot_bytes - 1) / st.slot_bytes;
  auto issue = [&](size_t i) {  // queue the DMA of chunk i into its slot
    size_t begin = i * st.slot_bytes;
    size_t n = std::min(st.slot_bytes, nbytes - begin);
    NOVA_CUDA_CHECK("copy_device_to_host",
                    cudaMemcpyAsync(st.slot(i), static_cast<const char*>(src) + begin, n, cudaMemcpyDeviceToHost, s));
    events.record(i, s);
  };
  issue(0);
  for (size_t i = 0; i < chunks; ++i) {
    // Chunk i+1 goes to the other slot, whose chunk i-1 was copied out last turn.
    if (i + 1 < chunks) issue(i + 1);
    events.wait(i);
    size_t begin = i * st.slot_bytes;
    size_t n = std::min(st.slot_bytes, nbytes - begin);
    std::memcpy(static_cast<char*>(dst) + begin, st.slot(i), n);
  }
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes, int device) {
  if (nbytes == 0) return;
  DeviceGuard guard(device);
  NOVA_CUDA_CHECK("copy_device_to_device",
                  cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, nova_stream(device)));
}

void copy_between_devices(void* dst, int dst_device, const void* src, int src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device == src_device) {
    copy_device_to_device(dst, src, nbytes, dst_device);
    return;
  }
  // Two streams are involved, so order by waiting on the host: the source's
  // producers finish first, and the copy is done before either block can be
  // freed and reused on its own stream. Rare enough that the wait costs little.
  {
    DeviceGuard guard(src_device);
    NOVA_CUDA_CHECK("copy_between_devices", cudaStreamSynchronize(nova_stream(src_device)));
  }
  DeviceGuard guard(dst_device);
  cudaStream_t s = nova_stream(dst_device);
  NOVA_CUDA_CHECK("copy_between_devices", cudaMemcpyPeerAsync(dst, dst_device, src, src_device, nbytes, s));
  NOVA_CUDA_CHECK("copy_between_devices", cudaStreamSynchronize(s));
}

}  // namespace nova::cuda
