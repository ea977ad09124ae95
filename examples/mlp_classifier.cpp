// examples/mlp_classifier.cpp: the smallest complete nova training program.
// A two-hidden-layer tanh MLP learns the two-moons task (datasets/two_moons.h)
// with Adam and cross-entropy, reports progress, evaluates on held-out points,
// and can save/load a safetensors checkpoint of the model (--save, --load) or
// of the whole training state (--checkpoint, --resume: model, Adam, the
// random generator that draws the minibatches, the step; a resumed run ends
// bit for bit where an unbroken one does).
//
//   mlp_classifier [--steps 400] [--hidden 32] [--lr 0.01] [--seed 0] ...
#include <chrono>
#include <cstdio>

#include "core/autograd.h"
#include "core/ops.h"
#include "datasets/two_moons.h"
#include "examples/cli.h"
#include "models/train_checkpoint.h"
#include "nn/checkpoint.h"
#include "nn/nn.h"
#include "optim/check_finite.h"
#include "optim/optimizer.h"

using namespace nova;

namespace {

double accuracy(nn::Module& model, const datasets::Classification& data) {
  NoGradGuard no_grad;
  Tensor predicted = ops::argmax(model(data.x), 1);
  return ops::mean(ops::eq(predicted, data.y).to(kFloat64)).item();
}

int run(int argc, char** argv) {
  int64_t steps = 400, batch = 128, hidden = 32, n_train = 2000, n_test = 1000, log_every = 50;
  double lr = 0.01, noise = 0.1;
  uint64_t seed = 0;
  std::string save, load, on_nonfinite = "stop", checkpoint, resume;
  int64_t checkpoint_every = 100;
  examples::Cli cli("mlp_classifier", "train an MLP on generated two-moons data (CPU)");
  cli.integer("steps", steps, "training steps (one minibatch each)", 0);
  cli.integer("batch", batch, "minibatch size", 1);
  cli.integer("hidden", hidden, "units per hidden layer", 1);
  cli.real("lr", lr, "Adam learning rate", examples::RealRange::positive());
  cli.integer("train", n_train, "training points", 2);
  cli.integer("test", n_test, "held-out test points", 2);
  cli.real("noise", noise, "std of the noise added to the moons", examples::RealRange::non_negative());
  cli.integer("seed", seed, "random seed (data, init and minibatches)");
  cli.integer("log-every", log_every, "print progress every N steps (0: never)", 0);
  cli.text("save", save, "write the trained model to this .safetensors file");
  cli.text("load", load, "start from this checkpoint instead of a fresh init");
  cli.choice("on-nonfinite", on_nonfinite, {"stop", "continue"},
             "a NaN or infinite loss or gradient: stop ends the run with an error naming the step and the tensor; "
             "continue warns once and trains on");
  cli.text("checkpoint", checkpoint,
           "save the whole training state (model, Adam, the minibatch generator, the step) to this file every "
           "--checkpoint-every steps and at the end");
  cli.integer("checkpoint-every", checkpoint_every, "steps between checkpoints; 0: only at the end", 0);
  cli.text("resume", resume, "continue from this checkpoint's step to --steps, bit for bit as if never stopped "
                             "(the same options)");
  if (std::optional<int> status = cli.parse(argc, argv)) return *status;
  NOVA_CHECK(resume.empty() || load.empty(), "mlp_classifier: --resume and --load both set the model; give one");

  manual_seed(seed);
  Generator data_gen(seed + 1);
  auto train = datasets::two_moons(n_train, noise, data_gen);
  auto test = datasets::two_moons(n_test, noise, data_gen);

  auto model = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Linear>(2, hidden), std::make_shared<nn::Tanh>(),
      std::make_shared<nn::Linear>(hidden, hidden), std::make_shared<nn::Tanh>(),
      std::make_shared<nn::Linear>(hidden, 2));
  if (!load.empty()) {
    nn::load(*model, load);
    fmt::print("loaded {}\n", load);
  }
  optim::Adam optimizer(model->parameters(), optim::AdamOptions{lr});
  // The default generator draws the minibatch rows (randint below): it is
  // part of the state, as the model and Adam are.
  models::TrainCheckpoint ckpt;
  ckpt.add("model", *model).add("adam", optimizer).add("default_gen", default_generator());
  for (const auto& [key, value] : {std::pair<const char*, std::string>{"lr", fmt::format("{}", lr)},
                                   {"batch", std::to_string(batch)}, {"hidden", std::to_string(hidden)},
                                   {"train", std::to_string(n_train)}, {"noise", fmt::format("{}", noise)},
                                   {"seed", std::to_string(seed)}})
    ckpt.setting(key, value);
  int64_t first = 1;
  if (!resume.empty()) {
    first = ckpt.load(resume) + 1;
    NOVA_CHECK(first - 1 <= steps, "mlp_classifier: --resume {}: saved after step {}, beyond --steps {}", resume,
               first - 1, steps);
    fmt::print("resumed from {} after step {}\n", resume, first - 1);
  }

  fmt::print("two-moons: {} train / {} test points, MLP 2-{}-{}-2 ({} parameters), Adam lr {}\n",
             train.x.size(0), test.x.size(0), hidden, hidden,
             [&] { int64_t n = 0; for (auto& p : model->parameters()) n += p.numel(); return n; }(),
             lr);
  optim::FiniteCheck finite(on_nonfinite == "stop" ? optim::OnNonFinite::stop : optim::OnNonFinite::warn,
                            [](const std::string& message) {
                              fmt::print(stderr, "warning: {} (--on-nonfinite continue: training on)\n", message);
                            });
  const optim::NamedParameters named = model->named_parameters();
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = train.x.size(0);
  double loss_value = 0;
  for (int64_t step = first; step <= steps; ++step) {
    Tensor rows = randint(0, n, {std::min(batch, n)});
    Tensor x = ops::index_select(train.x, 0, rows), y = ops::index_select(train.y, 0, rows);
    Tensor loss = ops::cross_entropy((*model)(x), y);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss_value = loss.item();
    finite.value(step, "loss", loss_value);
    finite.grads(step, named, "model.");
    if (log_every > 0 && (step % log_every == 0 || step == steps))
      fmt::print("step {:>5}/{}  loss {:.4f}  train acc {:.3f}\n", step, steps, loss_value,
                 accuracy(*model, train));
    if (!checkpoint.empty() && (step == steps || (checkpoint_every > 0 && step % checkpoint_every == 0)))
      ckpt.save(checkpoint, step);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double train_acc = accuracy(*model, train), test_acc = accuracy(*model, test);
  if (!save.empty()) {
    nn::save(*model, save);
    fmt::print("saved {}\n", save);
  }
  fmt::print("final: loss={:.4f} train_acc={:.4f} test_acc={:.4f} steps={} seconds={:.2f}\n",
             loss_value, train_acc, test_acc, steps, seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
