// kernels/cuda/runtime.cu: devices, nova's per-device streams, and the error
// path of every CUDA call (throw_cuda_error, used by NOVA_CUDA_CHECK).
// Any error from cudaGetDeviceCount means "no device": machines without a
// GPU (CI, the developers' machines) get an error there, and that is not a
// crash. The caching allocator is in allocator.cu, copies in copy.cu.
#include "kernels/cuda/runtime.h"

#include <cuda_runtime.h>

#include <mutex>
#include <vector>

#include "kernels/cuda/check.cuh"

namespace nova::cuda {

void throw_cuda_error(const char* op, const char* call, cudaError_t status) {
  cudaGetLastError();  // clear a non-sticky error so the next check starts clean
  // Faults of an earlier kernel surface here, at the next call that waits;
  // after one the context is lost and every later call fails the same way.
  bool sticky = status == cudaErrorIllegalAddress || status == cudaErrorLaunchFailure ||
                status == cudaErrorMisalignedAddress || status == cudaErrorIllegalInstruction ||
                status == cudaErrorHardwareStackError;
  fail("{}: {} failed: {} ({}){}", op, call, cudaGetErrorName(status), cudaGetErrorString(status),
       sticky ? "; an earlier kernel faulted and the CUDA context is unusable: run under "
                "compute-sanitizer --tool memcheck to find it"
              : "");
}

void built_without_cuda(const char* op) {
  // Never reached in this build; defined so every build has the symbol.
  fail("{}: nova was built without CUDA (configure with -DNOVA_CUDA=AUTO and nvcc installed)", op);
}

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the error so later calls start clean
    return 0;
  }
  return count;
}

bool built_with_cuda() { return true; }

namespace {

void check_device(const char* op, int device) {
  int count = device_count();
  NOVA_CHECK(device >= 0 && device < count, "{}: no device cuda:{} ({} CUDA device{} answer{})", op,
             device, count, count == 1 ? "" : "s", count == 1 ? "s" : "");
}

// One stream per device, made on first use. The mutex makes two threads that
// ask for the same device's stream at once get the same stream.
std::mutex g_streams_mutex;
std::vector<cudaStream_t> g_streams;

}  // namespace

int current_device() {
  int device = 0;
  NOVA_CUDA_CHECK("current_device", cudaGetDevice(&device));
  return device;
}

void set_device(int device) {
  check_device("set_device", device);
  NOVA_CUDA_CHECK("set_device", cudaSetDevice(device));
}

void* stream(int device) {
  check_device("stream", device);
  std::lock_guard<std::mutex> lock(g_streams_mutex);
  if (g_streams.size() <= size_t(device)) g_streams.resize(device + 1, nullptr);
  if (g_streams[device] == nullptr) {
    DeviceGuard guard(device);
    // Non-blocking: no implicit ordering with the legacy default stream, so
    // a library that uses stream 0 does not stall nova's work (or the reverse).
    cudaStream_t s = nullptr;
    NOVA_CUDA_CHECK("stream", cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    g_streams[device] = s;
  }
  // Streams are never destroyed: they live as long as the process (the
  // driver reclaims them at exit), so a pointer handed out stays valid.
  return g_streams[device];
}

void* event_create(int device) {
  check_device("event_create", device);
  DeviceGuard guard(device);
  cudaEvent_t e = nullptr;
  NOVA_CUDA_CHECK("event_create", cudaEventCreate(&e));
  return e;
}

void event_record(void* event, int device) {
  NOVA_CUDA_CHECK("event_record", cudaEventRecord(static_cast<cudaEvent_t>(event),
                                                  static_cast<cudaStream_t>(stream(device))));
}

float event_elapsed_ms(void* start, void* end) {
  NOVA_CUDA_CHECK("event_elapsed_ms", cudaEventSynchronize(static_cast<cudaEvent_t>(end)));
  float ms = 0;
  NOVA_CUDA_CHECK("event_elapsed_ms",
                  cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)));
  return ms;
}

void event_destroy(void* event) {
  if (event) NOVA_CUDA_CHECK("event_destroy", cudaEventDestroy(static_cast<cudaEvent_t>(event)));
}

void synchronize(int device) {
  if (device < 0) {
    for (int d = 0; d < device_count(); ++d) synchronize(d);
    return;
  }
  check_device("synchronize", device);
  DeviceGuard guard(device);
  NOVA_CUDA_CHECK("synchronize", cudaDeviceSynchronize());
}

}  // namespace nova::cuda
