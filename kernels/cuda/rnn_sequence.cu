// kernels/cuda/rnn_sequence.cu: the persistent whole-sequence GRU / LSTM
// kernels (see kernels/cuda/rnn_sequence.h for the contract, the design and
// the size limit). One launch runs all T steps of a layer's forward, one
// more all T steps of its backward through time; each block owns `rows`
// consecutive batch rows and holds W_hh in shared memory for the whole
// sequence. Rows never read each other, so a block synchronises only with
// itself (__syncthreads between the phases of a step) and the blocks need
// not even be resident at the same time: correctness does not depend on the
// grid fitting the GPU.
//
// The kernel bodies are in kernels/cuda/rnn_sequence_impl.h (plain C++,
// also run on the CPU by tests/test_rnn_sequence_emulation.cpp); this file
// holds the launches: the block shape (make_plan), the shared-memory opt-in,
// and the device queries behind the size limit.
//
// v1: written without a GPU at hand (only compiled); the parity tests are
// tests/test_rnn_sequence_cuda.cpp (against the CPU and against the
// per-step CUDA path, NOVA_RNN_PERSISTENT=0), run by tools/gpu-check.sh,
// also under compute-sanitizer memcheck and racecheck.
#include "kernels/cuda/rnn_sequence.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/rnn_sequence_impl.h"

namespace nova::cuda {

namespace {

/// Most threads per block of these kernels (their launch bound).
constexpr int kMaxSeqThreads = 512;

using rnn_seq::row_elems_backward;
using rnn_seq::row_elems_forward;

/// Shared memory of one block in bytes (rnn_sequence_impl.h's layout).
size_t smem_bytes(int gates, int64_t H, int rows, int per_row, size_t elem) {
  return elem * size_t(rnn_seq::smem_elems(gates, H, rows, per_row));
}

constexpr int kMaxDevices = 64;

/// A device attribute, cached per device (the answers never change); 0 when
/// the query fails.
int cached_attribute(cudaDeviceAttr attr, std::atomic<int>* cache, int device) {
  if (device < 0 || device >= kMaxDevices) return 0;
  int v = cache[device].load(std::memory_order_relaxed);
  if (v > 0) return v;
  if (cudaDeviceGetAttribute(&v, attr, device) != cudaSuccess) {
    cudaGetLastError();  // clear it, so that the next launch check does not report it
    return 0;
  }
  cache[device].store(v, std::memory_order_relaxed);
  return v;
}

std::atomic<int> g_smem_optin[kMaxDevices];
std::atomic<int> g_sm_count[kMaxDevices];

int smem_optin(int device) {
  return cached_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, g_smem_optin, device);
}
int sm_count(int device) { return cached_attribute(cudaDevAttrMultiProcessorCount, g_sm_count, device); }

/// How one persistent launch is shaped.
struct Plan {
  int rows = 1;     // batch rows per block
  int blocks = 1;   // ceil(B / rows)
  int threads = 64;
  size_t smem = 0;  // dynamic shared memory, bytes
};

/// Rows per block: enough that the blocks fill the SMs in one wave
/// (ceil(B / SMs)), fewer when their buffers would not fit beside W_hh
/// (at least 1: rnn_sequence_supported() checked that one row fits).
Plan make_plan(int gates, int64_t B, int64_t H, int per_row, size_t elem, int device) {
  Plan p;
  const int64_t limit = smem_optin(device);
  const int64_t sms = std::max(1, sm_count(device));
  int64_t rows = std::min<int64_t>(B, (B + sms - 1) / sms);
  while (rows > 1 && int64_t(smem_bytes(gates, H, int(rows), per_row, elem)) > limit) --rows;
  // a block's threads walk rows * kH outputs per step: up to kMaxSeqThreads
  while (rows > 1 && rows * gates * H > int64_t(kMaxSeqThreads) * 4) --rows;
  p.rows = int(std::max<int64_t>(rows, 1));
  p.blocks = int((B + p.rows - 1) / p.rows);
  const int64_t work = int64_t(p.rows) * gates * H;
  p.threads = int(std::clamp<int64_t>((work + 31) / 32 * 32, 64, kMaxSeqThreads));
  p.smem = smem_bytes(gates, H, p.rows, per_row, elem);
  return p;
}

/// Lets `kernel` use p.smem bytes of dynamic shared memory (above 48 KiB a
/// kernel must opt in) and launches it.
template <typename Kernel, typename... Args>
void launch(const char* op, Kernel kernel, const Plan& p, cudaStream_t s, Args... args) {
  NOVA_CUDA_CHECK(op, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(p.smem)));
  kernel<<<p.blocks, p.threads, p.smem, s>>>(args...);
  NOVA_CUDA_LAUNCH_CHECK(op);
}

/// The CUDA block as rnn_sequence_impl.h's policy. Host and device, as the
/// bodies are (NOVA_HD); only the device side ever runs.
struct DeviceBlock {
#if defined(__CUDA_ARCH__)
  __host__ __device__ int tid() const { return threadIdx.x; }
  __host__ __device__ int threads() const { return blockDim.x; }
  __host__ __device__ int block() const { return blockIdx.x; }
  __host__ __device__ void sync() const { __syncthreads(); }
#else
  __host__ __device__ int tid() const { return 0; }
  __host__ __device__ int threads() const { return 1; }
  __host__ __device__ int block() const { return 0; }
  __host__ __device__ void sync() const {}
#endif
};

/// The block's dynamic shared memory as elements of T.
template <typename T>
__device__ T* shared_elems() {
  extern __shared__ __align__(16) unsigned char nova_rnn_seq_smem[];
  return reinterpret_cast<T*>(nova_rnn_seq_smem);
}

template <typename T>
__global__ void __launch_bounds__(kMaxSeqThreads)
gru_sequence_forward_kernel(const T* gi, const T* h0, const T* w, const T* bias, T* out, T* saved,
                            int64_t steps, int B, int H, int rows_per_block) {
  rnn_seq::gru_sequence_forward(DeviceBlock(), shared_elems<T>(), gi, h0, w, bias, out, saved, steps, B, H,
                                rows_per_block);
}

template <typename T>
__global__ void __launch_bounds__(kMaxSeqThreads)
lstm_sequence_forward_kernel(const T* gi, const T* h0, const T* c0, const T* w, const T* bias, T* hc,
                             T* saved, int64_t steps, int B, int H, int rows_per_block) {
  rnn_seq::lstm_sequence_forward(DeviceBlock(), shared_elems<T>(), gi, h0, c0, w, bias, hc, saved, steps, B, H,
                                 rows_per_block);
}

template <typename T>
__global__ void __launch_bounds__(kMaxSeqThreads)
gru_sequence_backward_kernel(const T* grad_out, const T* saved, const T* out, const T* h0, const T* w,
                             T* grad_gi, T* grad_gh, T* grad_h0, int64_t steps, int B, int H,
                             int rows_per_block) {
  rnn_seq::gru_sequence_backward(DeviceBlock(), shared_elems<T>(), grad_out, saved, out, h0, w, grad_gi, grad_gh,
                                 grad_h0, steps, B, H, rows_per_block);
}

template <typename T>
__global__ void __launch_bounds__(kMaxSeqThreads)
lstm_sequence_backward_kernel(const T* grad_hc, const T* saved, const T* hc, const T* c0, const T* w,
                              T* grad_gates, T* grad_h0, T* grad_c0, int64_t steps, int B, int H,
                              int rows_per_block) {
  rnn_seq::lstm_sequence_backward(DeviceBlock(), shared_elems<T>(), grad_hc, saved, hc, c0, w, grad_gates,
                                  grad_h0, grad_c0, steps, B, H, rows_per_block);
}

}  // namespace

int64_t rnn_sequence_max_hidden(int gates, DType dtype, int device) {
  if (gates != 3 && gates != 4) return 0;
  const size_t elem = dtype == kFloat64 ? sizeof(double) : sizeof(float);
  const int64_t limit = smem_optin(device);
  const int per_row = std::max(row_elems_forward(gates), row_elems_backward(gates));
  int64_t H = 0;
  while (int64_t(smem_bytes(gates, H + 1, 1, per_row, elem)) <= limit) ++H;
  return H;
}

bool rnn_sequence_supported(int gates, int64_t hidden, int64_t batch, DType dtype, int device) {
  if (dtype != kFloat32 && dtype != kFloat64) return false;
  if (hidden < 1 || batch < 1 || batch > (int64_t(1) << 30)) return false;
  return hidden <= rnn_sequence_max_hidden(gates, dtype, device);
}

void gru_sequence_forward(const View& gi, const View& h0, const View& w_hh, const View& b_hh,
                          const View& out, const View& saved) {
  const int64_t steps = gi.size(0), B = h0.size(0), H = h0.size(1);
  if (steps * B * H == 0) return;
  dispatch_floating("gru_recurrence", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    DeviceGuard guard(h0.device().index);
    const Plan p = make_plan(3, B, H, row_elems_forward(3), sizeof(T), h0.device().index);
    launch("gru_recurrence", gru_sequence_forward_kernel<T>, p, stream_of(h0), gi.data<T>(), h0.data<T>(),
           w_hh.data<T>(), b_hh.data_or_null<T>(), out.data<T>(), saved.data<T>(), steps, int(B), int(H),
           p.rows);
  });
}

void gru_sequence_backward(const View& grad_out, const View& saved, const View& out, const View& h0,
                           const View& w_hh, const View& grad_gi, const View& grad_gh,
                           const View& grad_h0) {
  const int64_t steps = out.size(0), B = h0.size(0), H = h0.size(1);
  if (steps * B * H == 0) return;
  dispatch_floating("gru_recurrence", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    DeviceGuard guard(h0.device().index);
    const Plan p = make_plan(3, B, H, row_elems_backward(3), sizeof(T), h0.device().index);
    launch("gru_recurrence", gru_sequence_backward_kernel<T>, p, stream_of(h0), grad_out.data<T>(),
           saved.data<T>(), out.data<T>(), h0.data<T>(), w_hh.data<T>(), grad_gi.data<T>(), grad_gh.data<T>(),
           grad_h0.data<T>(), steps, int(B), int(H), p.rows);
  });
}

void lstm_sequence_forward(const View& gi, const View& h0, const View& c0, const View& w_hh,
                           const View& b_hh, const View& hc, const View& saved) {
  const int64_t steps = gi.size(0), B = h0.size(0), H = h0.size(1);
  if (steps * B * H == 0) return;
  dispatch_floating("lstm_recurrence", h0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    DeviceGuard guard(h0.device().index);
    const Plan p = make_plan(4, B, H, row_elems_forward(4), sizeof(T), h0.device().index);
    launch("lstm_recurrence", lstm_sequence_forward_kernel<T>, p, stream_of(h0), gi.data<T>(), h0.data<T>(),
           c0.data<T>(), w_hh.data<T>(), b_hh.data_or_null<T>(), hc.data<T>(), saved.data<T>(), steps, int(B),
           int(H), p.rows);
  });
}

void lstm_sequence_backward(const View& grad_hc, const View& saved, const View& hc, const View& c0,
                            const View& w_hh, const View& grad_gates, const View& grad_h0,
                            const View& grad_c0) {
  const int64_t steps = hc.size(0), B = c0.size(0), H = c0.size(1);
  if (steps * B * H == 0) return;
  dispatch_floating("lstm_recurrence", c0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    DeviceGuard guard(c0.device().index);
    const Plan p = make_plan(4, B, H, row_elems_backward(4), sizeof(T), c0.device().index);
    launch("lstm_recurrence", lstm_sequence_backward_kernel<T>, p, stream_of(c0), grad_hc.data<T>(),
           saved.data<T>(), hc.data<T>(), c0.data<T>(), w_hh.data<T>(), grad_gates.data<T>(), grad_h0.data<T>(),
           grad_c0.data<T>(), steps, int(B), int(H), p.rows);
  });
}

}  // namespace nova::cuda
