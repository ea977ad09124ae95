// tests/test_example_mlp.cpp: runs the real mlp_classifier example (the
// README's main example) and checks what it prints: it must learn two-moons
// to high held-out accuracy, a saved checkpoint must reload to the same
// accuracy, and a run stopped and resumed must end as an unbroken one. Compiled only when the examples are built.
#include <cstdio>
#include <memory>
#include <string>

#include <unistd.h>

#include "nn/checkpoint.h"
#include "tests/test_util.h"

#ifdef NOVA_MLP_EXAMPLE_PATH

namespace {

using Run = nova::test::CommandResult;

Run run(const std::string& args) {
  return nova::test::run_command(std::string(NOVA_MLP_EXAMPLE_PATH) + " " + args);
}

/// The number after "key=" on the "final:" line.
double final_value(const std::string& out, const std::string& key) {
  auto line = out.find("final:");
  REQUIRE(line != std::string::npos);
  auto at = out.find(key + "=", line);
  REQUIRE(at != std::string::npos);
  return std::stod(out.substr(at + key.size() + 1));
}

}  // namespace

TEST_CASE("the MLP example learns two-moons to high test accuracy", "[example]") {
  Run r = run("--steps 300 --log-every 100 --seed 3");
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.output, Catch::Matchers::Contains("step   100/300"));
  REQUIRE(final_value(r.output, "test_acc") >= 0.97);
  REQUIRE(final_value(r.output, "train_acc") >= 0.97);
}

TEST_CASE("the MLP example's checkpoint reloads to the same accuracy", "[example][checkpoint]") {
  std::string path = "/tmp/nova_mlp_example_" + std::to_string(::getpid()) + ".safetensors";
  Run trained = run("--steps 150 --log-every 0 --save " + path);
  INFO(trained.output);
  REQUIRE(trained.status == 0);
  Run loaded = run("--steps 0 --log-every 0 --load " + path);
  INFO(loaded.output);
  REQUIRE(loaded.status == 0);
  REQUIRE(final_value(loaded.output, "test_acc") == final_value(trained.output, "test_acc"));
  std::remove(path.c_str());
}

TEST_CASE("the MLP example stopped and resumed ends where an unbroken run ends, bit for bit",
          "[example][checkpoint][resume]") {
  nova::test::TempDir dir;
  const std::string straight = dir.file("straight.safetensors"), half = dir.file("half.safetensors"),
                    resumed = dir.file("resumed.safetensors");
  const std::string common = "--log-every 0 --seed 5 --checkpoint-every 7 ";
  Run a = run(common + "--steps 60 --checkpoint " + straight);
  Run b = run(common + "--steps 30 --checkpoint " + half);
  Run c = run(common + "--steps 60 --resume " + half + " --checkpoint " + resumed);
  INFO(a.output << b.output << c.output);
  REQUIRE((a.status == 0 && b.status == 0 && c.status == 0));
  REQUIRE(c.output.find("resumed from " + half + " after step 30") != std::string::npos);
  nova::safetensors::Metadata meta_a, meta_c;
  const nova::StateDict state_a = nova::nn::load_checkpoint(straight, &meta_a);
  const nova::StateDict state_c = nova::nn::load_checkpoint(resumed, &meta_c);
  REQUIRE(state_a.contains("adam.state.0.exp_avg"));
  REQUIRE(state_a.contains("default_gen.offset"));
  nova::test::require_identical(state_c, state_a);  // weights, Adam's buffers and steps, the generator
  REQUIRE(meta_c == meta_a);
  auto final_line = [](const std::string& out) {
    const std::string line = out.substr(out.find("final:"));
    return line.substr(0, line.find(" seconds="));
  };
  REQUIRE(final_line(c.output) == final_line(a.output));
  // a resume under other settings would not be exact: refused, naming them
  Run other = run(common + "--steps 60 --lr 0.02 --resume " + half);
  REQUIRE(other.status == 1);
  REQUIRE(other.output.find("lr") != std::string::npos);
}

TEST_CASE("the MLP example rejects unknown options and bad values", "[example]") {
  Run typo = run("--stpes 10");
  REQUIRE(typo.status == 2);
  REQUIRE_THAT(typo.output, Catch::Matchers::Contains("unknown option --stpes"));
  Run bad = run("--lr fast");
  REQUIRE(bad.status == 2);
  REQUIRE_THAT(bad.output, Catch::Matchers::Contains("--lr: expects a number"));
  Run missing = run("--steps 0 --load /nonexistent/model.safetensors");
  REQUIRE(missing.status == 1);  // a runtime error, not a usage error
  REQUIRE_THAT(missing.output, Catch::Matchers::Contains("/nonexistent/model.safetensors"));
  Run help = run("--help");
  REQUIRE(help.status == 0);
  REQUIRE_THAT(help.output, Catch::Matchers::Contains("(default: 0.01; > 0)"));
}

TEST_CASE("the MLP example refuses non-finite, negative and repeated values with status 2", "[example]") {
  struct Bad {
    const char* args;
    const char* message;
  };
  for (Bad bad : {Bad{"--lr inf", "--lr: must be finite, got inf"}, Bad{"--lr nan", "--lr: must be finite"},
                  Bad{"--lr 0", "--lr: must be > 0, got 0"}, Bad{"--noise inf", "--noise: must be finite"},
                  Bad{"--noise -0.1", "--noise: must be >= 0"}, Bad{"--seed -1", "--seed: must be >= 0, got -1"},
                  Bad{"--steps -1", "--steps: must be >= 0"}, Bad{"--batch 0", "--batch: must be >= 1"},
                  Bad{"--hidden -4", "--hidden: must be >= 1"}, Bad{"--train 1", "--train: must be >= 2"},
                  Bad{"--steps 5 --steps 6", "--steps: given 2 times"}}) {
    Run r = run(std::string(bad.args) + " --log-every 0");
    INFO(bad.args << "\n" << r.output);
    REQUIRE(r.status == 2);
    REQUIRE_THAT(r.output, Catch::Matchers::Contains("Usage: mlp_classifier [OPTIONS]"));
    REQUIRE_THAT(r.output, Catch::Matchers::Contains(bad.message));
  }
}

TEST_CASE("the MLP example stops on a NaN loss naming the step, or warns once when asked", "[example]") {
  // lr 1e38 is finite; one Adam step puts weights near 1e38 and the logits overflow
  Run stop = run("--lr 1e38 --steps 20 --log-every 0");
  INFO(stop.output);
  REQUIRE(stop.status == 1);
  REQUIRE_THAT(stop.output, Catch::Matchers::Contains("error: step 2: loss is nan"));
  Run go_on = run("--lr 1e38 --steps 20 --log-every 0 --on-nonfinite continue");
  INFO(go_on.output);
  REQUIRE(go_on.status == 0);
  REQUIRE_THAT(go_on.output, Catch::Matchers::Contains("warning: step 2: loss is nan"));
  REQUIRE(go_on.output.find("warning:") == go_on.output.rfind("warning:"));
  REQUIRE_THAT(go_on.output, Catch::Matchers::Contains("steps=20"));
}

#endif  // NOVA_MLP_EXAMPLE_PATH: without examples this file has no tests
