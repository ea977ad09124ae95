// kernels/cuda/stub.cpp: the CUDA entry points of a build without CUDA.
// Same declarations as the .cu files, so core needs no #ifdef.
#include "kernels/cuda/runtime.h"

#include "core/base/error.h"

namespace nova::cuda {

// ---- runtime (runtime.h): devices, streams, allocator, copies ----

int device_count() { return 0; }
bool built_with_cuda() { return false; }

void built_without_cuda(const char* op) {
  fail("{}: nova was built without CUDA (configure with -DNOVA_CUDA=AUTO and nvcc installed)", op);
}

int current_device() { built_without_cuda("current_device"); }
void set_device(int) { built_without_cuda("set_device"); }
void* stream(int) { built_without_cuda("stream"); }
void synchronize(int) { built_without_cuda("synchronize"); }

void* allocate(size_t, int) { built_without_cuda("allocate"); }
void deallocate(void*, int) { built_without_cuda("deallocate"); }
MemoryStats memory_stats(int) { built_without_cuda("memory_stats"); }
void reset_peak_memory_stats(int) { built_without_cuda("reset_peak_memory_stats"); }
void empty_cache() { built_without_cuda("empty_cache"); }

void copy_host_to_device(void*, const void*, size_t, int) { built_without_cuda("copy_host_to_device"); }
void copy_device_to_host(void*, const void*, size_t, int) { built_without_cuda("copy_device_to_host"); }
void copy_device_to_device(void*, const void*, size_t, int) { built_without_cuda("copy_device_to_device"); }
void copy_between_devices(void*, int, const void*, int, size_t) { built_without_cuda("copy_between_devices"); }

}  // namespace nova::cuda

// ---- elementwise (elementwise.h) and random (random.h) ----
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/random.h"

namespace nova::cuda {

void unary(UnaryKind kind, const Tensor&, const Tensor&, double, double) {
  built_without_cuda(unary_name(kind));
}
void binary(BinaryKind kind, const Tensor&, const Tensor&, const Tensor&) {
  built_without_cuda(binary_name(kind));
}
void where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { built_without_cuda("where"); }
void copy(const Tensor&, const Tensor&) { built_without_cuda("copy"); }
void fill(const Tensor&, double) { built_without_cuda("fill"); }

void fill_uniform(const Tensor&, uint64_t, uint64_t, double, double) { built_without_cuda("rand"); }
void fill_normal(const Tensor&, uint64_t, uint64_t, double, double) { built_without_cuda("randn"); }
void fill_randint(const Tensor&, uint64_t, uint64_t, int64_t, int64_t) { built_without_cuda("randint"); }

}  // namespace nova::cuda

// ---- reduce (reduce.h), softmax (softmax.h), matmul (matmul.h) ----
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"

namespace nova::cuda {

void sum(const Tensor&, const Tensor&) { built_without_cuda("sum"); }
void mean(const Tensor&, const Tensor&) { built_without_cuda("mean"); }
void var(const Tensor&, const Tensor&, int64_t) { built_without_cuda("var"); }
void max_min(const Tensor&, const Tensor&, const Tensor&, bool take_max) {
  built_without_cuda(take_max ? "max" : "min");
}
void norm(const Tensor&, const Tensor&, double) { built_without_cuda("norm"); }
void logsumexp(const Tensor&, const Tensor&) { built_without_cuda("logsumexp"); }

void softmax_forward(const Tensor&, int, const Tensor&) { built_without_cuda("softmax"); }
void log_softmax_forward(const Tensor&, int, const Tensor&) { built_without_cuda("log_softmax"); }

void matmul(const Tensor&, const Tensor&, const Tensor&) { built_without_cuda("matmul"); }
// the TF32 switch is only a flag: it works (and does nothing) without CUDA
namespace {
bool g_allow_tf32 = false;
}
void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }

}  // namespace nova::cuda

// ---- index (index.h) ----
#include "kernels/cuda/index.h"

namespace nova::cuda {

std::pair<int64_t, int64_t> index_min_max(const Tensor&) { built_without_cuda("index_min_max"); }
void cat(const std::vector<Tensor>&, int, const Tensor&) { built_without_cuda("cat"); }
void index_select(const Tensor&, int, const Tensor&, const Tensor&) { built_without_cuda("index_select"); }
void index_add(const Tensor&, int, const Tensor&, const Tensor&, const Tensor&) {
  built_without_cuda("index_add");
}
void gather(const Tensor&, int, const Tensor&, const Tensor&) { built_without_cuda("gather"); }
void scatter_add(const Tensor&, int, const Tensor&, const Tensor&, const Tensor&) {
  built_without_cuda("scatter_add");
}
void one_hot(const Tensor&, const Tensor&) { built_without_cuda("one_hot"); }
void pad(const Tensor&, const std::vector<int64_t>&, double, const Tensor&) { built_without_cuda("pad"); }
void flip(const Tensor&, const std::vector<bool>&, const Tensor&) { built_without_cuda("flip"); }

}  // namespace nova::cuda

// ---- normalization (normalization.h), loss (loss.h), optim (optim.h) ----
#include "kernels/cuda/loss.h"
#include "kernels/cuda/normalization.h"
#include "kernels/cuda/optim.h"

namespace nova::cuda {

void layer_norm_forward(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&,
                        const Tensor&, const Tensor&) {
  built_without_cuda("layer_norm");
}
void batch_norm_stats(const Tensor&, const Tensor&, const Tensor&) { built_without_cuda("batch_norm"); }
void batch_norm_apply(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                      const Tensor&) {
  built_without_cuda("batch_norm");
}

int64_t nll_check_targets(const char* op, const Tensor&, int64_t, int64_t) { built_without_cuda(op); }

void sgd_step(const Tensor&, const Tensor&, const Tensor&, double, double, double, double, bool, bool) {
  built_without_cuda("sgd_step");
}
void adam_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t,
               double, double, double, double, double, bool, bool) {
  built_without_cuda("adam_step");
}
void rmsprop_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, double,
                  double, double, double, double, bool) {
  built_without_cuda("rmsprop_step");
}
void adagrad_step(const Tensor&, const Tensor&, const Tensor&, int64_t, double, double, double, double) {
  built_without_cuda("adagrad_step");
}
double norm_piece(const Tensor&, double) { built_without_cuda("global_norm"); }
void pair_dots(const std::vector<Tensor>& xs, double*) {
  built_without_cuda(xs.size() == 2 ? "dot3" : "dot6");
}
void weighted_sum(const Tensor&, const Tensor&, double, const Tensor&, double, const Tensor&,
                  double) {
  built_without_cuda("weighted_sum_");
}

}  // namespace nova::cuda

// ---- linalg (linalg.h) ----
#include "kernels/cuda/linalg.h"

namespace nova::cuda {

void inverse(const Tensor&, const Tensor&) { built_without_cuda("inverse"); }
void solve(const Tensor&, const Tensor&, const Tensor&) { built_without_cuda("solve"); }

}  // namespace nova::cuda
