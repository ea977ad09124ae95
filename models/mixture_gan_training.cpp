// models/mixture_gan_training.cpp: the 8-Gaussian GAN's training step (see
// mixture_gan_training.h).
#include "models/mixture_gan_training.h"

#include "core/autograd.h"
#include "core/factory.h"
#include "core/profile.h"
#include "nn/gan_loss.h"

namespace nova::models {

MixtureGanTraining::MixtureGanTraining(const MixtureGanTrainingOptions& options, uint64_t seed)
    : options_(options), gen_(seed) {
  NOVA_CHECK(options.aw_algorithm >= 0 && options.aw_algorithm <= 2,
             "MixtureGanTraining: aw_algorithm is 0 (plain), 1 or 2, got {}", options.aw_algorithm);
  NOVA_CHECK(options.batch > 0, "MixtureGanTraining: batch must be positive, got {}", options.batch);
  // same seed -> same initial weights and data stream for baseline and aw
  Generator init(seed * 2654435761ULL + 1);
  G_ = mixture_generator(options.net, &init);
  D_ = mixture_discriminator(options.net, &init);
  G_->to(options.device);
  D_->to(options.device);
  const optim::AdamOptions adam_d{options.lr_d, {options.beta1, options.beta2}};
  const optim::AdamOptions adam_g{options.lr_g, {options.beta1, options.beta2}};
  opt_g_ = std::make_unique<optim::Adam>(G_->parameters(), adam_g);
  auto opt_d = std::make_unique<optim::Adam>(D_->parameters(), adam_d);
  if (options.aw_algorithm == 0) {
    d_step_ = std::make_unique<GanDiscriminatorStep>(D_, std::move(opt_d), options.d_step);
  } else {
    optim::AdaptiveWeightingOptions aw = options.aw;
    aw.normalized = options.aw_algorithm == 1;
    d_step_ = std::make_unique<GanDiscriminatorStep>(
        D_, std::make_unique<optim::AdaptiveWeighting>(D_->parameters(), std::move(opt_d), aw), options.d_step);
  }
}

MixtureGanStepLog MixtureGanTraining::step(bool measure_angles) {
  const int64_t n = options_.batch, z_dim = options_.net.z_dim;
  const Device device = options_.device;
  MixtureGanStepLog log;
  {
    profile::Scope scope("D step");  // names the ops below in anomaly mode's errors
    Tensor real = mixture_.sample(n, gen_).to(device);
    Tensor z = randn({n, z_dim}, kFloat32, device, &gen_);
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = (*G_)(z);
    }
    log.d = d_step_->step(real, fake, gen_, measure_angles);
  }
  profile::Scope scope("G step");
  Tensor z = randn({n, z_dim}, kFloat32, device, &gen_);
  Tensor loss = nn::generator_loss(options_.d_step.objective.g_loss, (*d_step_->discriminator())((*G_)(z)));
  optim::backward_into(loss, G_->parameters());  // D's weight gradients would be thrown away
  opt_g_->step();
  log.g_loss = loss.item();
  return log;
}

}  // namespace nova::models
