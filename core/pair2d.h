// core/pair2d.h: Pair2d, the (height, width) pair of a 2-D op's window,
// stride, padding, dilation or output padding, shared by conv (core/conv.h)
// and pool (core/pool.h). One number means both, as PyTorch's int-or-tuple
// arguments do: Pair2d(2) == Pair2d(2, 2), so max_pool2d(x, 2) and
// max_pool2d(x, {3, 2}) read as in PyTorch.
#pragma once

#include <cstdint>

namespace nova {

struct Pair2d {
  int64_t h, w;
  Pair2d(int64_t both) : h(both), w(both) {}  // NOLINT: implicit on purpose
  Pair2d(int64_t h_, int64_t w_) : h(h_), w(w_) {}
};

namespace ops {
using nova::Pair2d;  // pool's signatures name it ops::Pair2d too
}  // namespace ops

}  // namespace nova
