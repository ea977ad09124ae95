// examples/gan_images_study.h: the two DCGAN studies of thesis section 2.1.5
// (gan_images --study angles|scores), run on whatever data and model the
// trainer was given (the thesis: DCGAN on CIFAR-10, the first epoch).
//
//   angles (2.1.5.1, Figure 2.4)  two runs from the same initial weights and
//     the same batches, original loss and aw-loss (Algorithm 1): at each of
//     `iterations` iterations the angles between grad L_r and grad L_f, and
//     between the D update and each of them (degrees; the update is
//     grad L_r + grad L_f for the original loss, w_r grad L_r + w_f grad L_f
//     for aw). Above 90 degrees, a step along the update lowers that loss.
//   scores (2.1.5.2, Figure 2.5)  one run with the original loss; at each
//     iteration, on its mini-batch of real and fake images: the mean D logit
//     of each before the D step (row 1), after the original step (row 2), and
//     after an aw step taken instead from the same state, D's weights, its
//     spectral-norm vectors and Adam's moments (row 3); the run then goes on
//     from the original step. Gaps real - fake (row 4), and the averages over
//     the run the thesis quotes (real score 0.921 with aw vs 0.248 original;
//     gap 1.413 vs 1.262 on CIFAR-10).
// Each writes a CSV (one row per iteration) and a PNG of the figure's panels.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "core/tensor.h"
#include "models/gan_discriminator_step.h"
#include "nn/module.h"
#include "optim/optimizer.h"

namespace nova::examples {

struct StudySetup {
  /// Fresh G and D, the same weights on every call.
  std::function<std::pair<std::shared_ptr<nn::Module>, std::shared_ptr<nn::Module>>()> make_networks;
  Tensor train_images;  // [n, C, S, S] on the CPU; batches are drawn from it with replacement
  Device device = kCPU;
  int64_t batch_d = 64, batch_g = 128, z_dim = 128, iterations = 50;
  uint64_t seed = 0;
  models::GanDiscriminatorStepOptions d_step;  // the objective (and grad_split) of both losses
  optim::AdamOptions adam;                     // G's, D's and aw's inner Adam
  std::string csv_path, png_path;              // empty: not written
};

/// Figure 2.4; prints the per-run means of the three angles. Returns 0.
int run_angles_study(const StudySetup& setup);
/// Figure 2.5; prints the run's averages. Returns 0.
int run_scores_study(const StudySetup& setup);

}  // namespace nova::examples
