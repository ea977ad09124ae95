// core/storage.cpp: allocation of Storage blocks per device; both devices go
// through a caching allocator (kernels/cpu/allocator.h, kernels/cuda/runtime.h).
#include "core/storage.h"

#include "kernels/cpu/allocator.h"
#include "kernels/cuda/runtime.h"

namespace nova {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  switch (device.type) {
    case DeviceType::CPU: data_ = cpu::allocate(nbytes); break;
    case DeviceType::CUDA:
      // the caching allocator (kernels/cuda/allocator.cu); nullptr for 0 bytes
      data_ = cuda::allocate(nbytes, device.index);
      break;
  }
}

Storage::~Storage() {
  switch (device_.type) {
    case DeviceType::CPU: cpu::deallocate(data_, nbytes_); break;
    case DeviceType::CUDA:
      // A destructor must not throw; deallocate only throws for a pointer it
      // never handed out, which cannot happen here.
      try {
        cuda::deallocate(data_, device_.index);
      } catch (...) {
      }
      break;
  }
}

}  // namespace nova
