// kernels/cpu/reduce.cpp: CPU reductions (see reduce.h).
#include "kernels/cpu/reduce.h"

#include "kernels/cpu/reduce_loop.h"

namespace nova::cpu {

namespace {

template <typename T>
void sum_typed(const Tensor& x, const Tensor& out, bool take_mean) {
  const T* px = x.data<T>();
  T* po = out.data<T>();  // contiguous: allocated by the caller
  const int64_t count = out.numel() == 0 ? 0 : x.numel() / std::max<int64_t>(out.numel(), 1);
  reduce_each_output(x, out.shape(), [&](int64_t o, int64_t base, const Shape& inner, const Shape& st) {
    acc_t<T> acc = 0;
    for_each_row<1>(inner, {st}, [&](int64_t n, std::array<int64_t, 1> off, std::array<int64_t, 1> step) {
      const T* p = px + base + off[0];
      if (step[0] == 1) {
        for (int64_t j = 0; j < n; ++j) acc += p[j];
      } else {
        for (int64_t j = 0; j < n; ++j) acc += p[j * step[0]];
      }
    }, false);
    if (take_mean) {
      po[o] = count ? T(double(acc) / double(count)) : T(NAN);
    } else {
      po[o] = T(acc);
    }
  });
}

}  // namespace

void sum(const Tensor& x, const Tensor& out) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail("sum: not defined for bool; convert with to(kInt64) first");
    } else {
      sum_typed<T>(x, out, false);
    }
  });
}

void mean(const Tensor& x, const Tensor& out) {
  dispatch_floating("mean", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    sum_typed<T>(x, out, true);
  });
}

}  // namespace nova::cpu
