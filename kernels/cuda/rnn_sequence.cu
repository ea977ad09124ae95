// kernels/cuda/rnn_sequence.cu: the GRU recurrence and its backpropagation
// through time on the GPU (see kernels/rnn_sequence.h for the equations).
// v1, correctness first: per time step one launch with a thread per (row b,
// unit j) that forms its three hidden projections by dot products over W_hh's
// rows and applies the gates; the backward's two launches per step form the
// gate gradients, then dh_{t-1} = dh z + dgh W_hh with a thread per (b, k);
// the weight and bias gradients are one launch each after the loop, a thread
// per element summing over the T*B rows in a fixed order (deterministic).
// A persistent kernel holding W_hh in shared memory is the fast path still
// to come (issue 18); this one is what it will be checked against.
#include "kernels/rnn_sequence.h"

#include <cuda_runtime.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"

namespace nova::cuda {

namespace {

template <typename T>
__device__ T sigmoid_of(T x) {
  return T(1) / (T(1) + exp(-x));
}

/// Step t: hs[t] and saved[t] from h_{t-1} (h0 or hs[t-1]).
template <typename T>
__global__ void forward_step(int64_t t, int64_t B, int64_t H, const T* __restrict__ gi, const T* __restrict__ h0,
                             const T* __restrict__ w, const T* __restrict__ bias, T* __restrict__ hs,
                             T* __restrict__ saved) {
  const int64_t total = B * H, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t b = e / H, j = e % H;
    const T* hp = t == 0 ? h0 + b * H : hs + ((t - 1) * B + b) * H;
    T ghr = bias ? bias[j] : T(0), ghz = bias ? bias[H + j] : T(0), ghn = bias ? bias[2 * H + j] : T(0);
    const T* wr = w + j * H;
    const T* wz = w + (H + j) * H;
    const T* wn = w + (2 * H + j) * H;
    for (int64_t k = 0; k < H; ++k) {
      const T h = hp[k];
      ghr += h * wr[k];
      ghz += h * wz[k];
      ghn += h * wn[k];
    }
    const int64_t row = t * B + b;
    const T* g = gi + row * 3 * H;
    const T r = sigmoid_of(g[j] + ghr);
    const T z = sigmoid_of(g[H + j] + ghz);
    const T n = tanh(g[2 * H + j] + r * ghn);
    hs[row * H + j] = (T(1) - z) * n + z * hp[j];
    T* s = saved + row * 4 * H;
    s[j] = r;
    s[H + j] = z;
    s[2 * H + j] = n;
    s[3 * H + j] = ghn;
  }
}

/// Step t's gate gradients: dgh[t], grad_gi[t] and the direct part dh * z
/// of dh_{t-1} (into direct), from dh = grad_hs[t] + carry.
template <typename T>
__global__ void backward_gates(int64_t t, int64_t B, int64_t H, const T* __restrict__ ghs,
                               const T* __restrict__ carry, const T* __restrict__ h0, const T* __restrict__ hs,
                               const T* __restrict__ saved, T* __restrict__ dgh, T* __restrict__ ggi,
                               T* __restrict__ direct) {
  const int64_t total = B * H, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t b = e / H, j = e % H, row = t * B + b;
    const T h_prev = t == 0 ? h0[b * H + j] : hs[((t - 1) * B + b) * H + j];
    const T* s = saved + row * 4 * H;
    const T r = s[j], z = s[H + j], n = s[2 * H + j], ghn = s[3 * H + j];
    const T dh = ghs[row * H + j] + carry[e];
    const T an = dh * (T(1) - z) * (T(1) - n * n);
    const T ar = an * ghn * r * (T(1) - r);
    const T az = dh * (h_prev - n) * z * (T(1) - z);
    T* d = dgh + row * 3 * H;
    d[j] = ar;
    d[H + j] = az;
    d[2 * H + j] = an * r;
    if (ggi) {
      T* gg = ggi + row * 3 * H;
      gg[j] = ar;
      gg[H + j] = az;
      gg[2 * H + j] = an;
    }
    direct[e] = dh * z;
  }
}

/// carry[b, k] = direct[b, k] + sum_m dgh[t, b, m] W_hh[m, k].
template <typename T>
__global__ void backward_carry(int64_t t, int64_t B, int64_t H, const T* __restrict__ dgh,
                               const T* __restrict__ w, const T* __restrict__ direct, T* __restrict__ carry) {
  const int64_t total = B * H, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t b = e / H, k = e % H;
    const T* d = dgh + (t * B + b) * 3 * H;
    T acc = direct[e];
    for (int64_t m = 0; m < 3 * H; ++m) acc += d[m] * w[m * H + k];
    carry[e] = acc;
  }
}

/// grad_w[m, k] = sum over rows of dgh[row, m] h_prev[row, k]; grad_b[m] the same without h.
template <typename T>
__global__ void backward_weights(int64_t Tn, int64_t B, int64_t H, const T* __restrict__ dgh,
                                 const T* __restrict__ h0, const T* __restrict__ hs, T* __restrict__ gw,
                                 T* __restrict__ gb) {
  const int64_t total = 3 * H * (H + 1), stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t m = e / (H + 1), k = e % (H + 1);  // k == H: the bias
    if (k == H ? gb == nullptr : gw == nullptr) continue;
    T acc = T(0);
    for (int64_t row = 0; row < Tn * B; ++row) {
      const T h = k == H ? T(1) : row < B ? h0[row * H + k] : hs[(row - B) * H + k];
      acc += dgh[row * 3 * H + m] * h;
    }
    if (k == H) gb[m] = acc;
    else gw[m * H + k] = acc;
  }
}

template <typename T>
void forward_typed(const View& gi, const View& h0, const View& w, const View& b, const View& hs, const View& saved) {
  const int64_t Tn = gi.size(0), B = gi.size(1), H = gi.size(2) / 3;
  cudaStream_t s = stream_of(gi);
  for (int64_t t = 0; t < Tn; ++t) {
    forward_step<T><<<blocks_for(B * H), kThreads, 0, s>>>(t, B, H, gi.data<T>(), h0.data<T>(), w.data<T>(),
                                                           b.data_or_null<T>(), hs.data<T>(), saved.data<T>());
    NOVA_CUDA_LAUNCH_CHECK("gru_sequence");
  }
}

template <typename T>
void backward_typed(const View& ghs, const View& h0, const View& w, const View& hs, const View& saved,
                    const View& ggi, const View& gh0, const View& gw, const View& gb, const View& ws) {
  const int64_t Tn = ghs.size(0), B = ghs.size(1), H = ghs.size(2);
  cudaStream_t s = stream_of(ghs);
  T* dgh = ws.data<T>();  // [T*B, 3H] | carry [B, H] | direct [B, H]
  T* carry = dgh + Tn * B * 3 * H;
  T* direct = carry + B * H;
  NOVA_CUDA_CHECK("gru_sequence_backward", cudaMemsetAsync(carry, 0, sizeof(T) * B * H, s));
  for (int64_t t = Tn - 1; t >= 0; --t) {
    backward_gates<T><<<blocks_for(B * H), kThreads, 0, s>>>(t, B, H, ghs.data<T>(), carry, h0.data<T>(),
                                                             hs.data<T>(), saved.data<T>(), dgh,
                                                             ggi.data_or_null<T>(), direct);
    NOVA_CUDA_LAUNCH_CHECK("gru_sequence_backward");
    backward_carry<T><<<blocks_for(B * H), kThreads, 0, s>>>(t, B, H, dgh, w.data<T>(), direct, carry);
    NOVA_CUDA_LAUNCH_CHECK("gru_sequence_backward");
  }
  if (gh0.defined())
    NOVA_CUDA_CHECK("gru_sequence_backward",
                    cudaMemcpyAsync(gh0.data<T>(), carry, sizeof(T) * B * H, cudaMemcpyDeviceToDevice, s));
  if (gw.defined() || gb.defined()) {
    backward_weights<T><<<blocks_for(3 * H * (H + 1)), kThreads, 0, s>>>(
        Tn, B, H, dgh, h0.data<T>(), hs.data<T>(), gw.data_or_null<T>(), gb.data_or_null<T>());
    NOVA_CUDA_LAUNCH_CHECK("gru_sequence_backward");
  }
}

}  // namespace

int64_t gru_sequence_forward_workspace(int64_t, int64_t, int64_t) { return 0; }

int64_t gru_sequence_backward_workspace(int64_t T, int64_t B, int64_t H) { return T * B * 3 * H + 2 * B * H; }

void gru_sequence_forward(const View& gi, const View& h0, const View& w_hh, const View& b_hh, const View& hs,
                          const View& saved, const View&) {
  dispatch_floating("gru_sequence", gi.dtype(),
                    [&](auto tag) { forward_typed<decltype(tag)>(gi, h0, w_hh, b_hh, hs, saved); });
}

void gru_sequence_backward(const View& grad_hs, const View& h0, const View& w_hh, const View& hs,
                           const View& saved, const View& grad_gi, const View& grad_h0, const View& grad_w_hh,
                           const View& grad_b_hh, const View& workspace) {
  dispatch_floating("gru_sequence_backward", grad_hs.dtype(), [&](auto tag) {
    backward_typed<decltype(tag)>(grad_hs, h0, w_hh, hs, saved, grad_gi, grad_h0, grad_w_hh, grad_b_hh,
                                  workspace);
  });
}

}  // namespace nova::cuda
