// kernels/cpu/loss.cpp: nll_loss pick and scatter loops (see loss.h). Both are
// O(N * D) gathers over memory already in cache after log_softmax, so they
// run serially; the target check runs first so that no loop throws midway.
#include "kernels/cpu/loss.h"

#include <algorithm>

namespace nova::cpu {

int64_t nll_check_targets(const char* op, const Tensor& target, int64_t C, int64_t ignore_index) {
  const int64_t* t = target.data<int64_t>();
  int64_t valid = 0;
  for (int64_t i = 0; i < target.numel(); ++i) {
    if (t[i] == ignore_index) continue;
    if (t[i] < 0 || t[i] >= C)
      fail("{}: target {} is out of bounds for {} classes (at flat index {} of target {})", op,
           t[i], C, i, target.shape().str());
    ++valid;
  }
  return valid;
}

void nll_loss_forward(const Tensor& log_probs, const Tensor& target, int64_t ignore_index,
                      const Tensor& out) {
  const int64_t N = log_probs.size(0), C = log_probs.size(1), D = log_probs.size(2);
  const int64_t* t = target.data<int64_t>();
  dispatch_floating("nll_loss", log_probs.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* lp = log_probs.data<T>();
    T* po = out.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t d = 0; d < D; ++d) {
        const int64_t i = n * D + d;
        po[i] = t[i] == ignore_index ? T(0) : -lp[(n * C + t[i]) * D + d];
      }
  });
}

void nll_loss_backward(const Tensor& grad, const Tensor& target, int64_t ignore_index,
                       const Tensor& grad_input) {
  const int64_t N = grad_input.size(0), C = grad_input.size(1), D = grad_input.size(2);
  const int64_t* t = target.data<int64_t>();
  dispatch_floating("nll_loss", grad_input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = grad.data<T>();
    T* gi = grad_input.data<T>();
    std::fill(gi, gi + grad_input.numel(), T(0));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t d = 0; d < D; ++d) {
        const int64_t i = n * D + d;
        if (t[i] != ignore_index) gi[(n * C + t[i]) * D + d] = -g[i];
      }
  });
}

}  // namespace nova::cpu
