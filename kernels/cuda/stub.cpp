// kernels/cuda/stub.cpp: the CUDA entry points of a build without CUDA, so
// core needs no #ifdef. The runtime's functions (and those of the CUDA-only
// rnn_sequence.h) are written out below; every
// kernel family's are generated from its list (kernels/<family>.def), which
// kernels/CMakeLists.txt includes here through cuda_stub_families.inc: a new
// family needs no line in this file.
#include "kernels/cuda/runtime.h"

#include "core/base/error.h"
#include "kernels/cuda/rnn_sequence.h"

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
void* event_create(int) { built_without_cuda("event_create"); }
void event_record(void*, int) { built_without_cuda("event_record"); }
float event_elapsed_ms(void*, void*) { built_without_cuda("event_elapsed_ms"); }
void event_destroy(void*) { built_without_cuda("event_destroy"); }

void* allocate(size_t, int) { built_without_cuda("allocate"); }
void deallocate(void*, int) { built_without_cuda("deallocate"); }
MemoryStats memory_stats(int) { built_without_cuda("memory_stats"); }
void reset_peak_memory_stats(int) { built_without_cuda("reset_peak_memory_stats"); }
void empty_cache() { built_without_cuda("empty_cache"); }

// the switch is kept, so code that sets it runs the same on any build
namespace {
bool g_allow_tf32 = false;
}
void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }

void copy_host_to_device(void*, const void*, size_t, int) { built_without_cuda("copy_host_to_device"); }
void copy_device_to_host(void*, const void*, size_t, int) { built_without_cuda("copy_device_to_host"); }
void copy_device_to_device(void*, const void*, size_t, int) { built_without_cuda("copy_device_to_device"); }
void copy_between_devices(void*, int, const void*, int, size_t) { built_without_cuda("copy_between_devices"); }

// ---- the persistent RNN kernels (rnn_sequence.h): never supported here ----

int64_t rnn_sequence_max_hidden(int, DType, int) { return 0; }
bool rnn_sequence_supported(int, int64_t, int64_t, DType, int) { return false; }
void gru_sequence_forward(const View&, const View&, const View&, const View&, const View&, const View&) {
  built_without_cuda("gru_sequence_forward");
}
void gru_sequence_backward(const View&, const View&, const View&, const View&, const View&, const View&,
                           const View&, const View&) {
  built_without_cuda("gru_sequence_backward");
}
void lstm_sequence_forward(const View&, const View&, const View&, const View&, const View&, const View&,
                           const View&) {
  built_without_cuda("lstm_sequence_forward");
}
void lstm_sequence_backward(const View&, const View&, const View&, const View&, const View&, const View&,
                            const View&, const View&) {
  built_without_cuda("lstm_sequence_backward");
}

}  // namespace nova::cuda

// ---- every kernel family: each NOVA_KERNEL(ret, name, params) of its .def
// becomes a definition that throws "name: nova was built without CUDA" ----
#include "cuda_stub_headers.inc"  // #include "kernels/<family>.h", per family

#define NOVA_KERNEL(ret, name, params) \
  ret name params { built_without_cuda(#name); }
#define NOVA_KERNEL_FOR_FLOATS(ret, name, params)                      \
  template <typename T>                                                \
  ret name params { built_without_cuda(#name); }                       \
  template ret name<float> params;                                     \
  template ret name<double> params;
namespace nova::cuda {
#include "cuda_stub_families.inc"  // #include "kernels/<family>.def", per family
}  // namespace nova::cuda
#undef NOVA_KERNEL
#undef NOVA_KERNEL_FOR_FLOATS
