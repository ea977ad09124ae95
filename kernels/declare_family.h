// kernels/declare_family.h: declares one kernel family for both back ends.
// A family header sets NOVA_KERNEL_FAMILY to the path of its list and
// includes this file, which reads the list once inside namespace nova::cpu
// and once inside namespace nova::cuda:
//
//   #define NOVA_KERNEL_FAMILY "kernels/softmax.def"
//   #include "kernels/declare_family.h"
//
// A list holds NOVA_KERNEL(return type, name, (parameters)) entries, or
// NOVA_KERNEL_FOR_FLOATS(...) for kernels that are templates over the element
// type (float, double; kernels/optim.def). kernels/cuda/stub.cpp reads every
// list a third time, in a build without CUDA, with definitions that throw.
// No include guard, on purpose: it runs once per family.
#define NOVA_KERNEL(ret, name, params) ret name params;
#define NOVA_KERNEL_FOR_FLOATS(ret, name, params) template <typename T> ret name params;
namespace nova::cpu {
#include NOVA_KERNEL_FAMILY
}  // namespace nova::cpu
namespace nova::cuda {
#include NOVA_KERNEL_FAMILY
}  // namespace nova::cuda
#undef NOVA_KERNEL
#undef NOVA_KERNEL_FOR_FLOATS
#undef NOVA_KERNEL_FAMILY
