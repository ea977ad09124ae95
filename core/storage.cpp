// core/storage.cpp: allocation of Storage blocks per device.
#include "core/storage.h"

#include <cstdlib>

#include "core/error.h"

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
      fail("storage: cannot allocate {} bytes on {}: the CUDA backend is not implemented yet",
           nbytes, device.str());
  }
}

Storage::~Storage() {
  if (device_.type == DeviceType::CPU) std::free(data_);
}

}  // namespace nova
