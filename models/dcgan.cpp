// models/dcgan.cpp: the SN-GAN paper's standard CNN (see dcgan.h).
#include "models/dcgan.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "nn/init.h"

namespace nova::models {

namespace {

constexpr double kSlope = 0.1;          // D's leaky ReLU
constexpr double kInitStd = 0.02;

/// N(0, 0.02) weight (the trained one under spectral norm), zero bias.
template <typename Layer>
void init_layer(Layer& layer) {
  nn::init::normal_(nn::trained_weight(layer), 0.0, kInitStd);
  if (layer.bias.defined()) nn::init::zeros_(layer.bias);
}

int64_t bottom_width(const char* what, const DcganOptions& o) {
  NOVA_CHECK(o.image_size >= 8 && o.image_size % 8 == 0, "{}: image_size must be a multiple of 8, got {}",
             what, o.image_size);
  NOVA_CHECK(o.z_dim > 0 && o.image_channels > 0, "{}: z_dim and image_channels must be > 0, got {} and {}",
             what, o.z_dim, o.image_channels);
  NOVA_CHECK(o.width > 0, "{}: width must be > 0, got {}", what, o.width);
  return o.image_size / 8;
}

}  // namespace

DcganGenerator::DcganGenerator(const DcganOptions& o) : nn::Module("DcganGenerator"), options(o) {
  const int64_t m = bottom_width("DcganGenerator", o);
  const int64_t w = o.width;
  const auto up = ConvTranspose2dArgs().stride(2).padding(1);
  dense = register_module("dense", std::make_shared<nn::Linear>(o.z_dim, m * m * 8 * w));
  bn0 = register_module("bn0", std::make_shared<nn::BatchNorm2d>(8 * w));
  deconv1 = register_module("deconv1", std::make_shared<nn::ConvTranspose2d>(8 * w, 4 * w, 4, up));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(4 * w));
  deconv2 = register_module("deconv2", std::make_shared<nn::ConvTranspose2d>(4 * w, 2 * w, 4, up));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(2 * w));
  deconv3 = register_module("deconv3", std::make_shared<nn::ConvTranspose2d>(2 * w, w, 4, up));
  bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(w));
  conv_out = register_module("conv_out", std::make_shared<nn::Conv2d>(w, o.image_channels, 3,
                                                                      Conv2dArgs().padding(1)));
  NoGradGuard no_grad;
  init_layer(*dense);
  init_layer(*deconv1);
  init_layer(*deconv2);
  init_layer(*deconv3);
  init_layer(*conv_out);
}

Tensor DcganGenerator::forward(const Tensor& z) {
  NOVA_CHECK(z.dim() == 2 && z.size(1) == options.z_dim, "DcganGenerator: expected z [N, {}], got {}",
             options.z_dim, z.shape().str());
  const int64_t m = options.image_size / 8;
  Tensor h = dense->forward(z).reshape({z.size(0), 8 * options.width, m, m});
  h = ops::relu(bn0->forward(h));
  h = ops::relu(bn1->forward(deconv1->forward(h)));
  h = ops::relu(bn2->forward(deconv2->forward(h)));
  h = ops::relu(bn3->forward(deconv3->forward(h)));
  return ops::tanh(conv_out->forward(h));
}

DcganDiscriminator::DcganDiscriminator(const DcganOptions& o) : nn::Module("DcganDiscriminator"), options(o) {
  const int64_t m = bottom_width("DcganDiscriminator", o);
  const nn::SpectralNormOptions sn = o.spectral_norm_d ? nn::SpectralNormOptions::on() : nn::SpectralNormOptions();
  struct Spec {
    int64_t in, out, kernel, stride;
  };
  const int64_t w = o.width;
  const Spec specs[] = {{o.image_channels, w, 3, 1}, {w, 2 * w, 4, 2},     {2 * w, 2 * w, 3, 1},
                        {2 * w, 4 * w, 4, 2},        {4 * w, 4 * w, 3, 1}, {4 * w, 8 * w, 4, 2},
                        {8 * w, 8 * w, 3, 1}};
  for (size_t i = 0; i < std::size(specs); ++i) {
    const Spec& s = specs[i];
    convs.push_back(register_module(
        fmt::format("conv{}", i),
        std::make_shared<nn::Conv2d>(s.in, s.out, s.kernel,
                                     // leaky ReLU fused into the convolution's output pass: the
                                     // same bits as ops::leaky_relu after it, one pass less
                                     Conv2dArgs().stride(s.stride).padding(1).activation(ConvActivation::leaky_relu,
                                                                                         kSlope),
                                     true, sn)));
  }
  dense = register_module("dense", std::make_shared<nn::Linear>(m * m * 8 * w, 1, true, sn));
  NoGradGuard no_grad;
  for (auto& c : convs) init_layer(*c);
  init_layer(*dense);
}

Tensor DcganDiscriminator::forward(const Tensor& x) {
  NOVA_CHECK(x.dim() == 4 && x.size(1) == options.image_channels && x.size(2) == options.image_size &&
                 x.size(3) == options.image_size,
             "DcganDiscriminator: expected images [N, {}, {}, {}], got {}", options.image_channels,
             options.image_size, options.image_size, x.shape().str());
  Tensor h = x;
  for (auto& c : convs) h = c->forward(h);  // conv, then leaky ReLU (fused)
  return dense->forward(h.reshape({x.size(0), -1}));
}

}  // namespace nova::models
