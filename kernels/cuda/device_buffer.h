// kernels/cuda/device_buffer.h: DeviceBuffer, scratch device memory that one
// kernel call needs and nobody outside it sees: the LU factors and pivots of
// a solve, the work area whose size only cuSOLVER knows. It comes from the
// caching allocator (runtime.h), so it costs no cudaMalloc in steady state,
// and goes back when the call returns. Outputs are never made here: core
// allocates them as tensors and hands them down as Views.
//
// Freeing before the queued work has run is safe for the same reason it is
// in PyTorch: every nova kernel on a device runs on one stream, so whatever
// reuses the block is queued after the work that used it.
#pragma once

#include <cstddef>
#include <utility>

#include "core/base/view.h"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  /// Room for `shape` elements of `dtype` on `device`, dense row-major.
  DeviceBuffer(const Shape& shape, DType dtype, int device)
      : data_(allocate(size_t(shape.numel()) * dtype_size(dtype), device)),
        device_(device),
        view_(View::contiguous(data_, shape, dtype, Device::cuda(device))) {}
  ~DeviceBuffer() {
    if (data_) deallocate(data_, device_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(device_, o.device_);
    std::swap(view_, o.view_);
    return *this;
  }

  /// The buffer as a dense View (what the kernels of this folder take).
  const View& view() const { return view_; }
  template <typename T>
  T* data() const { return view_.data<T>(); }

 private:
  void* data_ = nullptr;
  int device_ = 0;
  View view_;
};

}  // namespace nova::cuda
