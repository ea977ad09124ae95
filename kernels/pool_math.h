// kernels/pool_math.h: the index formulas of the pool family, written once
// for both back ends (kernels/cpu/pool.cpp and kernels/cuda/pool.cu), so the
// CPU and the GPU read the same window and the same source pixels. They are
// PyTorch's formulas (ATen/native/Pool.h, UpSample.h), including its float
// arithmetic for source positions, so that positions agree with PyTorch's to
// the last bit.
//
// Along one dim, with input size `in` and output size `out`:
//   max window   rows o*stride - pad + i*dilation, i in [0, kernel), inside [0, in)
//   avg window   rows [o*stride - pad, + kernel) clipped to [-pad, in + pad) for
//                the count_include_pad divisor, then to [0, in) for the sum
//   nearest      src(o) = min(floor(o * r), in - 1) in float, r = 1/scale or in/out
//                (out == in: src = o; out == 2 in: src = o / 2, as PyTorch)
//   bilinear     s = r * (o + 0.5) - 0.5 clamped at 0 (align_corners: s = o * r
//                with r = (in - 1) / (out - 1)); reads floor(s) and the next
//                row with weights 1 - frac, frac (the last row: itself)
//
// A backward kernel needs the inverse: which outputs read input row i. For
// the windows it is a closed-form range; for upsampling it is a run of
// outputs, because src(o) never decreases as o grows, found by binary search.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define NOVA_HD __host__ __device__ __forceinline__
#else
#define NOVA_HD inline
#endif

namespace nova::pool {

/// A half-open range [begin, end) of rows (or columns).
struct Range {
  int64_t begin, end;
};

NOVA_HD int64_t min_of(int64_t a, int64_t b) { return a < b ? a : b; }
NOVA_HD int64_t max_of(int64_t a, int64_t b) { return a > b ? a : b; }
NOVA_HD float floor_of(float v) { return ::floorf(v); }
NOVA_HD double floor_of(double v) { return ::floor(v); }

// ---- pooling windows ----

/// The input rows of max-pool output o: begin, begin + dilation, ... < end
/// (begin moved past the padding in steps of dilation, as PyTorch does).
NOVA_HD Range max_window(int64_t o, int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                         int64_t dilation) {
  int64_t begin = o * stride - pad;
  const int64_t end = min_of(begin + (kernel - 1) * dilation + 1, in);
  while (begin < 0) begin += dilation;
  return {begin, end};
}

/// The avg-pool window of output o: the input rows it sums, and its length
/// clipped only to the padded input (the count_include_pad divisor).
struct AvgWindow {
  Range rows;
  int64_t padded_length;
};

NOVA_HD AvgWindow avg_window(int64_t o, int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  const int64_t begin = o * stride - pad;
  const int64_t end = min_of(begin + kernel, in + pad);
  return {{max_of(begin, 0), min_of(end, in)}, end - begin};
}

/// The outputs o in [0, out) whose window (`span` rows from o * stride - pad)
/// can hold input row i: o * stride - pad <= i <= o * stride - pad + span - 1.
NOVA_HD Range windows_holding(int64_t i, int64_t out, int64_t span, int64_t stride, int64_t pad) {
  const int64_t top = i + pad;  // >= 0
  const int64_t lowest = top - span + 1;
  const int64_t begin = lowest <= 0 ? 0 : (lowest + stride - 1) / stride;
  return {begin, min_of(top / stride + 1, out)};
}

// ---- upsampling ----

/// Input pixels per output pixel: 1 / scale when the user gave a scale
/// factor (scale > 0), else in / out, in A (PyTorch's compute_scales_value).
template <typename A>
NOVA_HD A source_ratio(int64_t in, int64_t out, double scale) {
  return scale > 0 ? static_cast<A>(1.0 / scale) : static_cast<A>(in) / static_cast<A>(out);
}

/// The nearest-neighbour source of output o (PyTorch's nearest_idx, in float).
NOVA_HD int64_t nearest_source(int64_t o, int64_t in, int64_t out, double scale) {
  if (out == in) return o;
  if (out == 2 * in) return o >> 1;
  const float ratio = source_ratio<float>(in, out, scale);
  return min_of(static_cast<int64_t>(floor_of(static_cast<float>(o) * ratio)), in - 1);
}

/// Bilinear's input pixels per output pixel along one dim (PyTorch's
/// area_pixel_compute_scale).
template <typename A>
NOVA_HD A bilinear_ratio(int64_t in, int64_t out, bool align_corners, double scale) {
  if (align_corners) return out > 1 ? static_cast<A>(in - 1) / static_cast<A>(out - 1) : A(0);
  return source_ratio<A>(in, out, scale);
}

/// Output o reads rows i0 and i1 with weights w0 and w1 (w0 + w1 = 1).
template <typename A>
struct Blend {
  int64_t i0, i1;
  A w0, w1;
};

/// PyTorch's compute_source_index_and_lambda: the source position in A
/// (float for float32, double for float64), clamped at 0 and at the last row.
template <typename A>
NOVA_HD Blend<A> bilinear_source(int64_t o, int64_t in, int64_t out, A ratio, bool align_corners) {
  if (out == in) return {o, o, A(1), A(0)};
  A s = align_corners ? ratio * static_cast<A>(o)
                      : ratio * (static_cast<A>(o) + A(0.5)) - A(0.5);
  if (s < A(0)) s = A(0);
  const int64_t i0 = min_of(static_cast<int64_t>(floor_of(s)), in - 1);
  A frac = s - static_cast<A>(i0);
  frac = frac < A(0) ? A(0) : (frac > A(1) ? A(1) : frac);
  return {i0, i0 < in - 1 ? i0 + 1 : i0, A(1) - frac, frac};
}

/// The first o in [0, out) with key(o) >= target (out when none), for a key
/// that never decreases with o: the start of the run of outputs that read
/// input row `target` or later.
template <typename Key>
NOVA_HD int64_t first_reading(int64_t target, int64_t out, const Key& key) {
  int64_t lo = 0, hi = out;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (key(mid) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/// key(o) = nearest_source(o, ...), for first_reading.
struct NearestKey {
  int64_t in, out;
  double scale;
  NOVA_HD int64_t operator()(int64_t o) const { return nearest_source(o, in, out, scale); }
};

/// key(o) = bilinear_source(o, ...).i0, for first_reading.
template <typename A>
struct BilinearKey {
  int64_t in, out;
  A ratio;
  bool align_corners;
  NOVA_HD int64_t operator()(int64_t o) const {
    return bilinear_source<A>(o, in, out, ratio, align_corners).i0;
  }
};

/// The outputs that copy input row i in nearest upsampling.
NOVA_HD Range nearest_readers(int64_t i, int64_t in, int64_t out, double scale) {
  const NearestKey key{in, out, scale};
  return {first_reading(i, out, key), first_reading(i + 1, out, key)};
}

/// The outputs whose bilinear blend reads input row i: those with i0 = i - 1
/// (and i1 = i) or i0 = i.
template <typename A>
NOVA_HD Range bilinear_readers(int64_t i, int64_t in, int64_t out, A ratio, bool align_corners) {
  const BilinearKey<A> key{in, out, ratio, align_corners};
  return {first_reading(i - 1, out, key), first_reading(i + 1, out, key)};
}

/// The weight output o's blend gives input row i (0 when it reads i not at all).
template <typename A>
NOVA_HD A bilinear_weight(int64_t i, const Blend<A>& b) {
  return (b.i0 == i ? b.w0 : A(0)) + (b.i1 == i ? b.w1 : A(0));
}

}  // namespace nova::pool
