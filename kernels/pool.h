// kernels/pool.h: the pooling and upsampling family, NCHW, float32/float64:
// max_pool2d (values and argmax indices), avg_pool2d, nearest and bilinear
// upsampling, each with the backward kernel that maps grad_y to grad_x.
//
// Every kernel sees contiguous tensors already viewed by core as planes
// [P, H, W] (P = N * C: pooling and upsampling never mix planes) and writes
// its whole output (no accumulation into it). The index formulas both back
// ends share are in kernels/pool_math.h, so the CPU and the GPU pick the same
// window and the same source pixels.
//
// Backward kernels are gathers: each grad_x element walks the outputs that
// read it, in increasing output order, and sums their contributions. One
// writer per element: no atomics, deterministic, and the same summation order
// on the CPU and on the GPU.
//
// Declared once, for both back ends, by the list kernels/pool.def; the CPU
// versions are in kernels/cpu/pool.cpp, the CUDA ones in kernels/cuda/pool.cu.
#pragma once

#include <cstdint>

#include "core/base/view.h"

namespace nova {

/// The geometry of one 2-D pooling window, as PyTorch's pool2d arguments:
/// output (oh, ow) reads rows oh * stride_h - pad_h + i * dilation_h for
/// i in [0, kernel_h) (columns likewise), skipping those outside the input.
struct PoolWindow {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;  // avg_pool2d: always 1
};

}  // namespace nova

#define NOVA_KERNEL_FAMILY "kernels/pool.def"
#include "kernels/declare_family.h"
