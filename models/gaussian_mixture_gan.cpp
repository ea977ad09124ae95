// models/gaussian_mixture_gan.cpp: see gaussian_mixture_gan.h.
#include "models/gaussian_mixture_gan.h"

#include "nn/activation.h"
#include "nn/init.h"
#include "nn/linear.h"

namespace nova::models {

std::shared_ptr<nn::Sequential> mixture_mlp(int64_t in_dim, int64_t out_dim,
                                            const MixtureGanOptions& options, Generator* gen) {
  NOVA_CHECK(in_dim > 0 && out_dim > 0 && options.hidden > 0 && options.hidden_layers >= 1,
             "mixture_mlp: sizes must be positive (in {}, out {}, hidden {}, hidden_layers {})", in_dim,
             out_dim, options.hidden, options.hidden_layers);
  auto net = std::make_shared<nn::Sequential>();
  int64_t width = in_dim;
  for (int64_t layer = 0; layer < options.hidden_layers; ++layer) {
    net->push_back(std::make_shared<nn::Linear>(width, options.hidden));
    net->push_back(std::make_shared<nn::Tanh>());
    width = options.hidden;
  }
  net->push_back(std::make_shared<nn::Linear>(width, out_dim));
  for (auto& [name, p] : net->named_parameters()) {
    if (p.dim() == 2) {
      nn::init::orthogonal_(p, options.init_gain, gen);
    } else {
      nn::init::zeros_(p);
    }
  }
  return net;
}

}  // namespace nova::models
