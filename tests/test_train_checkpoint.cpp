// tests/test_train_checkpoint.cpp: models/train_checkpoint.h, a trainer's
// whole state in one file. A small trainer (a model, Adam, a StepLR, an
// AdaptiveWeighting over a second model, a data generator) stopped, saved,
// rebuilt and loaded continues bit for bit; a file that does not fit is
// refused naming the file and the part, and changes no part.
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "models/train_checkpoint.h"
#include "nn/checkpoint.h"
#include "nn/nn.h"
#include "tests/test_util.h"

using namespace nova;
using nova::test::require_identical;
using nova::test::TempDir;

namespace {

/// Everything a small trainer carries, built the same way every time.
struct Trainer {
  std::shared_ptr<nn::Sequential> model, critic;
  std::unique_ptr<optim::Adam> opt;
  std::unique_ptr<optim::StepLR> sched;
  std::unique_ptr<optim::AdaptiveWeighting> aw;
  Generator data;
  models::TrainCheckpoint ckpt;

  /// init_seed: the initial weights (a resumed trainer's are overwritten);
  /// hidden: the models' width (another width makes the file not fit).
  explicit Trainer(uint64_t init_seed, int64_t hidden = 5, double lr = 1e-2) : data(42) {
    Generator init(init_seed);
    model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, hidden), std::make_shared<nn::Tanh>(),
                                             std::make_shared<nn::Linear>(hidden, 1));
    critic = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, hidden), std::make_shared<nn::Tanh>(),
                                              std::make_shared<nn::Linear>(hidden, 1));
    for (auto& p : model->parameters()) nn::init::normal_(p, 0.0, 0.5, &init);
    for (auto& p : critic->parameters()) nn::init::normal_(p, 0.0, 0.5, &init);
    opt = std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions{lr});
    sched = std::make_unique<optim::StepLR>(*opt, 3, 0.5);
    aw = std::make_unique<optim::AdaptiveWeighting>(critic->parameters(),
                                                    optim::make_aw_inner_adam(critic->parameters(), 1e-2));
    ckpt.add("data", data).add("model", *model).add("critic", *critic).add("opt", *opt).add("sched", *sched)
        .add("aw", *aw).setting("lr", fmt::format("{}", lr));
  }

  /// One step: a regression step of the model and an aw step of the critic
  /// on fresh random data.
  void step() {
    Tensor x = randn({8, 2}, kFloat32, kCPU, &data);
    Tensor y = randn({8, 1}, kFloat32, kCPU, &data);
    opt->zero_grad();
    ops::mean(ops::square((*model)(x) - y)).backward();
    opt->step();
    sched->step();
    Tensor out = (*critic)(ops::cat({x, x + y}, 0));
    Tensor real = ops::mean(out.narrow(0, 0, 8)), fake = -ops::mean(out.narrow(0, 8, 8));
    aw->step_losses(real, fake, 0.6, 0.4);
  }

  /// Every tensor of every part, as the file would hold it.
  StateDict everything() {
    TempDir dir;
    ckpt.save(dir.file("all.safetensors"), 0);
    return nn::load_checkpoint(dir.file("all.safetensors"));
  }
};

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a trainer stopped, saved and loaded into a fresh one continues bit for bit", "[train_checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("run.safetensors");
  Trainer straight(1);
  for (int i = 0; i < 8; ++i) straight.step();

  Trainer first(1);
  for (int i = 0; i < 4; ++i) first.step();
  first.ckpt.save(path, 4);

  Trainer resumed(2);  // other initial weights: the file replaces them
  REQUIRE(resumed.ckpt.load(path) == 4);
  require_identical(resumed.everything(), first.everything());
  for (int i = 0; i < 4; ++i) resumed.step();

  require_identical(resumed.everything(), straight.everything());
  REQUIRE(resumed.sched->last_epoch() == 8);
  REQUIRE(resumed.aw->steps() == 8);
  REQUIRE(resumed.data.offset() == straight.data.offset());
  REQUIRE(resumed.ckpt.part_names() == std::vector<std::string>{"data", "model", "critic", "opt", "sched", "aw"});
}

TEST_CASE("the checkpoint file names each part's tensors and says what the parts are", "[train_checkpoint]") {
  TempDir dir;
  Trainer t(1);
  t.step();
  t.ckpt.save(dir.file("run.safetensors"), 123456789012LL);
  safetensors::Metadata meta;
  StateDict file = nn::load_checkpoint(dir.file("run.safetensors"), &meta);
  REQUIRE(meta.at("nova.train.step") == "123456789012");
  REQUIRE(meta.at("nova.train.part.opt") == "Adam");
  REQUIRE(meta.at("nova.train.part.aw") == "AdaptiveWeighting/Adam");
  REQUIRE(meta.at("nova.train.part.data") == "Generator");
  REQUIRE(meta.at("nova.train.setting.lr") == "0.01");
  for (const char* key : {"data.seed", "data.offset", "model.0.weight", "opt.state.0.exp_avg", "opt.state.0.step",
                          "opt.param_groups.0.lr", "sched.last_epoch", "aw.case_counts", "aw.inner.state.3.exp_avg_sq"})
    REQUIRE(file.contains(key));
  REQUIRE(dir.listing() == std::vector<std::string>{"run.safetensors"});  // no temporary left
}

TEST_CASE("a file that does not fit is refused naming the file and the part, and no part changes",
          "[train_checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("run.safetensors");
  Trainer target(1);
  for (int i = 0; i < 2; ++i) target.step();
  const StateDict before = target.everything();

  SECTION("a model of another width (the data generator, first, fits)") {
    Trainer wide(1, 6);
    wide.step();
    wide.ckpt.save(path, 1);
    REQUIRE_THROWS_NOVA(target.ckpt.load(path),
                        "TrainCheckpoint::load: " + path + ": part 'model': load_state_dict: Sequential not "
                        "loaded: '0.weight': shape mismatch: the state has [6, 2], this module has [5, 2]");
  }
  SECTION("other settings") {
    Trainer other(1, 5, 1e-3);
    other.ckpt.save(path, 1);
    REQUIRE_THROWS_NOVA(target.ckpt.load(path), path + ": it was saved with lr=0.001; this run has lr=0.01");
  }
  SECTION("a missing part, an extra one, a part of another kind") {
    Trainer other(1);
    models::TrainCheckpoint fewer;
    fewer.add("data", other.data).setting("lr", "0.01");
    fewer.save(path, 1);
    REQUIRE_THROWS_NOVA(target.ckpt.load(path), path + ": it has no part 'model' (Module)");
    Generator extra_gen;
    other.ckpt.add("noise", extra_gen);
    other.ckpt.save(path, 1);
    REQUIRE_THROWS_NOVA(target.ckpt.load(path), "it holds parts this run does not have: 'noise' (Generator)");
    models::TrainCheckpoint kinds;
    optim::SGD sgd(other.model->parameters(), optim::SGDOptions{0.1});
    kinds.add("data", other.data).add("model", *other.model).add("critic", *other.critic).add("opt", sgd)
        .add("sched", *other.sched).add("aw", *other.aw).setting("lr", "0.01");
    kinds.save(path, 1);
    REQUIRE_THROWS_NOVA(target.ckpt.load(path), "part 'opt' is a SGD in the file, a Adam in this run");
  }
  SECTION("a model file, not a training checkpoint") {
    nn::save(*target.model, path);
    REQUIRE_THROWS_NOVA(target.ckpt.load(path), path + ": not a training checkpoint");
  }
  SECTION("a damaged file") {
    target.ckpt.save(path, 2);
    std::vector<char> bytes = read_bytes(path);
    bytes[bytes.size() - 3] ^= 0x10;
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
    REQUIRE_THROWS_NOVA(target.ckpt.load(path), path);
  }
  require_identical(target.everything(), before);
}

TEST_CASE("part names must be unique and free of dots", "[train_checkpoint]") {
  Generator g;
  models::TrainCheckpoint ckpt;
  ckpt.add("gen", g);
  REQUIRE_THROWS_NOVA(ckpt.add("gen", g), "TrainCheckpoint::add: part name \"gen\" is taken");
  REQUIRE_THROWS_NOVA(ckpt.add("a.b", g), "must be non-empty and contain no '.'");
  REQUIRE_THROWS_NOVA(ckpt.save("/nonexistent-dir/x.safetensors", -1), "step must be >= 0");
}
