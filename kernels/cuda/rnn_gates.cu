// kernels/cuda/rnn_gates.cu: the fused GRU / LSTM gate kernels (see
// kernels/rnn_gates.h), mirroring kernels/cpu/rnn_gates.cpp: one thread per
// element (b, j) of the step (grid-stride over B * H), running the same
// per-element formulas (kernels/rnn_gates_math.h) as the CPU loop.
// v1, a direct port; never run on a GPU yet (tests/test_rnn_gates_cuda.cpp
// holds the parity test for when one is lent).
#include "kernels/rnn_gates.h"

#include <cuda_runtime.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/rnn_gates_math.h"

namespace nova::cuda {

namespace {

template <typename T>
__global__ void gru_forward_kernel(const T* gi, const T* gh, const T* h, T* h_new, T* saved,
                                   int64_t B, int64_t H) {
  const int64_t n = B * H, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e - b * H;
    rnn_math::gru_forward(gi + b * 3 * H, gh + b * 3 * H, h + b * H, h_new + b * H,
                          saved + b * 4 * H, H, j);
  }
}

template <typename T>
__global__ void gru_backward_kernel(const T* g, const T* saved, const T* h, T* grad_gi,
                                    T* grad_gh, T* grad_h, int64_t B, int64_t H) {
  const int64_t n = B * H, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e - b * H;
    rnn_math::gru_backward(g + b * H, saved + b * 4 * H, h + b * H,
                           grad_gi ? grad_gi + b * 3 * H : nullptr,
                           grad_gh ? grad_gh + b * 3 * H : nullptr,
                           grad_h ? grad_h + b * H : nullptr, H, j);
  }
}

template <typename T>
__global__ void lstm_forward_kernel(const T* gi, const T* gh, const T* c, T* out, T* saved,
                                    int64_t B, int64_t H) {
  const int64_t n = B * H, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e - b * H;
    rnn_math::lstm_forward(gi + b * 4 * H, gh + b * 4 * H, c + b * H, out + b * H,
                           out + n + b * H, saved + b * 5 * H, H, j);
  }
}

template <typename T>
__global__ void lstm_backward_kernel(const T* grad_out, const T* saved, const T* c,
                                     T* grad_gates, T* grad_c, int64_t B, int64_t H) {
  const int64_t n = B * H, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e - b * H;
    rnn_math::lstm_backward(grad_out + b * H, grad_out + n + b * H, saved + b * 5 * H, c + b * H,
                            grad_gates ? grad_gates + b * 4 * H : nullptr,
                            grad_c ? grad_c + b * H : nullptr, H, j);
  }
}

}  // namespace

void gru_gates_forward(const View& gi, const View& gh, const View& h, const View& h_new,
                       const View& saved) {
  const int64_t B = h.size(0), H = h.size(1);
  if (B * H == 0) return;
  dispatch_floating("gru_gates", h.dtype(), [&](auto tag) {
    using T = decltype(tag);
    DeviceGuard guard(h.device().index);
    gru_forward_kernel<T><<<blocks_for(B * H), kThreads, 0, stream_of(h)>>>(
        gi.data<T>(), gh.data<T>(), h.data<T>(), h_new.data<T>(), saved.data<T>(), B, H);
  });
  NOVA_CUDA_LAUNCH_CHECK("gru_gates");
}

void gru_gates_backward(const View& grad_h_new, const View& saved, const View& h,
                        const View& grad_gi, const View& grad_gh, const View& grad_h) {
  const int64_t B = h.size(0), H = h.size(1);
  if (B * H == 0) return;
  dispatch_floating("gru_gates", h.dtype(), [&](auto tag) {
    using T = decltype(tag);
    DeviceGuard guard(h.device().index);
    gru_backward_kernel<T><<<blocks_for(B * H), kThreads, 0, stream_of(h)>>>(
        grad_h_new.data<T>(), saved.data<T>(), h.data<T>(), grad_gi.data_or_null<T>(),
        grad_gh.data_or_null<T>(), grad_h.data_or_null<T>(), B, H);
  });
  NOVA_CUDA_LAUNCH_CHECK("gru_gates");
}

void lstm_gates_forward(const View& gi, const View& gh, const View& c, const View& out,
                        const View& saved) {
  const int64_t B = c.size(0), H = c.size(1);
  if (B * H == 0) return;
  dispatch_floating("lstm_gates", c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    DeviceGuard guard(c.device().index);
    lstm_forward_kernel<T><<<blocks_for(B * H), kThreads, 0, stream_of(c)>>>(
        gi.data<T>(), gh.data<T>(), c.data<T>(), out.data<T>(), saved.data<T>(), B, H);
  });
  NOVA_CUDA_LAUNCH_CHECK("lstm_gates");
}

void lstm_gates_backward(const View& grad_out, const View& saved, const View& c,
                         const View& grad_gates, const View& grad_c) {
  const int64_t B = c.size(0), H = c.size(1);
  if (B * H == 0) return;
  dispatch_floating("lstm_gates", c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    DeviceGuard guard(c.device().index);
    lstm_backward_kernel<T><<<blocks_for(B * H), kThreads, 0, stream_of(c)>>>(
        grad_out.data<T>(), saved.data<T>(), c.data<T>(), grad_gates.data_or_null<T>(),
        grad_c.data_or_null<T>(), B, H);
  });
  NOVA_CUDA_LAUNCH_CHECK("lstm_gates");
}

}  // namespace nova::cuda
