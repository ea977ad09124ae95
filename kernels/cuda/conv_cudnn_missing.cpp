// kernels/cuda/conv_cudnn_missing.cpp: the cuDNN convolution entry points of
// a CUDA build that found no cuDNN (kernels/CMakeLists.txt): asking for
// ConvBackend::cudnn then says so instead of failing to link.
#include "core/base/error.h"
#include "kernels/conv.h"

namespace nova::cuda {

namespace {
[[noreturn]] void no_cudnn(const char* op) {
  fail("{}: nova was built with CUDA but without cuDNN (libcudnn and cudnn.h were not found under the CUDA "
       "toolkit); use ConvBackend::native or rebuild with cuDNN 9 installed",
       op);
}
}  // namespace

void conv2d_forward_cudnn(const Conv2dGeometry&, const View&, const View&, const View&, const View&) {
  no_cudnn("conv2d (cuDNN)");
}
void conv2d_backward_data_cudnn(const Conv2dGeometry&, const View&, const View&, const View&) {
  no_cudnn("conv2d backward-data (cuDNN)");
}
void conv2d_backward_filter_cudnn(const Conv2dGeometry&, const View&, const View&, const View&) {
  no_cudnn("conv2d backward-filter (cuDNN)");
}

}  // namespace nova::cuda
