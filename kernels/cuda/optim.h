// kernels/cuda/optim.h: the fused optimizer-step kernels on CUDA, the same
// functions as kernels/cpu/optim.h: one launch per call, one elementwise pass
// over the contiguous buffers that updates the parameter and its state in
// place, with the CPU's formulas in the same order (arithmetic in the
// parameter's type, step-only scalars in double on the host). Plain C++:
// implemented in optim.cu, or in stub.cpp (throwing) in a build without CUDA.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nova::cuda {

/// SGD with momentum; momentum_buffer is written as g when first_step.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool first_step);

/// Adam / AdamW (decoupled); max_exp_avg_sq is used only with amsgrad.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool amsgrad);

/// RMSprop; grad_avg used only when centered, momentum_buffer only when momentum > 0.
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& momentum_buffer, const Tensor& grad_avg, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool centered);

/// Adagrad with learning-rate decay.
void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, int64_t step,
                  double lr, double lr_decay, double weight_decay, double eps);

/// Every inner product among xs (2 or 3 contiguous tensors of one dtype and
/// numel on one CUDA device), in Dot3/Dot6 order (kernels/cpu/optim.h): one
/// fused reduction kernel reads each element once and keeps all 3 (or 6)
/// sums in double; per-block partials are added on the host in block order.
/// Synchronises with the device's stream.
void pair_dots(const std::vector<Tensor>& xs, double* out);

/// out = wa a + wb b (+ wc c when c is defined), one launch; each element
/// computed in double, rounded once (as the CPU).
void weighted_sum(const Tensor& out, const Tensor& a, double wa, const Tensor& b, double wb,
                  const Tensor& c, double wc);

/// sum |x|^p over all elements of x (any strides, on a CUDA device),
/// accumulated in double; max |x| when p is INFINITY (NaN once any is NaN).
/// Synchronises with the device's stream (the block partials come back and
/// are added on the host in block order).
double norm_piece(const Tensor& x, double p);

}  // namespace nova::cuda
