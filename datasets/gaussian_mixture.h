// datasets/gaussian_mixture.h: the 2-D toy distributions of the GAN
// mode-collapse experiments (thesis section 2.1.5.3, after the unrolled-GAN
// paper): Gaussians on a circle (8 modes by default) and on a square grid
// (the 25-Gaussian variant).
//
// The centres of the ring are at angle 2 pi k / count. (The widely copied
// public toy uses linspace(0, 2 pi, 8), which puts the first and last centre
// on the same point and so has only 7 modes; see THESIS-NOTES.md.)
#pragma once

#include "core/random.h"
#include "core/tensor.h"

namespace nova::datasets {

struct GaussianMixture {
  Tensor centres;  // [modes, 2] float32
  double std = 0;  // of every mode, on each coordinate

  /// n samples [n, 2] float32: a uniformly chosen mode plus N(0, std^2 I).
  Tensor sample(int64_t n, Generator& gen) const;
  /// The mode index [n] (int64) of each row of `points`: the nearest centre.
  Tensor nearest_mode(const Tensor& points) const;
};

/// `count` modes at radius * (cos 2 pi k / count, sin 2 pi k / count).
GaussianMixture ring_of_gaussians(int64_t count = 8, double radius = 1.0, double std = 0.01);

/// side x side modes at spacing * (i - (side - 1) / 2, j - (side - 1) / 2):
/// side 5, spacing 2 gives the usual 25-Gaussian grid on {-4, -2, 0, 2, 4}^2.
GaussianMixture grid_of_gaussians(int64_t side = 5, double spacing = 2.0, double std = 0.05);

}  // namespace nova::datasets
