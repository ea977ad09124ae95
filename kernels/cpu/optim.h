// kernels/cpu/optim.h: fused CPU kernels for the optimizer-step ops.
//
// Each step kernel is one loop over contiguous memory that reads the gradient
// once and updates the parameter and its state buffers in place: no
// temporaries, so an Adam step over N values touches 4N (5N with amsgrad)
// numbers once instead of the dozen passes that a composition of elementwise
// ops would make. The update rules are written out in core/optim.h.
//
// All tensors are contiguous, of one floating dtype and one shape (core
// checks); an optional state buffer that the options do not use is an
// undefined Tensor. Loops are split across OpenMP threads above
// kParallelGrain elements (kernels/cpu/loops.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nova::cpu {

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
/// numel), in one pass: out = {<a,a>, <b,b>, <a,b>} for two,
/// {<a,a>, <b,b>, <c,c>, <a,b>, <a,c>, <b,c>} for three. Double accumulation,
/// per chunk of kParallelGrain elements, chunks added in order (the same
/// result for any thread count).
void pair_dots(const std::vector<Tensor>& xs, double* out);

/// out = wa a + wb b (+ wc c when c is defined), all contiguous, one dtype and
/// numel; each element computed in double, rounded once.
void weighted_sum(const Tensor& out, const Tensor& a, double wa, const Tensor& b, double wb,
                  const Tensor& c, double wc);

/// sum |x|^p over all elements of x (any strides), accumulated in double;
/// max |x| when p is INFINITY. The caller combines the pieces of several
/// tensors and takes the 1/p-th power once.
double norm_piece(const Tensor& x, double p);

}  // namespace nova::cpu
