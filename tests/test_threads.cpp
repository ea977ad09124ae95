// tests/test_threads.cpp: nova used from several threads at once. Each
// std::thread trains its own model with its own Generator; they share the
// CPU allocator's cache, the OpenMP runtime and every global of the library,
// so a race in any of them shows as results that differ from a run of the
// same models one after the other (and as a report when tools/sanitize.sh
// thread runs the [threads] cases under ThreadSanitizer).
#include <omp.h>

#include <thread>

#include "core/ops.h"
#include "datasets/gaussian_mixture.h"
#include "models/gan_discriminator_step.h"
#include "models/gaussian_mixture_gan.h"
#include "optim/optimizer.h"
#include "tests/test_util.h"

using namespace nova;

namespace {

// The 8-Gaussian GAN of examples/gan_8gaussians: an aw D step (grad_split
// fused) and a plain G step, on a batch large enough that the hidden layers'
// elementwise ops split across OpenMP threads (kernels/cpu/loops.h).
std::vector<Tensor> train_gan(uint64_t seed, int steps) {
  const int64_t batch = 256;
  models::MixtureGanOptions net;
  Generator init(seed), gen(seed + 1000);
  auto G = models::mixture_generator(net, &init);
  auto D = models::mixture_discriminator(net, &init);
  auto params = D->parameters();
  models::GanDiscriminatorStepOptions options;
  options.objective = nn::parse_gan_objective("bce");
  models::GanDiscriminatorStep d_step(
      D,
      std::make_unique<optim::AdaptiveWeighting>(
          params, std::make_unique<optim::Adam>(params, optim::AdamOptions{1e-4, {0.5, 0.999}})),
      options);
  optim::Adam opt_g(G->parameters(), optim::AdamOptions{1e-3, {0.5, 0.999}});
  const datasets::GaussianMixture mixture = datasets::ring_of_gaussians();
  const Tensor ones = nova::ones({batch, 1});
  for (int s = 0; s < steps; ++s) {
    Tensor real = mixture.sample(batch, gen);
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = (*G)(randn({batch, net.z_dim}, kFloat32, kCPU, &gen));
    }
    d_step.step(real, fake, gen);
    Tensor loss = ops::binary_cross_entropy_with_logits((*D)((*G)(randn({batch, net.z_dim}, kFloat32, kCPU, &gen))), ones);
    opt_g.zero_grad();
    loss.backward();
    opt_g.step();
  }
  std::vector<Tensor> weights;
  for (const Tensor& p : G->parameters()) weights.push_back(p.detach().clone());
  for (const Tensor& p : D->parameters()) weights.push_back(p.detach().clone());
  return weights;
}

bool identical(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || test::max_abs_diff(a[i], b[i]) != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("two threads training their own GANs at once match one after the other", "[threads]") {
  const int steps = 12;
  for (int omp_threads : {1, 2}) {
    INFO("OpenMP threads per training thread: " << omp_threads);
    std::vector<Tensor> seq_a, seq_b, par_a, par_b;
    std::thread([&] {
      omp_set_num_threads(omp_threads);
      seq_a = train_gan(1, steps);
      seq_b = train_gan(2, steps);
    }).join();
    std::thread ta([&] {
      omp_set_num_threads(omp_threads);
      par_a = train_gan(1, steps);
    });
    std::thread tb([&] {
      omp_set_num_threads(omp_threads);
      par_b = train_gan(2, steps);
    });
    ta.join();
    tb.join();
    REQUIRE(!identical(seq_a, seq_b));  // two different models, or the test shows nothing
    REQUIRE(identical(par_a, seq_a));
    REQUIRE(identical(par_b, seq_b));
  }
}

TEST_CASE("a parallel elementwise loop gives the serial loop's values", "[threads]") {
  Generator gen(5);
  // four times the grain of kernels/cpu/loops.h, so the loop really splits
  Tensor a = randn({4, 32768}, kFloat64, kCPU, &gen), b = randn({4, 32768}, kFloat64, kCPU, &gen);
  Tensor serial, parallel;
  std::thread([&] {
    omp_set_num_threads(1);
    serial = ops::tanh(a * b + a);
  }).join();
  std::thread([&] {
    omp_set_num_threads(4);
    parallel = ops::tanh(a * b + a);
  }).join();
  REQUIRE(test::max_abs_diff(serial, parallel) == 0);
}
