// tests/test_inception_v3.cpp: nova's FID Inception network
// (models/inception_v3.h) against pytorch-fid's. The full-size parameter
// counts are pytorch-fid's own, printed by tests/reference/
// make_inception_ref.py, which also checks in Python that its width-scaled
// plain-PyTorch copy equals pytorch-fid's network at divisor 1 (same keys and
// shapes, identical features) and writes that copy at divisor 16 with random
// weights and BN statistics, an input and the features and logits computed
// in float64 (inception_div16.safetensors). Here nova loads that state,
// forwards the input and compares; and the loader's renaming, filling of
// num_batches_tracked and error on a missing key, and open_fid_inception's
// reading of the divisor and fc from a file, are checked.
#include <cmath>
#include <cstring>
#include <string>

#include "models/inception_v3.h"
#include "nn/checkpoint.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using models::InceptionV3;
using models::InceptionV3Options;

namespace {

const std::string kReference = std::string(NOVA_REFERENCE_DIR) + "/inception_div16.safetensors";

int64_t parameter_count(const nn::Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

/// max |got - want| / max(1, max |want|)
double relative_error(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  std::vector<double> g = values(got), w = values(want);
  double scale = 1, worst = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    scale = std::max(scale, std::abs(w[i]));
    worst = std::max(worst, std::abs(g[i] - w[i]));
  }
  return worst / scale;
}

InceptionV3Options div16(bool fc = true) {
  InceptionV3Options o;
  o.channel_divisor = 16;
  o.fc = fc;
  return o;
}

}  // namespace

TEST_CASE("InceptionV3 has pytorch-fid's parameter count", "[inception]") {
  // make_inception_ref.py: fid_inception_v3() (with the 2048 -> 1008 fc, as in
  // the FID weights file) has 23,850,960 parameters; pytorch-fid's
  // InceptionV3([3]) wrapper, without the fc, 21,785,568.
  InceptionV3 full;
  CHECK(parameter_count(full) == 23850960);
  InceptionV3Options no_fc;
  no_fc.fc = false;
  CHECK(parameter_count(InceptionV3(no_fc)) == 21785568);
  CHECK(full.state_dict().contains("Mixed_7c.branch3x3dbl_3b.bn.num_batches_tracked"));
  CHECK(!full.is_training());  // built as a feature extractor
}

TEST_CASE("InceptionV3 at divisor 16 matches pytorch-fid's network", "[inception]") {
  StateDict ref = nn::load_checkpoint(kReference);
  InceptionV3 net(div16());
  net.load_state_dict(sub_state(ref, "model"));  // strict: the keys are pytorch-fid's, one to one
  const Tensor& x = ref.at("input.x");           // [2, 3, 32, 32] in [0, 1]
  NoGradGuard no_grad;
  Tensor features = net.forward(x);
  CHECK(features.shape() == Shape{2, 128});
  CHECK(features.dtype() == kFloat32);
  // float32 against the float64 reference on the same float32 weights: the
  // difference is nova's rounding through 48 conv-BN-ReLU layers and the
  // 299x299 resize, relative to the features' scale (~25): 9.6e-8 seen,
  // bound 1e-5.
  const double err = relative_error(features, ref.at("output.features"));
  INFO("features relative error " << err);
  CHECK(err < 1e-5);
  Tensor logits = net.logits_from_features(features);
  CHECK(logits.shape() == Shape{2, 63});
  CHECK(relative_error(logits, ref.at("output.logits")) < 1e-5);
  CHECK(relative_error(net.logits(x, false) + net.fc->bias, logits) < 1e-5);

  // the same in float64: only summation order differs (5.6e-16 seen)
  net.to(kFloat64);
  const double err64 = relative_error(net.forward(x.to(kFloat64)), ref.at("output.features"));
  INFO("float64 relative error " << err64);
  CHECK(err64 < 1e-12);
}

TEST_CASE("InceptionV3 loads a safetensors file, wrapper names and all", "[inception]") {
  StateDict ref = nn::load_checkpoint(kReference);
  StateDict model = sub_state(ref, "model");
  TempDir dir;
  NoGradGuard no_grad;

  SECTION("the FID weights' names") {
    nn::save_checkpoint(dir.file("fid.safetensors"), model);
    InceptionV3 net(div16());
    models::load_fid_inception(net, dir.file("fid.safetensors"));
    CHECK(relative_error(net.forward(ref.at("input.x")), ref.at("output.features")) < 1e-4);
    // built to fit the file: divisor 16 from the stem's 2 channels, with the fc
    auto opened = models::open_fid_inception(dir.file("fid.safetensors"));
    CHECK(opened->options.channel_divisor == 16);
    CHECK(opened->options.fc);
    CHECK(relative_error(opened->forward(ref.at("input.x")), ref.at("output.features")) < 1e-4);
  }
  SECTION("pytorch-fid's InceptionV3 wrapper names, no fc, no num_batches_tracked") {
    const std::pair<const char*, const char*> renames[] = {
        {"Conv2d_1a_3x3.", "blocks.0.0."}, {"Conv2d_2a_3x3.", "blocks.0.1."}, {"Conv2d_2b_3x3.", "blocks.0.2."},
        {"Conv2d_3b_1x1.", "blocks.1.0."}, {"Conv2d_4a_3x3.", "blocks.1.1."}, {"Mixed_5b.", "blocks.2.0."},
        {"Mixed_5c.", "blocks.2.1."},      {"Mixed_5d.", "blocks.2.2."},      {"Mixed_6a.", "blocks.2.3."},
        {"Mixed_6b.", "blocks.2.4."},      {"Mixed_6c.", "blocks.2.5."},      {"Mixed_6d.", "blocks.2.6."},
        {"Mixed_6e.", "blocks.2.7."},      {"Mixed_7a.", "blocks.3.0."},      {"Mixed_7b.", "blocks.3.1."},
        {"Mixed_7c.", "blocks.3.2."}};
    StateDict wrapper;
    for (const auto& [key, value] : model) {
      if (key.rfind("fc.", 0) == 0 || key.find("num_batches_tracked") != std::string::npos) continue;
      std::string name = key;
      for (const auto& [from, to] : renames)
        if (key.rfind(from, 0) == 0) name = to + key.substr(std::strlen(from));
      REQUIRE(name != key);
      wrapper.insert(name, value);
    }
    nn::save_checkpoint(dir.file("wrapper.safetensors"), wrapper);
    InceptionV3 net(div16(/*fc=*/false));
    models::load_fid_inception(net, dir.file("wrapper.safetensors"));
    CHECK(relative_error(net.forward(ref.at("input.x")), ref.at("output.features")) < 1e-4);
    REQUIRE_THROWS_WITH(net.logits(ref.at("input.x")), Catch::Contains("built with fc = false"));
    auto opened = models::open_fid_inception(dir.file("wrapper.safetensors"));
    CHECK(opened->options.channel_divisor == 16);
    CHECK_FALSE(opened->options.fc);
  }
  SECTION("open_fid_inception refuses a file without an Inception stem") {
    StateDict other;
    other.insert("weight", zeros({3, 3}));
    nn::save_checkpoint(dir.file("other.safetensors"), other);
    REQUIRE_THROWS_WITH(models::open_fid_inception(dir.file("other.safetensors")),
                        Catch::Contains("no Conv2d_1a_3x3.conv.weight") && Catch::Contains("other.safetensors"));
    StateDict odd;
    odd.insert("Conv2d_1a_3x3.conv.weight", zeros({3, 3, 3, 3}));
    nn::save_checkpoint(dir.file("odd.safetensors"), odd);
    REQUIRE_THROWS_WITH(models::open_fid_inception(dir.file("odd.safetensors")),
                        Catch::Contains("has 3 output channels"));
  }
  SECTION("a missing key is named, and the model is left as it was") {
    StateDict partial;
    for (const auto& [key, value] : model)
      if (key != "Mixed_6b.branch1x1.conv.weight") partial.insert(key, value);
    const std::string path = dir.file("partial.safetensors");
    nn::save_checkpoint(path, partial);
    InceptionV3 net(div16());
    const std::vector<double> before = values(net.conv2d_1a_3x3->conv->weight);
    REQUIRE_THROWS_WITH(models::load_fid_inception(net, path),
                        Catch::Contains("load_fid_inception: " + path) &&
                            Catch::Contains("missing keys 'Mixed_6b.branch1x1.conv.weight'"));
    CHECK(values(net.conv2d_1a_3x3->conv->weight) == before);
  }
}

TEST_CASE("InceptionV3 shapes and refusals", "[inception]") {
  NoGradGuard no_grad;
  InceptionV3 net(div16());
  CHECK(net.forward(rand({3, 3, 20, 50})).shape() == Shape{3, 128});  // resized to 299x299
  CHECK(net.logits(rand({1, 3, 8, 8})).shape() == Shape{1, 63});

  InceptionV3Options raw = div16();
  raw.resize_input = false;
  InceptionV3 unresized(raw);
  CHECK(unresized.forward(rand({1, 3, 75, 80})).shape() == Shape{1, 128});  // the smallest input
  CHECK_THROWS(unresized.forward(rand({1, 3, 74, 80})));

  REQUIRE_THROWS_WITH(net.forward(rand({2, 1, 32, 32})),
                      Catch::Contains("InceptionV3: expected images [N, 3, H, W], got [2, 1, 32, 32]"));
  REQUIRE_THROWS_WITH(net.forward(rand({3, 32, 32})), Catch::Contains("InceptionV3: expected images"));
  InceptionV3Options bad;
  bad.channel_divisor = 32;
  REQUIRE_THROWS_WITH(InceptionV3(bad), Catch::Contains("channel_divisor must divide every channel count"));
  REQUIRE_THROWS_WITH(models::load_fid_inception(net, "/nonexistent/fid.safetensors"),
                      Catch::Contains("/nonexistent/fid.safetensors"));
}
