// models/gaussian_mixture_gan.h: the generator and discriminator of the
// 8-Gaussian experiment (thesis section 2.1.5.3, Figure 2.6). The thesis
// gives no sizes; these follow the widely used re-implementation of the
// unrolled-GAN toy (THESIS-NOTES.md): two hidden layers of 128 tanh units,
// linear outputs, orthogonal weights with gain 1.4, z of 256 standard normals.
//
//   generator      z [n, 256] -> 128 tanh -> 128 tanh -> [n, 2] (a point)
//   discriminator  x [n, 2]   -> 128 tanh -> 128 tanh -> [n, 1] (a raw logit)
#pragma once

#include <memory>

#include "core/random.h"
#include "nn/sequential.h"

namespace nova::models {

struct MixtureGanOptions {
  int64_t z_dim = 256;
  int64_t hidden = 128;
  int64_t hidden_layers = 2;
  double init_gain = 1.4;  // orthogonal init of every weight; biases start at 0
};

/// An MLP in_dim -> hidden (tanh) x hidden_layers -> out_dim, initialised as
/// the options say (weights from `gen` when given).
std::shared_ptr<nn::Sequential> mixture_mlp(int64_t in_dim, int64_t out_dim,
                                            const MixtureGanOptions& options, Generator* gen = nullptr);

/// z [n, z_dim] -> samples [n, 2].
inline std::shared_ptr<nn::Sequential> mixture_generator(const MixtureGanOptions& options = {},
                                                         Generator* gen = nullptr) {
  return mixture_mlp(options.z_dim, 2, options, gen);
}

/// x [n, 2] -> raw logits [n, 1] (apply sigmoid for a probability).
inline std::shared_ptr<nn::Sequential> mixture_discriminator(const MixtureGanOptions& options = {},
                                                             Generator* gen = nullptr) {
  return mixture_mlp(2, 1, options, gen);
}

}  // namespace nova::models
