// kernels/cuda/ncgru_gates.cu: NC-GRU's fused gate kernels on the GPU (see
// kernels/ncgru_gates.h): one thread per element (b, j) of a step, grid-
// stride, the formulas of kernels/ncgru_gates_math.h, so the CPU and the GPU
// compute the same expressions. Operands are rows with any row stride.
// nvcc may fuse a * b + c into one FMA here (its default), so the GPU's last
// bits can differ from the separate elementwise kernels' (the CPU file is
// compiled to give the ops' bits exactly); the parity tests allow float
// rounding.
#include "kernels/ncgru_gates.h"

#include <cuda_runtime.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/ncgru_gates_math.h"

namespace nova::cuda {

namespace {

/// A 2-D operand on the device: row b starts at p + b * ld (p null: absent).
template <typename T>
struct Rows {
  T* p;
  int64_t ld;
  __device__ T* at(int64_t b) const { return p ? p + b * ld : nullptr; }
};

template <typename T>
Rows<T> rows(const View& v) {
  if (!v.defined()) return {nullptr, 0};
  NOVA_CHECK(v.dim() == 1 || v.strides()[1] == 1 || v.size(1) <= 1, "ncgru gates: operands need unit column stride");
  return {v.data<T>(), v.dim() == 2 ? v.strides()[0] : 0};
}

template <typename T>
__global__ void forward_gates_kernel(Rows<T> proj, Rows<T> lin, Rows<T> h, Rows<T> ru, Rows<T> rh, int64_t B,
                                     int64_t H) {
  const int64_t n = B * 2 * H, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / (2 * H), j = e - b * 2 * H;
    ncgru_math::forward_gates<T>(proj.at(b), lin.at(b), h.at(b), ru.at(b), rh.at(b), H, j);
  }
}

template <typename T>
__global__ void forward_state_kernel(Rows<T> proj, Rows<T> m, const T* b_c, Rows<T> ru, Rows<T> h, Rows<T> z,
                                     Rows<T> c, Rows<T> h_new, int64_t B, int64_t H) {
  const int64_t n = B * H, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e - b * H;
    ncgru_math::forward_state<T>(proj.at(b), m.at(b), b_c, ru.at(b), h.at(b), z.at(b), c.at(b), h_new.at(b), H, j);
  }
}

template <typename T>
__global__ void backward_candidate_kernel(Rows<T> grad_t, Rows<T> dh_next, Rows<T> ru, Rows<T> c, Rows<T> h_prev,
                                          Rows<T> z, const T* b_c, Rows<T> g, Rows<T> du, Rows<T> d_bc,
                                          Rows<T> d_proj, int64_t B, int64_t H) {
  const int64_t n = B * H, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e - b * H;
    ncgru_math::backward_candidate<T>(grad_t.at(b), dh_next.at(b), ru.at(b), c.at(b), h_prev.at(b), z.at(b), b_c,
                                      g.at(b), du.at(b), d_bc.at(b), d_proj.at(b), H, j);
  }
}

template <typename T>
__global__ void backward_gates_kernel(Rows<T> g, Rows<T> du, Rows<T> d_rh, Rows<T> h_prev, Rows<T> ru,
                                      Rows<T> d_proj, Rows<T> dh_part, int64_t B, int64_t H) {
  const int64_t n = B * H, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e - b * H;
    ncgru_math::backward_gates<T>(g.at(b), du.at(b), d_rh.at(b), h_prev.at(b), ru.at(b), d_proj.at(b),
                                  dh_part.at(b), H, j);
  }
}

}  // namespace

void ncgru_forward_gates(const View& proj, const View& lin, const View& h, const View& ru, const View& rh) {
  DeviceGuard guard(h.device().index);
  dispatch_floating("ncgru_forward_gates", h.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t B = h.size(0), H = h.size(1);
    if (B * H == 0) return;
    forward_gates_kernel<T><<<blocks_for(B * 2 * H), kThreads, 0, stream_of(h)>>>(
        rows<T>(proj), rows<T>(lin), rows<T>(h), rows<T>(ru), rows<T>(rh), B, H);
    NOVA_CUDA_LAUNCH_CHECK("ncgru_forward_gates");
  });
}

void ncgru_forward_state(const View& proj, const View& m, const View& b_c, const View& ru, const View& h,
                         const View& z, const View& c, const View& h_new) {
  DeviceGuard guard(h.device().index);
  dispatch_floating("ncgru_forward_state", h.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t B = h.size(0), H = h.size(1);
    if (B * H == 0) return;
    forward_state_kernel<T><<<blocks_for(B * H), kThreads, 0, stream_of(h)>>>(
        rows<T>(proj), rows<T>(m), b_c.data<T>(), rows<T>(ru), rows<T>(h), rows<T>(z), rows<T>(c), rows<T>(h_new),
        B, H);
    NOVA_CUDA_LAUNCH_CHECK("ncgru_forward_state");
  });
}

void ncgru_backward_candidate(const View& grad_t, const View& dh_next, const View& ru, const View& c,
                              const View& h_prev, const View& z, const View& b_c, const View& g, const View& du,
                              const View& d_bc, const View& d_proj) {
  DeviceGuard guard(c.device().index);
  dispatch_floating("ncgru_backward_candidate", c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t B = c.size(0), H = c.size(1);
    if (B * H == 0) return;
    backward_candidate_kernel<T><<<blocks_for(B * H), kThreads, 0, stream_of(c)>>>(
        rows<T>(grad_t), rows<T>(dh_next), rows<T>(ru), rows<T>(c), rows<T>(h_prev), rows<T>(z), b_c.data<T>(),
        rows<T>(g), rows<T>(du), rows<T>(d_bc), rows<T>(d_proj), B, H);
    NOVA_CUDA_LAUNCH_CHECK("ncgru_backward_candidate");
  });
}

void ncgru_backward_gates(const View& g, const View& du, const View& d_rh, const View& h_prev, const View& ru,
                          const View& d_proj, const View& dh_part) {
  DeviceGuard guard(g.device().index);
  dispatch_floating("ncgru_backward_gates", g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t B = g.size(0), H = g.size(1);
    if (B * H == 0) return;
    backward_gates_kernel<T><<<blocks_for(B * H), kThreads, 0, stream_of(g)>>>(
        rows<T>(g), rows<T>(du), rows<T>(d_rh), rows<T>(h_prev), rows<T>(ru), rows<T>(d_proj), rows<T>(dh_part), B,
        H);
    NOVA_CUDA_LAUNCH_CHECK("ncgru_backward_gates");
  });
}

}  // namespace nova::cuda
