// kernels/cpu/index.cpp: the loops behind kernels/index.h.
//
// Two loops do most of the work:
//   gather_loop:  out[p] = x[x_base(p) + index(p) * x.stride(dim)]
//   scatter_loop: out[out_base(p) + index(p) * out.stride(dim)] += src[p]
// where x_base/out_base read the tensor with stride 0 on dim, and index(p)
// reads the index tensor through strides over the iteration shape. gather
// passes the index's own strides; index_select/index_add pass a 1-D index
// "broadcast" over the other dims (stride 0 there), so one loop serves both.
// A row whose index stride is 0 reads one index for the whole row: a memcpy
// when the row is dense (index_select of rows, embedding lookups).
#include "kernels/index.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/cpu/loops.h"

namespace nova::cpu {

namespace {

/// Calls f(I{}) with I the C++ type of an index dtype (int64 or int32).
template <typename F>
decltype(auto) dispatch_index(DType t, F&& f) {
  switch (t) {
    case DType::Int64: return f(int64_t{});
    case DType::Int32: return f(int32_t{});
    default: fail("index kernels: index dtype must be int64 or int32, got {}", dtype_name(t));
  }
}

/// dst[p] = src[p] for every position p of shape; both pointers are at their
/// first element. Runs dense on both sides are one memcpy.
template <typename T>
void copy_strided(const Shape& shape, const T* src, const Shape& src_strides, T* dst,
                  const Shape& dst_strides) {
  for_each_row<2>(shape, {dst_strides, src_strides},
                  [&](int64_t n, std::array<int64_t, 2> off, std::array<int64_t, 2> st) {
                    T* o = dst + off[0];
                    const T* s = src + off[1];
                    if (all_unit(st)) {
                      std::memcpy(o, s, n * sizeof(T));
                    } else {
                      for (int64_t j = 0; j < n; ++j) o[j * st[0]] = s[j * st[1]];
                    }
                  });
}

/// Strides with 0 at dim: the dim's position comes from the index instead.
Shape without_dim(Shape strides, int dim) {
  strides[dim] = 0;
  return strides;
}

template <typename T, typename I>
void gather_loop(const View& out, const T* px, const Shape& x_strides, int64_t x_dim_stride,
                 const I* pi, const Shape& idx_strides) {
  T* po = out.data<T>();
  for_each_row<3>(out.shape(), {out.strides(), x_strides, idx_strides},
                  [&](int64_t n, std::array<int64_t, 3> off, std::array<int64_t, 3> st) {
                    T* o = po + off[0];
                    const T* s = px + off[1];
                    const I* ix = pi + off[2];
                    if (st[2] == 0) {  // one index for the whole row
                      const T* row = s + static_cast<int64_t>(*ix) * x_dim_stride;
                      if (st[0] == 1 && st[1] == 1) {
                        std::memcpy(o, row, n * sizeof(T));
                      } else {
                        for (int64_t j = 0; j < n; ++j) o[j * st[0]] = row[j * st[1]];
                      }
                    } else {
                      for (int64_t j = 0; j < n; ++j)
                        o[j * st[0]] = s[j * st[1] + static_cast<int64_t>(ix[j * st[2]]) * x_dim_stride];
                    }
                  });
}

/// Serial (may_parallelize = false): two positions may hit one element.
template <typename T, typename I>
void scatter_loop(const Shape& shape, T* po, const Shape& out_strides, int64_t out_dim_stride,
                  const T* ps, const Shape& src_strides, const I* pi, const Shape& idx_strides) {
  for_each_row<3>(
      shape, {out_strides, src_strides, idx_strides},
      [&](int64_t n, std::array<int64_t, 3> off, std::array<int64_t, 3> st) {
        T* o = po + off[0];
        const T* s = ps + off[1];
        const I* ix = pi + off[2];
        for (int64_t j = 0; j < n; ++j) {
          T& dst = o[j * st[0] + static_cast<int64_t>(ix[j * st[2]]) * out_dim_stride];
          dst = static_cast<T>(dst + s[j * st[1]]);
        }
      },
      /*may_parallelize=*/false);
}

/// out = base, then the scatter of src through index (strides idx_strides
/// over the iteration shape `shape`).
void scatter_into(const View& base, int dim, const View& index, const Shape& shape,
                  const View& src, const Shape& idx_strides, const View& out) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = out.data<T>();
    copy_strided(base.shape(), base.data<T>(), base.strides(), po, out.strides());
    dispatch_index(index.dtype(), [&](auto itag) {
      using I = decltype(itag);
      scatter_loop<T, I>(shape, po, without_dim(out.strides(), dim), out.strides()[dim],
                         src.data<T>(), src.strides(), index.data<I>(), idx_strides);
    });
  });
}

}  // namespace

std::pair<int64_t, int64_t> index_min_max(const View& index) {
  return dispatch_index(index.dtype(), [&](auto tag) {
    using I = decltype(tag);
    const I* p = index.data<I>();
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for_each_row<1>(
        index.shape(), {index.strides()},
        [&](int64_t n, std::array<int64_t, 1> off, std::array<int64_t, 1> st) {
          for (int64_t j = 0; j < n; ++j) {
            const int64_t v = p[off[0] + j * st[0]];
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
        },
        /*may_parallelize=*/false);
    return std::make_pair(lo, hi);
  });
}

void cat(const std::vector<View>& inputs, int dim, const View& out) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = out.data<T>();
    int64_t start = 0;
    for (const View& x : inputs) {
      copy_strided(x.shape(), x.data<T>(), x.strides(), po + start * out.strides()[dim],
                   out.strides());
      start += x.size(dim);
    }
  });
}

void index_select(const View& x, int dim, const View& index, const View& out) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), [&](auto itag) {
      using I = decltype(itag);
      gather_loop<T, I>(out, x.data<T>(), without_dim(x.strides(), dim), x.strides()[dim],
                        index.data<I>(), index_along(index, out.dim(), dim));
    });
  });
}

void index_add(const View& base, int dim, const View& index, const View& src,
               const View& out) {
  scatter_into(base, dim, index, src.shape(), src, index_along(index, src.dim(), dim), out);
}

void gather(const View& x, int dim, const View& index, const View& out) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), [&](auto itag) {
      using I = decltype(itag);
      gather_loop<T, I>(out, x.data<T>(), without_dim(x.strides(), dim), x.strides()[dim],
                        index.data<I>(), index.strides());
    });
  });
}

void scatter_add(const View& base, int dim, const View& index, const View& src,
                 const View& out) {
  // iterate over index's shape; src is read at the same positions
  scatter_into(base, dim, index, index.shape(), src, index.strides(), out);
}

void one_hot(const View& indices, const View& out) {
  const int64_t classes = out.shape().back();
  // position p of indices starts row p of out: the contiguous strides of
  // indices' shape, scaled by the row length
  Shape row_starts = contiguous_strides(indices.shape());
  for (int64_t& s : row_starts) s *= classes;
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = out.data<T>();
    dispatch_index(indices.dtype(), [&](auto itag) {
      using I = decltype(itag);
      const I* pi = indices.data<I>();
      for_each_row<2>(indices.shape(), {row_starts, indices.strides()},
                      [&](int64_t n, std::array<int64_t, 2> off, std::array<int64_t, 2> st) {
                        for (int64_t j = 0; j < n; ++j)
                          po[off[0] + j * st[0] + static_cast<int64_t>(pi[off[1] + j * st[1]])] = T(1);
                      });
    });
  });
}

void pad(const View& x, const std::vector<int64_t>& before, double value, const View& out) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = out.data<T>();
    const T fill_value = static_cast<T>(value);
    for_each_row<1>(out.shape(), {out.strides()},
                    [&](int64_t n, std::array<int64_t, 1> off, std::array<int64_t, 1> st) {
                      for (int64_t j = 0; j < n; ++j) po[off[0] + j * st[0]] = fill_value;
                    });
    // the block of x that lands inside out: cropped where before[d] < 0 (start
    // later in x) or where out ends first
    Shape overlap = x.shape();
    const T* src = x.data<T>();
    T* dst = po;
    for (int d = 0; d < x.dim(); ++d) {
      const int64_t in_start = std::max<int64_t>(0, -before[d]);
      const int64_t out_start = std::max<int64_t>(0, before[d]);
      const int64_t length = std::min(x.size(d) - in_start, out.size(d) - out_start);
      if (length <= 0) return;  // nothing of x survives: out is all padding
      overlap[d] = length;
      src += in_start * x.strides()[d];
      dst += out_start * out.strides()[d];
    }
    copy_strided(overlap, src, x.strides(), dst, out.strides());
  });
}

void flip(const View& x, const std::vector<bool>& flip_dim, const View& out) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // a flipped dim is read from its last element with a negated stride
    const T* src = x.data<T>();
    Shape strides = x.strides();
    for (int d = 0; d < x.dim(); ++d)
      if (flip_dim[d] && x.size(d) > 0) {
        src += (x.size(d) - 1) * strides[d];
        strides[d] = -strides[d];
      }
    copy_strided(x.shape(), src, strides, out.data<T>(), out.strides());
  });
}

}  // namespace nova::cpu
