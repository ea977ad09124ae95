// kernels/cuda/check.cuh: the one error-checking path for CUDA, cuBLAS,
// cuSOLVER and cuDNN calls, and the check after every kernel launch. A
// failure throws nova::Error naming the op, the call and the error text.
// Also DeviceGuard, which makes a tensor's device current for a scope.
#pragma once

#include <cuda_runtime.h>

#include "core/base/error.h"

namespace nova::cuda {

[[noreturn]] void throw_cuda_error(const char* op, const char* call, cudaError_t status);

}  // namespace nova::cuda

/// NOVA_CUDA_CHECK("op", cudaMemcpyAsync(...)) throws on any status but success.
#define NOVA_CUDA_CHECK(op, call)                                              \
  do {                                                                         \
    cudaError_t nova_status_ = (call);                                         \
    if (nova_status_ != cudaSuccess)                                           \
      ::nova::cuda::throw_cuda_error(op, #call, nova_status_);                 \
  } while (0)

/// After every kernel launch: catches bad launch configurations at once
/// (asynchronous faults surface at the next synchronising call).
#define NOVA_CUDA_LAUNCH_CHECK(op) NOVA_CUDA_CHECK(op, cudaGetLastError())

namespace nova::cuda {

/// Makes `device` current for the scope and restores the previous device at
/// exit. cudaMalloc, stream and event creation and kernel launches act on the
/// current device, so work for a tensor on cuda:1 runs under DeviceGuard(1).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    NOVA_CUDA_CHECK("device_guard", cudaGetDevice(&previous_));
    if (device != previous_) NOVA_CUDA_CHECK("device_guard", cudaSetDevice(device));
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }  // a destructor never throws
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace nova::cuda
