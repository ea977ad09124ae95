// models/autogan.cpp: AutoGAN's CIFAR-10 generator and its discriminator
// (see autogan.h for the architecture and the skip aliasing it keeps).
#include "models/autogan.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "core/pool.h"
#include "nn/activation.h"
#include "nn/init.h"

namespace nova::models {

namespace {

/// A Conv2d with PyTorch's default bias init and weight xavier_uniform(1),
/// as weights_init(init_type = xavier_uniform) leaves it.
std::shared_ptr<nn::Conv2d> xavier_conv(int64_t in, int64_t out, int64_t kernel, bool sn) {
  auto c = std::make_shared<nn::Conv2d>(in, out, kernel, Conv2dArgs().padding(kernel / 2), true,
                                        sn ? nn::SpectralNormOptions::on() : nn::SpectralNormOptions());
  NoGradGuard no_grad;
  nn::init::xavier_uniform_(nn::trained_weight(*c), 1.0);
  return c;
}

Tensor resize(const Tensor& x, const ops::UpsampleTo& to, bool bilinear) {
  return bilinear ? ops::upsample_bilinear2d(x, to) : ops::upsample_nearest2d(x, to);
}

void check_options(const char* what, const AutoganOptions& o) {
  NOVA_CHECK(o.z_dim > 0 && o.gf_dim > 0 && o.df_dim > 0 && o.bottom_width > 0,
             "{}: z_dim, gf_dim, df_dim and bottom_width must be > 0, got {}, {}, {}, {}", what, o.z_dim,
             o.gf_dim, o.df_dim, o.bottom_width);
}

}  // namespace

AutoganCell::AutoganCell(int64_t in, int64_t out, bool bilinear_, int64_t num_skip_in, bool short_cut,
                         bool inplace_skip_)
    : nn::Module("AutoganCell"), bilinear(bilinear_), inplace_skip(inplace_skip_) {
  c1 = register_module("c1", xavier_conv(in, out, 3, false));
  c2 = register_module("c2", xavier_conv(out, out, 3, false));
  if (short_cut) c_sc = register_module("c_sc", xavier_conv(in, out, 1, false));
  if (num_skip_in > 0) {
    // nested as the official nn.ModuleList, so the names are skip_in_ops.K
    auto list = register_module("skip_in_ops", std::make_shared<nn::Module>("ModuleList"));
    for (int64_t k = 0; k < num_skip_in; ++k)
      skip_in_ops.push_back(list->register_module(std::to_string(k), xavier_conv(out, out, 1, false)));
  }
}

std::pair<Tensor, Tensor> AutoganCell::forward(const Tensor& x, const std::vector<Tensor>& skips) {
  NOVA_CHECK(skips.size() == skip_in_ops.size(), "AutoganCell: expected {} skip inputs, got {}",
             skip_in_ops.size(), skips.size());
  Tensor h = c1->forward(resize(ops::relu(x), ops::UpsampleTo::scale(2), bilinear));
  Tensor skip_out = h;
  for (size_t k = 0; k < skips.size(); ++k)
    h = h + skip_in_ops[k]->forward(resize(skips[k], ops::UpsampleTo::size(h.size(2), h.size(3)), bilinear));
  // The official `h += ...` changed the tensor it had already named skip_out.
  if (inplace_skip) skip_out = h;
  Tensor out = c2->forward(ops::relu(h));
  if (c_sc) out = out + c_sc->forward(resize(x, ops::UpsampleTo::scale(2), bilinear));
  return {skip_out, out};
}

AutoganGenerator::AutoganGenerator(const AutoganOptions& o) : nn::Module("AutoganGenerator"), options(o) {
  check_options("AutoganGenerator", o);
  const int64_t g = o.gf_dim;
  l1 = register_module("l1", std::make_shared<nn::Linear>(o.z_dim, o.bottom_width * o.bottom_width * g));
  cell1 = register_module("cell1", std::make_shared<AutoganCell>(g, g, false, 0, true, o.inplace_skip));
  cell2 = register_module("cell2", std::make_shared<AutoganCell>(g, g, true, 1, true, o.inplace_skip));
  cell3 = register_module("cell3", std::make_shared<AutoganCell>(g, g, false, 2, false, o.inplace_skip));
  auto bn = std::make_shared<nn::BatchNorm2d>(g);
  {
    NoGradGuard no_grad;
    nn::init::normal_(bn->weight, 1.0, 0.02);
    nn::init::zeros_(bn->bias);
  }
  to_rgb = register_module("to_rgb", std::make_shared<nn::Sequential>(bn, std::make_shared<nn::ReLU>(),
                                                                       xavier_conv(g, 3, 3, false),
                                                                       std::make_shared<nn::Tanh>()));
}

Tensor AutoganGenerator::forward(const Tensor& z) {
  NOVA_CHECK(z.dim() == 2 && z.size(1) == options.z_dim, "AutoganGenerator: expected z [N, {}], got {}",
             options.z_dim, z.shape().str());
  Tensor h = l1->forward(z).reshape({z.size(0), options.gf_dim, options.bottom_width, options.bottom_width});
  auto [skip1, h1] = cell1->forward(h, {});
  auto [skip2, h2] = cell2->forward(h1, {skip1});
  Tensor h3 = cell3->forward(h2, {skip1, skip2}).second;
  return to_rgb->forward(h3);
}

AutoganDisBlock::AutoganDisBlock(int64_t in, int64_t out, bool downsample_, bool optimized_, bool sn)
    : nn::Module("AutoganDisBlock"), downsample(downsample_), optimized(optimized_) {
  c1 = register_module("c1", xavier_conv(in, out, 3, sn));
  c2 = register_module("c2", xavier_conv(out, out, 3, sn));
  if (optimized || in != out || downsample) c_sc = register_module("c_sc", xavier_conv(in, out, 1, sn));
}

Tensor AutoganDisBlock::forward(const Tensor& x) {
  Tensor h = c2->forward(ops::relu(c1->forward(optimized ? x : ops::relu(x))));
  if (optimized || downsample) h = ops::avg_pool2d(h, 2);
  Tensor skip = x;
  if (optimized) {
    skip = c_sc->forward(ops::avg_pool2d(x, 2));
  } else if (c_sc) {
    skip = c_sc->forward(x);
    if (downsample) skip = ops::avg_pool2d(skip, 2);
  }
  return h + skip;
}

AutoganDiscriminator::AutoganDiscriminator(const AutoganOptions& o)
    : nn::Module("AutoganDiscriminator"), options(o) {
  check_options("AutoganDiscriminator", o);
  const int64_t d = o.df_dim;
  const bool sn = o.d_spectral_norm;
  block1 = register_module("block1", std::make_shared<AutoganDisBlock>(3, d, true, true, sn));
  block2 = register_module("block2", std::make_shared<AutoganDisBlock>(d, d, true, false, sn));
  block3 = register_module("block3", std::make_shared<AutoganDisBlock>(d, d, false, false, sn));
  block4 = register_module("block4", std::make_shared<AutoganDisBlock>(d, d, false, false, sn));
  l5 = register_module("l5", std::make_shared<nn::Linear>(
                                 d, 1, false, sn ? nn::SpectralNormOptions::on() : nn::SpectralNormOptions()));
}

Tensor AutoganDiscriminator::forward(const Tensor& x) {
  NOVA_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) % 4 == 0 && x.size(3) % 4 == 0 && x.size(2) > 0 &&
                 x.size(3) > 0,
             "AutoganDiscriminator: expected images [N, 3, H, W] with H and W positive multiples of 4, got {}",
             x.shape().str());
  Tensor h = block4->forward(block3->forward(block2->forward(block1->forward(x))));
  return l5->forward(ops::global_sum_pool2d(ops::relu(h)));
}

}  // namespace nova::models
