// core/storage.h: Storage, one block of device memory that tensors view.
// Several Tensors (views) share one Storage through shared_ptr; the memory is
// freed when the last view goes. CPU blocks are 64-byte aligned so kernels may
// use aligned vector loads; CUDA blocks come from the CUDA backend.
#pragma once

#include <cstddef>
#include <memory>

#include "core/device.h"

namespace nova {

class Storage {
 public:
  /// Allocates nbytes (uninitialised) on `device`; throws nova::Error if that
  /// device cannot allocate.
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

}  // namespace nova
