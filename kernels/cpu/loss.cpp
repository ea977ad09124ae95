// kernels/cpu/loss.cpp: the nll_loss target check (see kernels/loss.h). One serial
// pass over N * d... labels: small next to the log_softmax before it, and a
// serial loop can throw at the first bad label.
#include "kernels/loss.h"

namespace nova::cpu {

int64_t nll_check_targets(const char* op, const View& target, int64_t C, int64_t ignore_index) {
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

}  // namespace nova::cpu
