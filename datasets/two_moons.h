// datasets/two_moons.h: the two interleaving half circles of scikit-learn's
// make_moons, generated from a seed: a small 2-D classification task that a
// two-layer MLP separates almost perfectly, used by the first example.
#pragma once

#include "core/random.h"
#include "core/tensor.h"

namespace nova::datasets {

struct Classification {
  Tensor x;  // [n, features] float32
  Tensor y;  // [n] int64 class indices
};

/// n points (half per moon, the odd one to moon 0): moon 0 is (cos t, sin t),
/// moon 1 is (1 - cos t, 0.5 - sin t), t uniform in [0, pi], plus Gaussian
/// noise of std `noise` on both coordinates. Rows are shuffled.
Classification two_moons(int64_t n, double noise, Generator& gen);

}  // namespace nova::datasets
