// kernels/cuda/conv_cudnn.cu: conv2d forward, backward-data and
// backward-filter through cuDNN 9's legacy convolution API (cudnn_cnn), the
// baseline nova's own kernels (conv.cu) are benchmarked against and a
// fallback a user can pick (ops: ConvBackend::cudnn, core/conv.h).
//
// Per call: tensor descriptors for x [N, C, H, W] and y [N, K, P, Q] (NCHW,
// contiguous), a filter descriptor [K, C/groups, R, S], a convolution
// descriptor (padding, stride, dilation, CUDNN_CROSS_CORRELATION, groups),
// then the algorithm cuDNN's heuristics rank first among those that succeed
// and run in the allowed math (cudnnGet*Algorithm_v7, choose_algorithm), its
// workspace from the caching allocator, and the call on nova's stream.
// Math: float64 in double; float32 with CUDNN_FMA_MATH (no tensor cores)
// unless set_allow_tf32(true). Each ranked result names the math type it
// was ranked with (Perf::mathType): under FMA only FMA results are taken;
// with TF32 the descriptor is searched with CUDNN_DEFAULT_MATH (which lets
// cuDNN use TF32) and then set to the chosen result's math type, so the
// workspace query and the call run the algorithm as ranked (DESIGN.md:
// compare float32 only against float32 math). Descriptors are created and
// destroyed per call: a few microseconds, small against a convolution; a
// cache keyed by geometry is left for when a GPU shows it matters.
// An empty sum (an empty batch: N*P*Q == 0 for backward-filter; an input
// or weight without elements) never reaches cuDNN, whose descriptors take
// only positive sizes: the output is zeroed on the stream (plus the bias in
// forward).
// One cudnnHandle_t per device, created on first use, kept for the process.
#include <cudnn.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "kernels/conv.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/runtime.h"

/// NOVA_CUDNN_CHECK("op", cudnnXxx(...)) throws nova::Error with cuDNN's own
/// description of any status but success.
#define NOVA_CUDNN_CHECK(op, call)                                                                 \
  do {                                                                                             \
    cudnnStatus_t nova_cudnn_status_ = (call);                                                     \
    if (nova_cudnn_status_ != CUDNN_STATUS_SUCCESS)                                                \
      ::nova::fail("{}: {} failed: {} (cuDNN status {})", op, #call,                               \
                   cudnnGetErrorString(nova_cudnn_status_), int(nova_cudnn_status_));              \
  } while (0)

namespace nova::cuda {

namespace {

constexpr int kMaxDevices = 64;
std::mutex g_handles_mutex;
cudnnHandle_t g_handles[kMaxDevices] = {};

cudnnHandle_t handle_for(const char* op, int device, cudaStream_t stream) {
  NOVA_CHECK(device >= 0 && device < kMaxDevices, "{}: device index {} out of range", op, device);
  std::lock_guard<std::mutex> lock(g_handles_mutex);
  if (!g_handles[device]) NOVA_CUDNN_CHECK(op, cudnnCreate(&g_handles[device]));
  NOVA_CUDNN_CHECK(op, cudnnSetStream(g_handles[device], stream));
  return g_handles[device];
}

int narrow_int(const char* op, int64_t v) {
  NOVA_CHECK(v >= 0 && v <= INT32_MAX, "{}: size {} exceeds what cuDNN takes (2^31 - 1)", op, v);
  return int(v);
}

/// cuDNN's element type for dtype (float32 or float64).
cudnnDataType_t cudnn_type(const char* op, DType dtype) {
  NOVA_CHECK(dtype == kFloat64 || dtype == kFloat32, "{}: cuDNN path takes float32 or float64, got {}", op,
             dtype_name(dtype));
  return dtype == kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
}

/// The descriptors of one geometry, every size positive (the callers return
/// before an empty sum); destroyed with it.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnDataType_t type;
  bool tf32;  // float32 with set_allow_tf32(true): any math but conversion to 16 bits

  Descriptors(const char* op, const Conv2dGeometry& g, DType dtype) {
    type = cudnn_type(op, dtype);
    NOVA_CUDNN_CHECK(op, cudnnCreateTensorDescriptor(&x));
    NOVA_CUDNN_CHECK(op, cudnnCreateTensorDescriptor(&y));
    NOVA_CUDNN_CHECK(op, cudnnCreateFilterDescriptor(&w));
    NOVA_CUDNN_CHECK(op, cudnnCreateConvolutionDescriptor(&conv));
    NOVA_CUDNN_CHECK(op, cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, type, narrow_int(op, g.N),
                                                    narrow_int(op, g.C), narrow_int(op, g.H), narrow_int(op, g.W)));
    NOVA_CUDNN_CHECK(op, cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, type, narrow_int(op, g.N),
                                                    narrow_int(op, g.K), narrow_int(op, g.P), narrow_int(op, g.Q)));
    NOVA_CUDNN_CHECK(op, cudnnSetFilter4dDescriptor(w, type, CUDNN_TENSOR_NCHW, narrow_int(op, g.K),
                                                    narrow_int(op, g.group_channels()), narrow_int(op, g.R),
                                                    narrow_int(op, g.S)));
    NOVA_CUDNN_CHECK(op, cudnnSetConvolution2dDescriptor(conv, narrow_int(op, g.pad_h), narrow_int(op, g.pad_w),
                                                         narrow_int(op, g.stride_h), narrow_int(op, g.stride_w),
                                                         narrow_int(op, g.dil_h), narrow_int(op, g.dil_w),
                                                         CUDNN_CROSS_CORRELATION, type));
    NOVA_CUDNN_CHECK(op, cudnnSetConvolutionGroupCount(conv, narrow_int(op, g.groups)));
    tf32 = type == CUDNN_DATA_FLOAT && allow_tf32();
    // the math the heuristics search; with TF32, choose_algorithm narrows it
    // to the chosen result's
    NOVA_CUDNN_CHECK(op, cudnnSetConvolutionMathType(conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

/// Whether a ranked result's math type runs under nova's math. Without
/// TF32 (and for float64) the descriptor keeps CUDNN_FMA_MATH: only results
/// ranked with FMA math, or with CUDNN_DEFAULT_MATH (which then runs as
/// FMA), not tensor-op ones, whose algorithm may need tensor cores. With
/// TF32 any math but CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, which may round
/// float32 to a 16-bit type, more than set_allow_tf32 allows.
bool math_allowed(cudnnMathType_t math, bool tf32) {
  if (tf32) return math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  return math == CUDNN_FMA_MATH || math == CUDNN_DEFAULT_MATH;
}

/// The first algorithm of cuDNN's ranked list (cudnnConvolution*AlgoPerf_t)
/// that reports success in an allowed math. With TF32 the descriptor takes
/// the chosen result's math type (Perf::mathType, the math it was ranked
/// with), before the workspace query and the call, which depend on it.
template <typename Perf>
auto choose_algorithm(const char* op, const Descriptors& d, const Perf* perf, int count) -> decltype(perf->algo) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || !math_allowed(perf[i].mathType, d.tf32)) continue;
    if (d.tf32) NOVA_CUDNN_CHECK(op, cudnnSetConvolutionMathType(d.conv, perf[i].mathType));
    return perf[i].algo;
  }
  fail("{}: cuDNN offers no usable algorithm for this convolution in {} math ({} ranked)", op,
       d.tf32 ? "TF32" : "FMA", count);
}

/// cuDNN's workspace of `bytes` from the caching allocator (whole doubles, at
/// least one, so the pointer is never null).
DeviceBuffer workspace_of(size_t bytes, int device) {
  return DeviceBuffer({std::max<int64_t>(1, int64_t((bytes + 7) / 8))}, kFloat64, device);
}

/// alpha/beta scalars: cuDNN reads double for double data, float otherwise.
struct Scale {
  double d;
  float f;
  explicit Scale(double v) : d(v), f(float(v)) {}
  const void* of(cudnnDataType_t t) const { return t == CUDNN_DATA_DOUBLE ? static_cast<const void*>(&d) : &f; }
};

struct Call {
  int device;
  cudaStream_t stream;
  cudnnHandle_t handle;
  Call(const char* op, const View& out) : device(out.device().index) {
    stream = static_cast<cudaStream_t>(nova::cuda::stream(device));
    handle = handle_for(op, device, stream);
  }
};

/// out = 0, on the call's stream: the result of an empty sum.
void fill_zero(const char* op, const Call& call, const View& out) {
  const size_t bytes = size_t(out.numel()) * dtype_size(out.dtype());
  NOVA_CUDA_CHECK(op, cudaMemsetAsync(out.raw_data(), 0, bytes, call.stream));
}

/// y [N, K, P, Q] += bias [K] on every image and pixel (cudnnAddTensor
/// broadcasts the [1, K, 1, 1] descriptor). Its own two descriptors, so that
/// the forward of an empty sum needs none of the convolution's.
void add_bias(const char* op, const Call& call, const View& bias, const View& y) {
  struct TensorDescriptor {
    cudnnTensorDescriptor_t desc = nullptr;
    explicit TensorDescriptor(const char* op) { NOVA_CUDNN_CHECK(op, cudnnCreateTensorDescriptor(&desc)); }
    ~TensorDescriptor() { cudnnDestroyTensorDescriptor(desc); }
    TensorDescriptor(const TensorDescriptor&) = delete;
    TensorDescriptor& operator=(const TensorDescriptor&) = delete;
  };
  const cudnnDataType_t type = cudnn_type(op, y.dtype());
  TensorDescriptor yd(op), bd(op);
  NOVA_CUDNN_CHECK(op, cudnnSetTensor4dDescriptor(yd.desc, CUDNN_TENSOR_NCHW, type, narrow_int(op, y.size(0)),
                                                  narrow_int(op, y.size(1)), narrow_int(op, y.size(2)),
                                                  narrow_int(op, y.size(3))));
  NOVA_CUDNN_CHECK(op,
                   cudnnSetTensor4dDescriptor(bd.desc, CUDNN_TENSOR_NCHW, type, 1, narrow_int(op, y.size(1)), 1, 1));
  const Scale one(1);
  NOVA_CUDNN_CHECK(op, cudnnAddTensor(call.handle, one.of(type), bd.desc, bias.raw_data(), one.of(type), yd.desc,
                                      y.raw_data()));
}

}  // namespace

void conv2d_forward_cudnn(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y) {
  const char* op = "conv2d (cuDNN)";
  if (y.numel() == 0) return;
  DeviceGuard guard(y.device().index);
  Call call(op, y);
  if (x.numel() == 0 || w.numel() == 0) {  // no input channel, pixel or tap: y = bias (or 0)
    fill_zero(op, call, y);
    if (bias.defined()) add_bias(op, call, bias, y);
    return;
  }
  Descriptors d(op, g, y.dtype());
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int found = 0;
  NOVA_CUDNN_CHECK(op, cudnnGetConvolutionForwardAlgorithm_v7(call.handle, d.x, d.w, d.conv, d.y,
                                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf));
  const cudnnConvolutionFwdAlgo_t algo = choose_algorithm(op, d, perf, found);
  size_t bytes = 0;
  NOVA_CUDNN_CHECK(op, cudnnGetConvolutionForwardWorkspaceSize(call.handle, d.x, d.w, d.conv, d.y, algo, &bytes));
  DeviceBuffer workspace = workspace_of(bytes, call.device);
  const Scale one(1), zero(0);
  NOVA_CUDNN_CHECK(op, cudnnConvolutionForward(call.handle, one.of(d.type), d.x, x.raw_data(), d.w, w.raw_data(),
                                               d.conv, algo, workspace.view().raw_data(), bytes,
                                               zero.of(d.type), d.y, y.raw_data()));
  if (bias.defined()) add_bias(op, call, bias, y);
}

void conv2d_backward_data_cudnn(const Conv2dGeometry& g, const View& grad_y, const View& w, const View& grad_x) {
  const char* op = "conv2d backward-data (cuDNN)";
  if (grad_x.numel() == 0) return;
  DeviceGuard guard(grad_x.device().index);
  Call call(op, grad_x);
  // no output pixel or no tap: nothing reads x
  if (grad_y.numel() == 0 || w.numel() == 0) return fill_zero(op, call, grad_x);
  Descriptors d(op, g, grad_x.dtype());
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int found = 0;
  NOVA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardDataAlgorithm_v7(call.handle, d.w, d.y, d.conv, d.x,
                                                                   CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found,
                                                                   perf));
  const cudnnConvolutionBwdDataAlgo_t algo = choose_algorithm(op, d, perf, found);
  size_t bytes = 0;
  NOVA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardDataWorkspaceSize(call.handle, d.w, d.y, d.conv, d.x, algo,
                                                                    &bytes));
  DeviceBuffer workspace = workspace_of(bytes, call.device);
  const Scale one(1), zero(0);
  NOVA_CUDNN_CHECK(op, cudnnConvolutionBackwardData(call.handle, one.of(d.type), d.w, w.raw_data(), d.y,
                                                    grad_y.raw_data(), d.conv, algo,
                                                    workspace.view().raw_data(), bytes, zero.of(d.type),
                                                    d.x, grad_x.raw_data()));
}

void conv2d_backward_filter_cudnn(const Conv2dGeometry& g, const View& x, const View& grad_y, const View& grad_w) {
  const char* op = "conv2d backward-filter (cuDNN)";
  if (grad_w.numel() == 0) return;
  DeviceGuard guard(grad_w.device().index);
  Call call(op, grad_w);
  // an empty batch (N*P*Q == 0) or input: the sum over n, p, q has no term
  if (x.numel() == 0 || grad_y.numel() == 0) return fill_zero(op, call, grad_w);
  Descriptors d(op, g, grad_w.dtype());
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int found = 0;
  NOVA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardFilterAlgorithm_v7(call.handle, d.x, d.y, d.conv, d.w,
                                                                     CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                                     &found, perf));
  const cudnnConvolutionBwdFilterAlgo_t algo = choose_algorithm(op, d, perf, found);
  size_t bytes = 0;
  NOVA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardFilterWorkspaceSize(call.handle, d.x, d.y, d.conv, d.w, algo,
                                                                      &bytes));
  DeviceBuffer workspace = workspace_of(bytes, call.device);
  const Scale one(1), zero(0);
  NOVA_CUDNN_CHECK(op, cudnnConvolutionBackwardFilter(call.handle, one.of(d.type), d.x, x.raw_data(), d.y,
                                                      grad_y.raw_data(), d.conv, algo,
                                                      workspace.view().raw_data(), bytes, zero.of(d.type),
                                                      d.w, grad_w.raw_data()));
}

}  // namespace nova::cuda
