// core/pool.h: pooling and upsampling of images, NCHW, float32/float64, with
// PyTorch's semantics (torch.nn.functional's max_pool2d, avg_pool2d,
// interpolate(mode="nearest" | "bilinear")): the same output sizes, windows,
// tie rules and source-pixel formulas, and the same refusals.
//
// Every op is differentiable to any order: its backward is a linear map of
// the incoming gradient, recorded as an op whose own backward is the forward
// map again (avg_pool2d, upsampling) or a gather at the saved argmax
// (max_pool2d). Pooling and upsampling act on each [H, W] plane alone, so the
// nodes are row-local for grad_split (core/grad_split.h).
#pragma once

#include "core/pair2d.h"
#include "core/tensor.h"

namespace nova::ops {

/// max_pool2d's two results: the maxima, and where each came from as an
/// int64 index h * W + w into its input plane (PyTorch's return_indices).
struct MaxPool2dResult {
  Tensor values;
  Tensor indices;
};

/// Max pooling of x [N, C, H, W] (or one image [C, H, W]) as
/// F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode): output
/// (oh, ow) is the largest x over rows oh * stride.h - padding.h + i *
/// dilation.h, i < kernel.h (columns likewise), padding never chosen. stride 0
/// (the default) means stride = kernel. The output size per dim is
/// floor((H + 2 pad - dilation (kernel - 1) - 1) / stride) + 1 (ceil with
/// ceil_mode, but the last window must start inside the input or the left
/// padding). Ties: the first maximum in row-major window order; NaN
/// propagates. The gradient goes to the argmax only.
/// Throws on: a rank other than 3 or 4; an empty C, H or W; kernel, stride or
/// dilation < 1; padding < 0 or more than half the kernel (as PyTorch); a
/// kernel that does not fit the padded input; a window lying in the padding
/// only (possible with dilation; PyTorch returns -inf there).
Tensor max_pool2d(const Tensor& x, Pair2d kernel, Pair2d stride = 0, Pair2d padding = 0,
                  Pair2d dilation = 1, bool ceil_mode = false);
/// max_pool2d with the argmax indices too (same arguments and checks).
MaxPool2dResult max_pool2d_with_indices(const Tensor& x, Pair2d kernel, Pair2d stride = 0,
                                        Pair2d padding = 0, Pair2d dilation = 1,
                                        bool ceil_mode = false);

/// Average pooling of x [N, C, H, W] or [C, H, W] as F.avg_pool2d(x, kernel,
/// stride, padding, ceil_mode, count_include_pad) (PyTorch's argument order):
/// the sum over the window's input pixels divided by the window's area
/// including the zero padding it covers (count_include_pad, the default) or by
/// its input pixels only. stride 0 means stride = kernel. Output sizes and
/// refusals as max_pool2d's with dilation 1.
Tensor avg_pool2d(const Tensor& x, Pair2d kernel, Pair2d stride = 0, Pair2d padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true);

/// Mean of each [H, W] plane of x [N, C, H, W]: [N, C]. The same as
/// avg_pool2d with a kernel of the whole image, then a reshape to [N, C]; it
/// is ops::mean over dims {2, 3} (core/reduce.h: float32 accumulates in
/// double, differentiable to any order), so it needs no kernel of its own.
Tensor global_avg_pool2d(const Tensor& x);
/// Sum of each [H, W] plane of x [N, C, H, W]: [N, C] (ops::sum over dims
/// {2, 3}). The SN-GAN discriminators end with it.
Tensor global_sum_pool2d(const Tensor& x);

/// The output size of an upsample: an explicit size, or a scale factor per
/// dim. A scale gives the size floor(H * scale_h) x floor(W * scale_w), and
/// the source positions use 1 / scale (not the sizes' ratio), as
/// F.interpolate(x, scale_factor=...) does:
///   upsample_nearest2d(x, UpsampleTo::scale(2))
///   upsample_bilinear2d(x, UpsampleTo::size(64, 48))
struct UpsampleTo {
  static UpsampleTo size(int64_t h, int64_t w) { return {h, w, 0, 0}; }
  static UpsampleTo scale(double both) { return {0, 0, both, both}; }
  static UpsampleTo scale(double h, double w) { return {0, 0, h, w}; }
  int64_t size_h, size_w;    // 0 when a scale is given
  double scale_h, scale_w;   // 0 when a size is given
};

/// Nearest-neighbour upsampling (or downsampling) of x [N, C, H, W] to
/// [N, C, OH, OW] as F.interpolate(x, mode="nearest"): output (oh, ow) copies
/// x[src(oh), src(ow)] with src(o) = min(floor(o * r), in - 1), r = 1 / scale
/// or in / out, computed in float as PyTorch does. The gradient of an input
/// pixel sums the outputs that copied it.
/// Throws on: a rank other than 4; an empty C, H or W; an output size < 1;
/// a scale that is not finite and positive.
Tensor upsample_nearest2d(const Tensor& x, const UpsampleTo& to);

/// Bilinear upsampling (or downsampling) of x [N, C, H, W] as
/// F.interpolate(x, mode="bilinear", align_corners): output o reads the source
/// position s = r * (o + 0.5) - 0.5 clamped at 0 (align_corners: s = o * (in
/// - 1) / (out - 1)), blending rows floor(s) and floor(s) + 1 (the last row:
/// itself) with weights 1 - frac(s), frac(s), and likewise along columns.
/// Positions are computed in the input's dtype, as PyTorch's CPU kernel does.
/// Checks as upsample_nearest2d's.
Tensor upsample_bilinear2d(const Tensor& x, const UpsampleTo& to, bool align_corners = false);

}  // namespace nova::ops
