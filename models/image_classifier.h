// models/image_classifier.h: ImageClassifier, a small CNN trained on a GAN's
// image dataset (e.g. Fashion-MNIST padded to 32x32) whose penultimate layer
// gives the features of a stand-in FID and whose softmax gives the class
// probabilities of a stand-in Inception Score (datasets/image_metrics.h).
//
// Why: FID and IS are defined on Inception-v3 with its published weights,
// which cannot be downloaded here. A classifier nova trains itself still
// ranks generators (a better G moves its features closer to the real ones),
// but its numbers are on another scale: never comparable with published
// Inception FID or IS, and the trainer labels them so.
//
//   x [N, C, S, S] -> conv 3x3 C->w, ReLU, maxpool 2 -> conv 3x3 w->2w, ReLU,
//   maxpool 2 -> conv 3x3 2w->4w, ReLU, maxpool 2 -> flatten -> dense
//   4w (S/8)^2 -> F, ReLU  (= features) -> dense F -> classes (= logits)
// PyTorch's default initialisation (the layers' own).
#pragma once

#include <memory>

#include "core/safetensors.h"
#include "nn/conv.h"
#include "nn/linear.h"

namespace nova::models {

struct ImageClassifierOptions {
  int64_t image_channels = 1;
  int64_t image_size = 32;  // a multiple of 8
  int64_t num_classes = 10;
  int64_t width = 32;          // w: channels of the first convolution
  int64_t feature_dim = 128;   // F: the FID features
};

class ImageClassifier : public nn::Module {
 public:
  explicit ImageClassifier(const ImageClassifierOptions& options = {});
  /// images [N, C, S, S] -> logits [N, classes]
  Tensor forward(const Tensor& x) override;
  /// images [N, C, S, S] -> the features [N, F] (after the ReLU) the logits come from
  Tensor features(const Tensor& x);
  /// features [N, F] -> logits [N, classes]
  Tensor logits_of(const Tensor& features);

  /// The options as safetensors metadata ("nova.classifier.width" -> "32", ...),
  /// saved beside the weights so a file rebuilds its own network.
  safetensors::Metadata metadata() const;
  /// Options from metadata(); throws nova::Error naming `what` when a key is
  /// missing or not a positive integer.
  static ImageClassifierOptions options_from(const safetensors::Metadata& metadata, const std::string& what);

  ImageClassifierOptions options;
  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::Linear> fc, out;
};

/// Saves `model` with its options to `path` (atomic, nn::save).
void save_image_classifier(const ImageClassifier& model, const std::string& path);
/// Builds the classifier a file describes and loads its weights. Throws
/// nova::Error naming the file.
std::shared_ptr<ImageClassifier> load_image_classifier(const std::string& path);

}  // namespace nova::models
