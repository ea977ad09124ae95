// models/biggan.cpp: BigGAN's CIFAR generator and projection discriminator
// (see biggan.h for the architecture, the init and the spectral norm notes).
#include "models/biggan.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "core/pool.h"
#include "nn/activation.h"
#include "nn/init.h"

namespace nova::models {

namespace {

constexpr int64_t kNumBlocksG = 3;  // arch[32]: 8, 16, 32

/// init_weights of BigGAN.py on one layer: its (trained) weight only.
template <typename Layer>
void init_weight(Layer& layer, BigganInit init) {
  NoGradGuard no_grad;
  Tensor w = nn::trained_weight(layer);
  switch (init) {
    case BigganInit::n02: nn::init::normal_(w, 0.0, 0.02); break;
    case BigganInit::ortho: nn::init::orthogonal_(w); break;
    case BigganInit::xavier: nn::init::xavier_uniform_(w); break;
  }
}

nn::SpectralNormOptions sn_options(const BigganOptions& o) {
  nn::SpectralNormOptions sn = nn::SpectralNormOptions::on(o.sn_power_iterations);
  sn.eps = o.sn_eps;
  return sn;
}

std::shared_ptr<nn::Conv2d> sn_conv(int64_t in, int64_t out, int64_t kernel, const nn::SpectralNormOptions& sn) {
  return std::make_shared<nn::Conv2d>(in, out, kernel, Conv2dArgs().padding(kernel / 2), true, sn);
}

Tensor up2x(const Tensor& x) { return ops::upsample_nearest2d(x, ops::UpsampleTo::scale(2)); }

void check_options(const char* what, const BigganOptions& o) {
  NOVA_CHECK(o.num_classes > 0 && o.z_dim > 0 && o.g_ch > 0 && o.d_ch > 0 && o.shared_dim >= 0 &&
                 o.sn_power_iterations >= 1 && o.bn_eps > 0 && o.sn_eps > 0,
             "{}: num_classes, z_dim, g_ch, d_ch, sn_power_iterations, bn_eps and sn_eps must be > 0 and "
             "shared_dim >= 0, got {}, {}, {}, {}, {}, {}, {}, {}",
             what, o.num_classes, o.z_dim, o.g_ch, o.d_ch, o.sn_power_iterations, o.bn_eps, o.sn_eps,
             o.shared_dim);
  NOVA_CHECK(!o.hierarchical || o.shared_embedding,
             "{}: the hierarchical latent needs shared_embedding (a class Embedding cannot take [y, z_k])", what);
  NOVA_CHECK(!o.hierarchical || o.z_dim >= kNumBlocksG + 1,
             "{}: the hierarchical latent splits z into {} chunks: z_dim must be >= {}, got {}", what,
             kNumBlocksG + 1, kNumBlocksG + 1, o.z_dim);
}

void check_labels(const char* what, const Tensor& x, const Tensor& labels) {
  NOVA_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == x.size(0) &&
                 (labels.dtype() == kInt64 || labels.dtype() == kInt32),
             "{}: expected int64/int32 labels [{}], got {}", what, x.size(0),
             labels.defined() ? labels.shape().str() + " " + dtype_name(labels.dtype()) : "none");
}

}  // namespace

BigganCcbn::BigganCcbn(int64_t channels, int64_t num_classes, int64_t input_size, double bn_eps,
                       const nn::SpectralNormOptions& sn)
    : nn::Module("BigganCcbn") {
  if (input_size == 0) {
    gain_embed = register_module("gain", std::make_shared<nn::Embedding>(num_classes, channels));
    bias_embed = register_module("bias", std::make_shared<nn::Embedding>(num_classes, channels));
  } else {
    gain_linear = register_module("gain", std::make_shared<nn::Linear>(input_size, channels, false, sn));
    bias_linear = register_module("bias", std::make_shared<nn::Linear>(input_size, channels, false, sn));
  }
  norm = register_module("norm", std::make_shared<nn::ConditionalBatchNorm2d>(channels, 0, bn_eps, 0.1));
}

Tensor BigganCcbn::forward(const Tensor& x, const Tensor& y) {
  Tensor gain = gain_embed ? gain_embed->forward(y) : gain_linear->forward(y);
  Tensor bias = bias_embed ? bias_embed->forward(y) : bias_linear->forward(y);
  return norm->forward(x, gain + 1.0, bias);
}

BigganGenBlock::BigganGenBlock(int64_t in, int64_t out, int64_t num_classes, int64_t ccbn_input, double bn_eps,
                               const nn::SpectralNormOptions& sn)
    : nn::Module("BigganGenBlock") {
  conv1 = register_module("conv1", sn_conv(in, out, 3, sn));
  conv2 = register_module("conv2", sn_conv(out, out, 3, sn));
  conv_sc = register_module("conv_sc", sn_conv(in, out, 1, sn));  // always: every G block up-samples
  bn1 = register_module("bn1", std::make_shared<BigganCcbn>(in, num_classes, ccbn_input, bn_eps, sn));
  bn2 = register_module("bn2", std::make_shared<BigganCcbn>(out, num_classes, ccbn_input, bn_eps, sn));
}

Tensor BigganGenBlock::forward(const Tensor& x, const Tensor& y) {
  Tensor h = conv1->forward(up2x(ops::relu(bn1->forward(x, y))));
  h = conv2->forward(ops::relu(bn2->forward(h, y)));
  return h + conv_sc->forward(up2x(x));
}

BigganGenerator::BigganGenerator(const BigganOptions& o) : nn::Module("BigganGenerator"), options(o) {
  check_options("BigganGenerator", o);
  const nn::SpectralNormOptions sn = sn_options(o);
  const int64_t width = 4 * o.g_ch;
  const int64_t shared_dim = o.shared_dim > 0 ? o.shared_dim : o.z_dim;
  options.shared_dim = shared_dim;
  if (o.hierarchical) {
    num_slots = kNumBlocksG + 1;
    z_chunk = o.z_dim / num_slots;
    options.z_dim = z_chunk * num_slots;  // BigGAN.py rounds dim_z down the same way
  } else {
    num_slots = 1;
    z_chunk = 0;
  }
  const int64_t ccbn_input = o.shared_embedding ? shared_dim + z_chunk : 0;
  if (o.shared_embedding) {
    shared = register_module("shared", std::make_shared<nn::Embedding>(o.num_classes, shared_dim));
    init_weight(*shared, o.g_init);
  }
  linear = register_module("linear", std::make_shared<nn::Linear>(options.z_dim / num_slots, width * 16, true, sn));
  init_weight(*linear, o.g_init);
  auto list = register_module("blocks", std::make_shared<nn::Module>("ModuleList"));
  for (int64_t i = 0; i < kNumBlocksG; ++i) {
    auto b = list->register_module(std::to_string(i), std::make_shared<BigganGenBlock>(width, width, o.num_classes,
                                                                                       ccbn_input, o.bn_eps, sn));
    for (auto* c : {b->conv1.get(), b->conv2.get(), b->conv_sc.get()}) init_weight(*c, o.g_init);
    for (auto* bn : {b->bn1.get(), b->bn2.get()}) {
      if (bn->gain_embed) {
        init_weight(*bn->gain_embed, o.g_init);
        init_weight(*bn->bias_embed, o.g_init);
      } else {
        init_weight(*bn->gain_linear, o.g_init);
        init_weight(*bn->bias_linear, o.g_init);
      }
    }
    blocks.push_back(b);
  }
  auto conv_out = sn_conv(width, 3, 3, sn);
  init_weight(*conv_out, o.g_init);
  output_layer = register_module("output_layer", std::make_shared<nn::Sequential>(
                                                     std::make_shared<nn::BatchNorm2d>(width, 1e-5, 0.1),
                                                     std::make_shared<nn::ReLU>(), conv_out));
}

Tensor BigganGenerator::forward(const Tensor& z, const Tensor& labels) {
  NOVA_CHECK(z.dim() == 2 && z.size(1) == options.z_dim, "BigganGenerator: expected z [N, {}], got {}",
             options.z_dim, z.shape().str());
  check_labels("BigganGenerator", z, labels);
  Tensor y = shared ? shared->forward(labels) : labels;
  Tensor h_z = z;
  std::vector<Tensor> ys(blocks.size(), y);
  if (options.hierarchical) {
    std::vector<Tensor> zs = ops::split(z, z_chunk, 1);
    h_z = zs[0];
    for (size_t k = 0; k < blocks.size(); ++k) ys[k] = ops::cat({y, zs[k + 1]}, 1);
  }
  Tensor h = linear->forward(h_z).reshape({z.size(0), 4 * options.g_ch, 4, 4});
  for (size_t k = 0; k < blocks.size(); ++k) h = blocks[k]->forward(h, ys[k]);
  return ops::tanh(output_layer->forward(h));
}

BigganDisBlock::BigganDisBlock(int64_t in, int64_t out, bool downsample_, bool preactivation_,
                               const nn::SpectralNormOptions& sn)
    : nn::Module("BigganDisBlock"), downsample(downsample_), preactivation(preactivation_) {
  conv1 = register_module("conv1", sn_conv(in, out, 3, sn));  // D_wide: hidden = out
  conv2 = register_module("conv2", sn_conv(out, out, 3, sn));
  if (in != out || downsample) conv_sc = register_module("conv_sc", sn_conv(in, out, 1, sn));
}

Tensor BigganDisBlock::forward(const Tensor& x) {
  Tensor h = conv2->forward(ops::relu(conv1->forward(preactivation ? ops::relu(x) : x)));
  if (downsample) h = ops::avg_pool2d(h, 2);
  Tensor s = x;
  if (preactivation) {
    if (conv_sc) s = conv_sc->forward(s);
    if (downsample) s = ops::avg_pool2d(s, 2);
  } else {
    if (downsample) s = ops::avg_pool2d(s, 2);
    if (conv_sc) s = conv_sc->forward(s);
  }
  return h + s;
}

BigganDiscriminator::BigganDiscriminator(const BigganOptions& o) : nn::Module("BigganDiscriminator"), options(o) {
  check_options("BigganDiscriminator", o);
  const nn::SpectralNormOptions sn = sn_options(o);
  const int64_t width = 4 * o.d_ch;
  auto list = register_module("blocks", std::make_shared<nn::Module>("ModuleList"));
  const bool down[4] = {true, true, false, false};
  for (int64_t i = 0; i < 4; ++i) {
    auto b = list->register_module(std::to_string(i), std::make_shared<BigganDisBlock>(i == 0 ? 3 : width, width,
                                                                                       down[i], i > 0, sn));
    init_weight(*b->conv1, o.d_init);
    init_weight(*b->conv2, o.d_init);
    if (b->conv_sc) init_weight(*b->conv_sc, o.d_init);
    blocks.push_back(b);
  }
  linear = register_module("linear", std::make_shared<nn::Linear>(width, 1, true, sn));
  init_weight(*linear, o.d_init);
  embed = register_module("embed", std::make_shared<nn::Embedding>(o.num_classes, width, -1, sn));
  init_weight(*embed, o.d_init);
}

Tensor BigganDiscriminator::forward(const Tensor& x, const Tensor& labels) {
  NOVA_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == 32 && x.size(3) == 32,
             "BigganDiscriminator: expected images [N, 3, 32, 32], got {}", x.shape().str());
  check_labels("BigganDiscriminator", x, labels);
  Tensor h = x;
  for (auto& b : blocks) h = b->forward(h);
  h = ops::global_sum_pool2d(ops::relu(h));
  return linear->forward(h) + ops::sum(embed->forward(labels) * h, {1}, /*keepdim=*/true);
}

}  // namespace nova::models
