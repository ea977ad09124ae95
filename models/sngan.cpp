// models/sngan.cpp: SN-GAN's ResNet generator and discriminator (see sngan.h).
#include "models/sngan.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/pool.h"
#include "nn/init.h"

namespace nova::models {

namespace {

/// xavier_uniform_(gain) on the trained weight, zero bias.
template <typename Layer>
void init_xavier(Layer& layer, double gain) {
  NoGradGuard no_grad;
  nn::init::xavier_uniform_(nn::trained_weight(layer), gain);
  if (layer.bias.defined()) nn::init::zeros_(layer.bias);
}

const double kResidualGain = std::sqrt(2.0);

std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t kernel, bool sn, double gain) {
  auto c = std::make_shared<nn::Conv2d>(in, out, kernel, Conv2dArgs().padding(kernel / 2), true,
                                        sn ? nn::SpectralNormOptions::on() : nn::SpectralNormOptions());
  init_xavier(*c, gain);
  return c;
}

Tensor upsample2x(const Tensor& x) { return ops::upsample_nearest2d(x, ops::UpsampleTo::scale(2)); }
Tensor avgpool2x(const Tensor& x) { return ops::avg_pool2d(x, 2); }

void check_options(const char* what, const SnganOptions& o) {
  NOVA_CHECK(o.image_size == 32 || o.image_size == 48,
             "{}: image_size must be 32 (CIFAR layout) or 48 (STL-10 layout), got {}", what, o.image_size);
  NOVA_CHECK(o.image_channels > 0 && o.z_dim > 0 && o.num_classes >= 0 && o.g_width >= 0 && o.d_width >= 0,
             "{}: image_channels and z_dim must be > 0, num_classes, g_width and d_width >= 0, got {}, {}, "
             "{}, {}, {}",
             what, o.image_channels, o.z_dim, o.num_classes, o.g_width, o.d_width);
}

void check_labels(const char* what, int64_t num_classes, const Tensor& x, const Tensor& labels) {
  if (num_classes == 0) {
    NOVA_CHECK(!labels.defined(), "{}: built unconditional (num_classes = 0) but given labels", what);
    return;
  }
  NOVA_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == x.size(0),
             "{}: conditional (num_classes = {}): expected labels [{}], got {}", what, num_classes, x.size(0),
             labels.defined() ? labels.shape().str() : "none");
}

}  // namespace

SnganGenBlock::SnganGenBlock(int64_t in, int64_t out, int64_t classes, double eps)
    : nn::Module("SnganGenBlock"), num_classes(classes) {
  if (classes > 0) {
    cond_bn1 = register_module("bn1", std::make_shared<nn::ConditionalBatchNorm2d>(in, classes, eps));
  } else {
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(in, eps));
  }
  conv1 = register_module("conv1", conv(in, out, 3, false, kResidualGain));
  if (classes > 0) {
    cond_bn2 = register_module("bn2", std::make_shared<nn::ConditionalBatchNorm2d>(out, classes, eps));
  } else {
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out, eps));
  }
  conv2 = register_module("conv2", conv(out, out, 3, false, kResidualGain));
  shortcut = register_module("shortcut", conv(in, out, 1, false, 1.0));
}

Tensor SnganGenBlock::forward(const Tensor& x, const Tensor& labels) {
  auto norm = [&](const std::shared_ptr<nn::BatchNorm2d>& plain,
                  const std::shared_ptr<nn::ConditionalBatchNorm2d>& cond, const Tensor& t) {
    return num_classes > 0 ? cond->forward(t, labels) : plain->forward(t);
  };
  Tensor h = upsample2x(ops::relu(norm(bn1, cond_bn1, x)));
  h = conv2->forward(ops::relu(norm(bn2, cond_bn2, conv1->forward(h))));
  return h + shortcut->forward(upsample2x(x));
}

SnganDisBlock::SnganDisBlock(int64_t in, int64_t out, bool down_, bool optimized_)
    : nn::Module("SnganDisBlock"), down(down_), optimized(optimized_) {
  conv1 = register_module("conv1", conv(in, out, 3, true, kResidualGain));
  conv2 = register_module("conv2", conv(out, out, 3, true, kResidualGain));
  if (optimized || in != out || down) shortcut = register_module("shortcut", conv(in, out, 1, true, 1.0));
}

Tensor SnganDisBlock::forward(const Tensor& x) {
  Tensor h = conv1->forward(optimized ? x : ops::relu(x));
  h = conv2->forward(ops::relu(h));
  if (down || optimized) h = avgpool2x(h);
  Tensor skip = x;
  if (optimized) {
    skip = shortcut->forward(avgpool2x(x));  // pool first: the 1x1 conv then runs on a quarter
  } else if (shortcut) {
    skip = shortcut->forward(x);
    if (down) skip = avgpool2x(skip);
  }
  return h + skip;
}

SnganGenerator::SnganGenerator(const SnganOptions& o) : nn::Module("SnganGenerator"), options(o) {
  check_options("SnganGenerator", o);
  const bool stl = o.image_size == 48;
  const int64_t w = o.g_width > 0 ? o.g_width : (stl ? 64 : 256);
  const std::vector<int64_t> widths = stl ? std::vector<int64_t>{8 * w, 4 * w, 2 * w, w}
                                          : std::vector<int64_t>{w, w, w, w};
  bottom_width = stl ? 6 : 4;
  bottom_channels = widths[0];
  dense = register_module("dense", std::make_shared<nn::Linear>(o.z_dim, bottom_width * bottom_width *
                                                                             bottom_channels));
  init_xavier(*dense, 1.0);
  for (size_t i = 0; i + 1 < widths.size(); ++i)
    blocks.push_back(register_module(fmt::format("block{}", i + 1),
                                     std::make_shared<SnganGenBlock>(widths[i], widths[i + 1], o.num_classes,
                                                                     o.bn_eps)));
  bn_out = register_module("bn_out", std::make_shared<nn::BatchNorm2d>(widths.back(), o.bn_eps));
  conv_out = register_module("conv_out", conv(widths.back(), o.image_channels, 3, false, 1.0));
}

Tensor SnganGenerator::forward(const Tensor& z, const Tensor& labels) {
  NOVA_CHECK(z.dim() == 2 && z.size(1) == options.z_dim, "SnganGenerator: expected z [N, {}], got {}",
             options.z_dim, z.shape().str());
  check_labels("SnganGenerator", options.num_classes, z, labels);
  Tensor h = dense->forward(z).reshape({z.size(0), bottom_channels, bottom_width, bottom_width});
  for (auto& b : blocks) h = b->forward(h, labels);
  return ops::tanh(conv_out->forward(ops::relu(bn_out->forward(h))));
}

namespace {

struct DisBlockSpec {
  int64_t in, out;
  bool down;
};

/// D's blocks for the layout (see the top of sngan.h).
std::vector<DisBlockSpec> dis_block_specs(const SnganOptions& o) {
  std::vector<DisBlockSpec> specs;
  const int64_t c = o.image_channels;
  if (o.image_size == 48) {
    const int64_t w = o.d_width > 0 ? o.d_width : 64;
    for (const DisBlockSpec& s : {DisBlockSpec{c, w, true}, DisBlockSpec{w, 2 * w, true},
                                  DisBlockSpec{2 * w, 4 * w, true}, DisBlockSpec{4 * w, 8 * w, true},
                                  DisBlockSpec{8 * w, 16 * w, false}})
      specs.push_back(s);
  } else {
    const int64_t w = o.d_width > 0 ? o.d_width : 128;
    for (const DisBlockSpec& s : {DisBlockSpec{c, w, true}, DisBlockSpec{w, w, true}, DisBlockSpec{w, w, false},
                                  DisBlockSpec{w, w, false}})
      specs.push_back(s);
  }
  return specs;
}

}  // namespace

SnganDiscriminator::SnganDiscriminator(const SnganOptions& o) : nn::Module("SnganDiscriminator"), options(o) {
  check_options("SnganDiscriminator", o);
  const std::vector<DisBlockSpec> specs = dis_block_specs(o);
  for (size_t i = 0; i < specs.size(); ++i)
    blocks.push_back(register_module(fmt::format("block{}", i + 1),
                                     std::make_shared<SnganDisBlock>(specs[i].in, specs[i].out, specs[i].down,
                                                                     /*optimized=*/i == 0)));
  const int64_t width = specs.back().out;
  dense = register_module("dense", std::make_shared<nn::Linear>(width, 1, false, nn::SpectralNormOptions::on()));
  init_xavier(*dense, 1.0);
  if (o.num_classes > 0) {
    projection = register_module("projection", std::make_shared<nn::Embedding>(o.num_classes, width, -1,
                                                                               nn::SpectralNormOptions::on()));
    NoGradGuard no_grad;
    nn::init::xavier_uniform_(nn::trained_weight(*projection), 1.0);
  }
}

Tensor SnganDiscriminator::forward(const Tensor& x, const Tensor& labels) {
  NOVA_CHECK(x.dim() == 4 && x.size(1) == options.image_channels && x.size(2) == options.image_size &&
                 x.size(3) == options.image_size,
             "SnganDiscriminator: expected images [N, {}, {}, {}], got {}", options.image_channels,
             options.image_size, options.image_size, x.shape().str());
  check_labels("SnganDiscriminator", options.num_classes, x, labels);
  Tensor h = x;
  for (auto& b : blocks) h = b->forward(h);
  h = ops::global_sum_pool2d(ops::relu(h));  // [N, width]
  Tensor out = dense->forward(h);
  if (projection) out = out + ops::sum(projection->forward(labels) * h, {1}, /*keepdim=*/true);
  return out;
}

}  // namespace nova::models
