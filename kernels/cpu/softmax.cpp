// kernels/cpu/softmax.cpp: the fused softmax / log_softmax loop.
// Every "row" is the set of elements that differ only in index `dim`; there
// are outer x inner of them (outer = product of the sizes before dim, inner =
// of those after). One pass finds the row max, one sums exp(x - max) in the
// accumulator type (double for float32) (softmax stores each exp as it goes),
// one writes the result (softmax rescales what it stored): no temporaries.
// Rows go to OpenMP threads through reduce_each_output when there is enough work.
#include "kernels/softmax.h"

#include <cmath>
#include <limits>

#include "kernels/cpu/reduce_loop.h"

namespace nova::cpu {

namespace {

template <typename T, bool kLog>
void softmax_rows(const View& x, int dim, const View& out) {
  const int64_t n = x.size(dim);
  const int64_t step = x.strides()[dim];
  int64_t inner = 1;  // also out's stride along dim, as out is contiguous
  for (int d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  Shape rows = x.shape();
  rows[dim] = 1;
  const T* px = x.data<T>();
  T* py = out.data<T>();
  reduce_each_output(x, rows, [&](int64_t row, int64_t base, const Shape&, const Shape&) {
    const T* xr = px + base;
    // row (outer index o, inner index i) starts at o * n * inner + i in out
    T* yr = py + (row / inner) * n * inner + row % inner;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < n; ++j) m = std::max(m, xr[j * step]);
    acc_t<T> total = 0;
    if constexpr (kLog) {
      for (int64_t j = 0; j < n; ++j) total += std::exp(xr[j * step] - m);
      const T shift = m + static_cast<T>(std::log(total));
      for (int64_t j = 0; j < n; ++j) yr[j * inner] = xr[j * step] - shift;
    } else {
      for (int64_t j = 0; j < n; ++j) {
        const T e = std::exp(xr[j * step] - m);
        yr[j * inner] = e;
        total += e;
      }
      const T scale = static_cast<T>(1.0 / total);
      for (int64_t j = 0; j < n; ++j) yr[j * inner] *= scale;
    }
  });
}

}  // namespace

void softmax_forward(const View& x, int dim, const View& out) {
  dispatch_floating("softmax", x.dtype(), [&](auto tag) {
    softmax_rows<decltype(tag), false>(x, dim, out);
  });
}

void log_softmax_forward(const View& x, int dim, const View& out) {
  dispatch_floating("log_softmax", x.dtype(), [&](auto tag) {
    softmax_rows<decltype(tag), true>(x, dim, out);
  });
}

}  // namespace nova::cpu
