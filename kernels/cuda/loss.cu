// kernels/cuda/loss.cu: the nll_loss target check (see kernels/loss.h). One
// grid-stride pass over the labels: each thread counts its valid labels and
// keeps the smallest flat index of a bad one; each block combines these
// (reduce_block.cuh) and adds its count / lowers the first-bad index in a
// two-word device buffer with one atomic each. The two words come back to the
// host; when a label is bad, its value is copied back too, so the error text
// is the CPU's, naming the same (first) position.
#include "kernels/loss.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/reduce_block.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

namespace {

using Word = unsigned long long;
constexpr Word kNone = ~Word(0);  // no bad label seen
constexpr int kThreads = detail::kReduceThreads;

struct AddWord {
  __device__ Word operator()(Word a, Word b) const { return a + b; }
};
struct MinWord {
  __device__ Word operator()(Word a, Word b) const { return b < a ? b : a; }
};

/// out[0]: number of labels != ignore_index; out[1]: smallest flat index of
/// a label out of [0, C) (kNone when none). out starts as {0, kNone}.
__global__ void nll_check_kernel(const int64_t* t, int64_t n, int64_t C, int64_t ignore_index,
                                 Word* out) {
  __shared__ __align__(16) unsigned char shared[detail::kSharedBytes];
  Word* sh = static_cast<Word*>(static_cast<void*>(shared));
  Word valid = 0, first_bad = kNone;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t v = t[i];
    if (v == ignore_index) continue;
    if (v < 0 || v >= C) {
      if (Word(i) < first_bad) first_bad = Word(i);
    } else {
      ++valid;
    }
  }
  valid = detail::block_allreduce(valid, AddWord(), sh);
  first_bad = detail::block_allreduce(first_bad, MinWord(), sh);
  if (threadIdx.x == 0) {
    if (valid) atomicAdd(&out[0], valid);
    if (first_bad != kNone) atomicMin(&out[1], first_bad);
  }
}

/// A device block from the caching allocator, given back at scope exit.
struct DeviceBuffer {
  void* ptr;
  int device;
  DeviceBuffer(size_t nbytes, int dev) : ptr(allocate(nbytes, dev)), device(dev) {}
  ~DeviceBuffer() {
    try {
      deallocate(ptr, device);
    } catch (...) {
    }
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

}  // namespace

int64_t nll_check_targets(const char* op, const View& target, int64_t C, int64_t ignore_index) {
  const int64_t n = target.numel();
  if (n == 0) return 0;
  const int device = target.device().index;
  detail::OnDevice on(device);
  cudaStream_t s = static_cast<cudaStream_t>(stream(device));
  DeviceBuffer buf(2 * sizeof(Word), device);
  Word* out = static_cast<Word*>(buf.ptr);
  NOVA_CUDA_CHECK(op, cudaMemsetAsync(out, 0, sizeof(Word), s));
  NOVA_CUDA_CHECK(op, cudaMemsetAsync(out + 1, 0xff, sizeof(Word), s));  // kNone
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
  const int64_t* t = target.data<int64_t>();
  nll_check_kernel<<<unsigned(blocks), kThreads, 0, s>>>(t, n, C, ignore_index, out);
  NOVA_CUDA_LAUNCH_CHECK(op);
  Word host[2] = {0, kNone};
  copy_device_to_host(host, out, sizeof(host), device);  // waits for the stream
  if (host[1] != kNone) {
    const int64_t i = int64_t(host[1]);
    int64_t value = 0;
    copy_device_to_host(&value, t + i, sizeof(value), device);
    fail("{}: target {} is out of bounds for {} classes (at flat index {} of target {})", op,
         value, C, i, target.shape().str());
  }
  return int64_t(host[0]);
}

}  // namespace nova::cuda
