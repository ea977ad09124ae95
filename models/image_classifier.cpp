// models/image_classifier.cpp: the stand-in FID/IS network (see image_classifier.h).
#include "models/image_classifier.h"

#include <string>

#include "core/ops.h"
#include "nn/checkpoint.h"

namespace nova::models {

namespace {

const char* const kKeys[] = {"image_channels", "image_size", "num_classes", "width", "feature_dim"};

int64_t* field(ImageClassifierOptions& o, int i) {
  int64_t* fields[] = {&o.image_channels, &o.image_size, &o.num_classes, &o.width, &o.feature_dim};
  return fields[i];
}

}  // namespace

ImageClassifier::ImageClassifier(const ImageClassifierOptions& o) : nn::Module("ImageClassifier"), options(o) {
  NOVA_CHECK(o.image_size >= 8 && o.image_size % 8 == 0, "ImageClassifier: image_size must be a multiple of 8, got {}",
             o.image_size);
  NOVA_CHECK(o.image_channels > 0 && o.num_classes > 1 && o.width > 0 && o.feature_dim > 0,
             "ImageClassifier: expected image_channels, width, feature_dim > 0 and num_classes > 1, got {}, {}, {}, {}",
             o.image_channels, o.width, o.feature_dim, o.num_classes);
  const auto same = Conv2dArgs().padding(1);
  const int64_t w = o.width, m = o.image_size / 8;
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(o.image_channels, w, 3, same));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(w, 2 * w, 3, same));
  conv3 = register_module("conv3", std::make_shared<nn::Conv2d>(2 * w, 4 * w, 3, same));
  fc = register_module("fc", std::make_shared<nn::Linear>(4 * w * m * m, o.feature_dim));
  out = register_module("out", std::make_shared<nn::Linear>(o.feature_dim, o.num_classes));
}

Tensor ImageClassifier::features(const Tensor& x) {
  NOVA_CHECK(x.dim() == 4 && x.size(1) == options.image_channels && x.size(2) == options.image_size &&
                 x.size(3) == options.image_size,
             "ImageClassifier: expected images [N, {}, {}, {}], got {}", options.image_channels, options.image_size,
             options.image_size, x.shape().str());
  Tensor h = ops::max_pool2d(ops::relu(conv1->forward(x)), 2);
  h = ops::max_pool2d(ops::relu(conv2->forward(h)), 2);
  h = ops::max_pool2d(ops::relu(conv3->forward(h)), 2);
  return ops::relu(fc->forward(h.reshape({x.size(0), -1})));
}

Tensor ImageClassifier::logits_of(const Tensor& f) { return out->forward(f); }

Tensor ImageClassifier::forward(const Tensor& x) { return logits_of(features(x)); }

safetensors::Metadata ImageClassifier::metadata() const {
  safetensors::Metadata m;
  ImageClassifierOptions o = options;
  for (int i = 0; i < 5; ++i) m[std::string("nova.classifier.") + kKeys[i]] = std::to_string(*field(o, i));
  return m;
}

ImageClassifierOptions ImageClassifier::options_from(const safetensors::Metadata& metadata, const std::string& what) {
  ImageClassifierOptions o;
  for (int i = 0; i < 5; ++i) {
    const std::string key = std::string("nova.classifier.") + kKeys[i];
    const auto it = metadata.find(key);
    NOVA_CHECK(it != metadata.end(), "{}: not a nova image classifier (no {} in its metadata)", what, key);
    size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    NOVA_CHECK(used == it->second.size() && v > 0, "{}: {} must be a positive integer, got \"{}\"", what, key,
               it->second);
    *field(o, i) = v;
  }
  return o;
}

void save_image_classifier(const ImageClassifier& model, const std::string& path) {
  nn::save(model, path, model.metadata());
}

std::shared_ptr<ImageClassifier> load_image_classifier(const std::string& path) {
  safetensors::Metadata metadata;
  const StateDict state = nn::load_checkpoint(path, &metadata);
  auto model = std::make_shared<ImageClassifier>(ImageClassifier::options_from(metadata, "classifier " + path));
  model->load_state_dict(state);
  return model;
}

}  // namespace nova::models
