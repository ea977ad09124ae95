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
// Per step, forward: (1) gh = h W_hh^T + b_hh for the block's rows, one
// thread per output (r, k), W_hh^T in shared memory so that the threads of a
// warp read consecutive words; (2) the gate math per element (r, j) with the
// formulas of kernels/rnn_gates_math.h (the per-step kernels' own), h (and
// c) updated in shared memory. Backward, per step from the last: (1) the
// fused gate backward per element, the step's gate gradients into shared
// memory; (2) copy them out (the caller forms dW_hh, db_hh from them) and
// dh_{t-1} = dgates W_hh (+ the GRU's direct z term), W_hh untransposed so
// that the threads read consecutive words again.
//
// In-block indices are int (a block's shared memory bounds them); offsets
// into the [T, B, ...] tensors are int64.
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
#include "kernels/rnn_gates_math.h"

namespace nova::cuda {

namespace {

/// Most threads per block of these kernels (their launch bound).
constexpr int kMaxSeqThreads = 512;

/// Shared-memory elements per batch row, beside W_hh (k H^2): forward GRU
/// gh (3H) + h (H); forward LSTM gh (4H) + h + c; backward GRU dgates (3H) +
/// dh + g + dh_direct; backward LSTM dgates (4H) + dh + dc + g_h + g_c.
constexpr int row_elems_forward(int gates) { return gates == 3 ? 4 : 6; }
constexpr int row_elems_backward(int gates) { return gates == 3 ? 6 : 8; }

/// Shared memory of one block: W_hh and `rows` rows of `per_row` H elements.
size_t smem_bytes(int gates, int64_t H, int rows, int per_row, size_t elem) {
  return elem * size_t(gates * H * H + int64_t(rows) * per_row * H);
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

/// The block's dynamic shared memory as elements of T.
template <typename T>
__device__ T* shared_elems() {
  extern __shared__ __align__(16) unsigned char nova_rnn_seq_smem[];
  return reinterpret_cast<T*>(nova_rnn_seq_smem);
}

/// Copies W_hh [kH, H] into shared memory transposed, wt[j kH + k] =
/// w[k H + j] (the forward's matvec reads consecutive k across a warp).
template <typename T>
__device__ void load_transposed(T* wt, const T* w, int GH, int H) {
  for (int e = threadIdx.x; e < GH * H; e += blockDim.x) {
    const int k = e / H, j = e - k * H;
    wt[j * GH + k] = w[e];
  }
}

/// gh[r, k] = b[k] + sum_j h[r, j] wt[j, k] for the block's rows: one thread
/// per output, all in shared memory.
template <typename T>
__device__ void recurrent_matvec(T* gh, const T* h, const T* wt, const T* b, int rows, int GH, int H) {
  for (int e = threadIdx.x; e < rows * GH; e += blockDim.x) {
    const int r = e / GH, k = e - r * GH;
    const T* hr = h + r * H;
    T acc = b ? b[k] : T(0);
    for (int j = 0; j < H; ++j) acc += hr[j] * wt[j * GH + k];
    gh[e] = acc;
  }
}

template <typename T>
__global__ void __launch_bounds__(kMaxSeqThreads)
gru_sequence_forward_kernel(const T* gi, const T* h0, const T* w, const T* bias, T* out, T* saved,
                            int64_t steps, int B, int H, int rows_per_block) {
  const int GH = 3 * H;
  T* wt = shared_elems<T>();                  // [H, 3H]
  T* gh = wt + GH * H;                        // [rows, 3H]
  T* h = gh + rows_per_block * GH;            // [rows, H]
  const int b0 = blockIdx.x * rows_per_block;
  const int rows = min(rows_per_block, B - b0);
  load_transposed(wt, w, GH, H);
  for (int e = threadIdx.x; e < rows * H; e += blockDim.x) h[e] = h0[int64_t(b0) * H + e];
  __syncthreads();
  for (int64_t t = 0; t < steps; ++t) {
    recurrent_matvec(gh, h, wt, bias, rows, GH, H);
    __syncthreads();
    for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
      const int r = e / H, j = e - r * H;
      const int64_t row = t * B + b0 + r;  // row of the [T B, .] views
      T* h_new = out + row * H;
      // reads h[r, j] and gh of row r only; writes element j of row r only
      rnn_math::gru_forward(gi + row * GH, gh + r * GH, h + r * H, h_new, saved + row * 4 * H,
                            int64_t(H), int64_t(j));
      h[e] = h_new[j];
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void __launch_bounds__(kMaxSeqThreads)
lstm_sequence_forward_kernel(const T* gi, const T* h0, const T* c0, const T* w, const T* bias, T* hc,
                             T* saved, int64_t steps, int B, int H, int rows_per_block) {
  const int GH = 4 * H;
  T* wt = shared_elems<T>();                  // [H, 4H]
  T* gh = wt + GH * H;                        // [rows, 4H]
  T* h = gh + rows_per_block * GH;            // [rows, H]
  T* c = h + rows_per_block * H;              // [rows, H]
  const int b0 = blockIdx.x * rows_per_block;
  const int rows = min(rows_per_block, B - b0);
  load_transposed(wt, w, GH, H);
  for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
    h[e] = h0[int64_t(b0) * H + e];
    c[e] = c0[int64_t(b0) * H + e];
  }
  __syncthreads();
  for (int64_t t = 0; t < steps; ++t) {
    recurrent_matvec(gh, h, wt, bias, rows, GH, H);
    __syncthreads();
    for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
      const int r = e / H, j = e - r * H;
      const int64_t b = b0 + r, row = t * B + b;
      T* h_new = hc + ((2 * t) * B + b) * H;      // hc[t, 0, b]
      T* c_new = hc + ((2 * t + 1) * B + b) * H;  // hc[t, 1, b]
      rnn_math::lstm_forward(gi + row * GH, gh + r * GH, c + r * H, h_new, c_new, saved + row * 5 * H,
                             int64_t(H), int64_t(j));
      h[e] = h_new[j];
      c[e] = c_new[j];
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void __launch_bounds__(kMaxSeqThreads)
gru_sequence_backward_kernel(const T* grad_out, const T* saved, const T* out, const T* h0, const T* w,
                             T* grad_gi, T* grad_gh, T* grad_h0, int64_t steps, int B, int H,
                             int rows_per_block) {
  const int GH = 3 * H;
  T* ws = shared_elems<T>();                  // W_hh [3H, H] as stored
  T* dgates = ws + GH * H;                    // [rows, 3H] this step's d gh
  T* dh = dgates + rows_per_block * GH;       // [rows, H] dL/dh_t from step t+1
  T* g = dh + rows_per_block * H;             // [rows, H] dL/dh_t in all
  T* dh_direct = g + rows_per_block * H;      // [rows, H] the z h_{t-1} term
  const int b0 = blockIdx.x * rows_per_block;
  const int rows = min(rows_per_block, B - b0);
  for (int e = threadIdx.x; e < GH * H; e += blockDim.x) ws[e] = w[e];
  for (int e = threadIdx.x; e < rows * H; e += blockDim.x) dh[e] = T(0);
  __syncthreads();
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t row0 = t * B + b0;
    for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
      const int r = e / H, j = e - r * H;
      const int64_t row = row0 + r;
      const T* h_prev = t > 0 ? out + (row - B) * H : h0 + int64_t(b0 + r) * H;
      g[e] = grad_out[row * H + j] + dh[e];
      // writes element j of its row in grad_gi, dgates, dh_direct only
      rnn_math::gru_backward(g + r * H, saved + row * 4 * H, h_prev, grad_gi + row * GH, dgates + r * GH,
                             dh_direct + r * H, int64_t(H), int64_t(j));
    }
    __syncthreads();
    for (int e = threadIdx.x; e < rows * GH; e += blockDim.x) grad_gh[row0 * GH + e] = dgates[e];
    for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
      const int r = e / H, j = e - r * H;
      const T* dr = dgates + r * GH;
      T acc = dh_direct[e];
      for (int k = 0; k < GH; ++k) acc += dr[k] * ws[k * H + j];
      dh[e] = acc;  // dL/dh_{t-1} from step t
    }
    __syncthreads();
  }
  for (int e = threadIdx.x; e < rows * H; e += blockDim.x) grad_h0[int64_t(b0) * H + e] = dh[e];
}

template <typename T>
__global__ void __launch_bounds__(kMaxSeqThreads)
lstm_sequence_backward_kernel(const T* grad_hc, const T* saved, const T* hc, const T* c0, const T* w,
                              T* grad_gates, T* grad_h0, T* grad_c0, int64_t steps, int B, int H,
                              int rows_per_block) {
  const int GH = 4 * H;
  T* ws = shared_elems<T>();                  // W_hh [4H, H] as stored
  T* dgates = ws + GH * H;                    // [rows, 4H]
  T* dh = dgates + rows_per_block * GH;       // [rows, H] dL/dh_t from step t+1
  T* dc = dh + rows_per_block * H;            // [rows, H] dL/dc_t from step t+1
  T* gh = dc + rows_per_block * H;            // [rows, H] dL/dh_t in all
  T* gc = gh + rows_per_block * H;            // [rows, H] dL/dc_t in all
  const int b0 = blockIdx.x * rows_per_block;
  const int rows = min(rows_per_block, B - b0);
  for (int e = threadIdx.x; e < GH * H; e += blockDim.x) ws[e] = w[e];
  for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
    dh[e] = T(0);
    dc[e] = T(0);
  }
  __syncthreads();
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t row0 = t * B + b0;
    for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
      const int r = e / H, j = e - r * H;
      const int64_t b = b0 + r, row = row0 + r;
      const T* c_prev = t > 0 ? hc + ((2 * (t - 1) + 1) * B + b) * H : c0 + b * H;
      gh[e] = grad_hc[((2 * t) * B + b) * H + j] + dh[e];
      gc[e] = grad_hc[((2 * t + 1) * B + b) * H + j] + dc[e];
      // reads gc[e] before it writes dc[e] (= dL/dc_{t-1}); element j only
      rnn_math::lstm_backward(gh + r * H, gc + r * H, saved + row * 5 * H, c_prev, dgates + r * GH, dc + r * H,
                              int64_t(H), int64_t(j));
    }
    __syncthreads();
    for (int e = threadIdx.x; e < rows * GH; e += blockDim.x) grad_gates[row0 * GH + e] = dgates[e];
    for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
      const int r = e / H, j = e - r * H;
      const T* dr = dgates + r * GH;
      T acc = T(0);
      for (int k = 0; k < GH; ++k) acc += dr[k] * ws[k * H + j];
      dh[e] = acc;
    }
    __syncthreads();
  }
  for (int e = threadIdx.x; e < rows * H; e += blockDim.x) {
    grad_h0[int64_t(b0) * H + e] = dh[e];
    grad_c0[int64_t(b0) * H + e] = dc[e];
  }
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
