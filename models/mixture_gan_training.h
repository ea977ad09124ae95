// models/mixture_gan_training.h: MixtureGanTraining, the whole training step
// of the 8-Gaussian GAN (thesis section 2.1.5.3): the models, their
// optimizers, the data stream and one call that makes a D step and a G step.
//
// Why a class of its own: a soak run (bench/bench_soak), the threads test
// (tests/test_threads.cpp) and the trainer need the same step, and a step
// written out again in each place drifts (how the seed makes the weights,
// which generator draws what, where G's gradient goes). The seed rules here
// are examples/gan_8gaussians's: weights from Generator(seed * 2654435761 + 1),
// data and noise from Generator(seed).
#pragma once

#include <memory>

#include "core/random.h"
#include "datasets/gaussian_mixture.h"
#include "models/gan_discriminator_step.h"
#include "models/gaussian_mixture_gan.h"
#include "optim/adaptive_weighting.h"
#include "optim/optimizer.h"

namespace nova::models {

struct MixtureGanTrainingOptions {
  MixtureGanOptions net;
  GanDiscriminatorStepOptions d_step;  // objective, clip, gp_lambda, grad_split
  /// 0: plain D step; 1, 2: adaptive weighted D step, Algorithm 1 or 2
  int aw_algorithm = 0;
  /// the aw thresholds and norm guard (aw.normalized is set from aw_algorithm)
  optim::AdaptiveWeightingOptions aw;
  int64_t batch = 64;
  double lr_d = 1e-4, lr_g = 1e-3, beta1 = 0.5, beta2 = 0.999;
  Device device = kCPU;
};

/// What a step of both players did.
struct MixtureGanStepLog {
  GanDiscriminatorStepLog d;
  double g_loss = 0;
};

class MixtureGanTraining {
 public:
  /// Builds G, D and their Adam optimizers from `seed` (see the top of this file).
  MixtureGanTraining(const MixtureGanTrainingOptions& options, uint64_t seed);

  /// One D step on fresh real points and G's points (no graph through G),
  /// then one G step. measure_angles: as GanDiscriminatorStep::step.
  MixtureGanStepLog step(bool measure_angles = false);

  const std::shared_ptr<nn::Sequential>& generator() const { return G_; }
  /// D's network. What scores points is discriminator_step().discriminator():
  /// D itself, or its gradient normalisation for gn and pgn.
  const std::shared_ptr<nn::Sequential>& discriminator() const { return D_; }
  GanDiscriminatorStep& discriminator_step() { return *d_step_; }
  optim::Adam& generator_optimizer() { return *opt_g_; }
  /// The stream of real points and noise (and the penalty's interpolation).
  Generator& data_generator() { return gen_; }
  const datasets::GaussianMixture& mixture() const { return mixture_; }
  const MixtureGanTrainingOptions& options() const { return options_; }

 private:
  MixtureGanTrainingOptions options_;
  datasets::GaussianMixture mixture_ = datasets::ring_of_gaussians();
  Generator gen_;
  std::shared_ptr<nn::Sequential> G_, D_;
  std::unique_ptr<optim::Adam> opt_g_;
  std::unique_ptr<GanDiscriminatorStep> d_step_;
};

}  // namespace nova::models
