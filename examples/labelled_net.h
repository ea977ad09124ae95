// examples/labelled_net.h: LabelledNet, a class-conditional network (SN-GAN
// with projection, BigGAN) seen as a one-input nn::Module, so that the
// library's GAN pieces, written for D(x) and G(z), train it unchanged: the
// trainer sets the batch's labels, then the pieces call forward(x) as usual
// (models::GanDiscriminatorStep calls D on cat(real, fake): its labels are
// cat(real labels, fake labels)). The wrapped network is child "net", so
// parameters() keep its order and names gain the prefix "net.".
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "nn/module.h"

namespace nova::examples {

class LabelledNet : public nn::Module {
 public:
  using Call = std::function<Tensor(nn::Module& net, const Tensor& x, const Tensor& labels)>;
  LabelledNet(std::shared_ptr<nn::Module> net, Call call)
      : nn::Module("LabelledNet"), net_(register_module("net", std::move(net))), call_(std::move(call)) {}

  /// The labels [N] (int64) of the rows the next forward calls get.
  void set_labels(Tensor labels) { labels_ = std::move(labels); }
  Tensor forward(const Tensor& x) override {
    NOVA_CHECK(labels_.defined() && x.dim() >= 1 && labels_.dim() == 1 && labels_.size(0) == x.size(0),
               "LabelledNet: {} rows but labels {} (set_labels before each forward)", x.dim() >= 1 ? x.size(0) : 0,
               labels_.defined() ? labels_.shape().str() : "not set");
    return call_(*net_, x, labels_);
  }

 private:
  std::shared_ptr<nn::Module> net_;
  Call call_;
  Tensor labels_;
};

}  // namespace nova::examples
