// core/storage.cpp: allocation of Storage blocks per device.
#include "core/storage.h"

#include <cstdlib>

#include "core/error.h"
#include "kernels/cuda/runtime.h"

namespace nova {

namespace {
constexpr size_t kCpuAlignment = 64;
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  switch (device.type) {
    case DeviceType::CPU: {
      // aligned_alloc requires a size that is a multiple of the alignment
      size_t rounded = (std::max<size_t>(nbytes, 1) + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
      data_ = std::aligned_alloc(kCpuAlignment, rounded);
      NOVA_CHECK(data_ != nullptr, "storage: out of CPU memory allocating {} bytes", nbytes);
      break;
    }
    case DeviceType::CUDA:
      // the caching allocator (kernels/cuda/allocator.cu); nullptr for 0 bytes
      data_ = cuda::allocate(nbytes, device.index);
      break;
  }
}

Storage::~Storage() {
  switch (device_.type) {
    case DeviceType::CPU: std::free(data_); break;
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
