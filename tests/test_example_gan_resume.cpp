// tests/test_example_gan_resume.cpp: exact resume of the gan_8gaussians
// example (issue 15). A run of N steps straight, and a run stopped after
// N/2 steps (its process ends, leaving its checkpoint) then resumed by a new
// process to N, must end in the same state bit for bit: G and D, both Adams
// (or aw's counts and inner Adam), the training generator. Checked with one
// and two threads, for the plain step, aw and wgan-gp (whose penalty draws
// from the generator). Also: the resumed CSV log continues the stopped one,
// and a resume that would not be exact is refused. Compiled only when the
// examples are built.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>


#include "nn/checkpoint.h"
#include "tests/test_util.h"

#ifdef NOVA_GAN_EXAMPLE_PATH

namespace {

using Run = nova::test::CommandResult;

/// Runs the example with `args` (stdout and stderr together), in a process
/// of its own: a stopped run really ends before the resumed one starts.
Run run(const std::string& args) {
  return nova::test::run_command(std::string(NOVA_GAN_EXAMPLE_PATH) + " " + args);
}

/// The output's line that starts with `head`, without the fields that time
/// the run (" seconds=..." of the final line).
std::string line_of(const std::string& out, const std::string& head) {
  const auto at = out.find(head);
  REQUIRE(at != std::string::npos);
  std::string line = out.substr(at, out.find('\n', at) - at);
  return line.substr(0, line.find(" seconds="));
}

std::vector<std::string> lines_of(const std::string& path) { return nova::test::read_lines(path); }

/// A CSV row without its last field (elapsed seconds).
std::string without_elapsed(const std::string& row) { return row.substr(0, row.rfind(',')); }

const char* kSetup = "--batch 64 --eval-samples 500 --plot-every 0 --log-every 0 ";
constexpr int kSteps = 40;

}  // namespace

TEST_CASE("a GAN run stopped halfway and resumed ends bit for bit where a straight run does",
          "[example][gan8][resume]") {
  const char* options = GENERATE("--threads 1", "--threads 2", "--threads 1 --weighting aw1",
                                 "--threads 2 --weighting aw1", "--threads 2 --loss wgan-gp");
  INFO("options: " << options);
  nova::test::TempDir dir;
  const std::string straight = dir.file("straight.safetensors"), half = dir.file("half.safetensors"),
                    resumed = dir.file("resumed.safetensors");
  const std::string common = std::string(kSetup) + options + " ";

  Run a = run(common + "--steps " + std::to_string(kSteps) + " --checkpoint " + straight);
  INFO(a.output);
  REQUIRE(a.status == 0);
  Run b = run(common + "--steps " + std::to_string(kSteps / 2) + " --checkpoint " + half);
  INFO(b.output);
  REQUIRE(b.status == 0);
  Run c = run(common + "--steps " + std::to_string(kSteps) + " --resume " + half + " --checkpoint " + resumed);
  INFO(c.output);
  REQUIRE(c.status == 0);
  REQUIRE_THAT(c.output, Catch::Matchers::Contains("resumed from " + half + " after step 20"));

  nova::safetensors::Metadata meta_a, meta_c, meta_b;
  const nova::StateDict state_a = nova::nn::load_checkpoint(straight, &meta_a);
  const nova::StateDict state_b = nova::nn::load_checkpoint(half, &meta_b);
  const nova::StateDict state_c = nova::nn::load_checkpoint(resumed, &meta_c);
  REQUIRE(meta_b.at("nova.train.step") == "20");
  REQUIRE(meta_c.at("nova.train.step") == std::to_string(kSteps));
  REQUIRE(state_a.contains("G.0.weight"));
  REQUIRE(state_a.contains("gen.offset"));
  REQUIRE((state_a.contains("opt_d.state.0.exp_avg") || state_a.contains("aw_d.inner.state.0.exp_avg")));
  // every weight, optimizer buffer, step count, aw count and generator word
  nova::test::require_identical(state_c, state_a);
  REQUIRE(meta_c == meta_a);  // the same step, parts, settings and CRC
  REQUIRE(line_of(c.output, "final:") == line_of(a.output, "final:"));
  if (std::string(options).find("aw1") != std::string::npos)
    REQUIRE(line_of(c.output, "aw cases") == line_of(a.output, "aw cases"));
}

TEST_CASE("a resumed GAN run appends to its CSV log the rows a straight run writes", "[example][gan8][resume]") {
  nova::test::TempDir dir;
  const std::string ckpt = dir.file("run.safetensors"), straight = dir.file("straight.csv"),
                    resumed = dir.file("resumed.csv");
  const std::string common = std::string(kSetup) + "--threads 1 --weighting aw1 --csv-every 10 ";
  REQUIRE(run(common + "--steps 40 --csv " + straight).status == 0);
  REQUIRE(run(common + "--steps 20 --csv " + resumed + " --checkpoint " + ckpt).status == 0);
  REQUIRE(run(common + "--steps 40 --csv " + resumed + " --resume " + ckpt).status == 0);
  const auto a = lines_of(straight), c = lines_of(resumed);
  REQUIRE(a.size() == 5);  // header + steps 10, 20, 30, 40
  REQUIRE(c.size() == a.size());
  REQUIRE(c[0] == a[0]);
  for (size_t i = 1; i < a.size(); ++i) REQUIRE(without_elapsed(c[i]) == without_elapsed(a[i]));
}

TEST_CASE("a GAN resume that could not be exact is refused, naming the file and what differs",
          "[example][gan8][resume]") {
  nova::test::TempDir dir;
  const std::string ckpt = dir.file("run.safetensors");
  const std::string common = std::string(kSetup) + "--threads 1 ";
  REQUIRE(run(common + "--steps 10 --checkpoint " + ckpt).status == 0);
  using Catch::Matchers::Contains;

  Run other = run(common + "--steps 20 --resume " + ckpt + " --weighting aw1 --lr-d 2e-4");
  REQUIRE(other.status == 1);
  REQUIRE_THAT(other.output, Contains("error: TrainCheckpoint::load: " + ckpt +
                                      ": it was saved with lr_d=0.0001, method=baseline; this run has "
                                      "lr_d=0.0002, method=aw1"));
  Run g_loss = run(common + "--steps 20 --resume " + ckpt + " --g-loss ns --aw-norm-guard 0");
  REQUIRE(g_loss.status == 1);
  REQUIRE_THAT(g_loss.output, Contains("it was saved with aw_norm_guard=0.0001, g_loss=minimax; this run has "
                                       "aw_norm_guard=0, g_loss=non_saturating"));
  Run seed = run(common + "--steps 20 --resume " + ckpt + " --seed 1");
  REQUIRE(seed.status == 1);
  REQUIRE_THAT(seed.output, Contains("it was saved with seed=0; this run has seed=1"));
  Run shorter = run(common + "--steps 5 --resume " + ckpt);
  REQUIRE(shorter.status == 1);
  REQUIRE_THAT(shorter.output, Contains("--resume " + ckpt + ": saved after step 10, beyond --steps 5"));
  Run compare = run(common + "--steps 20 --compare --seeds 2 --resume " + ckpt);
  REQUIRE(compare.status == 1);
  REQUIRE_THAT(compare.output, Contains("--checkpoint and --resume hold one run; --compare trains 2 x --seeds runs"));
  Run missing = run(common + "--steps 20 --resume " + dir.file("none.safetensors"));
  REQUIRE(missing.status == 1);
  REQUIRE_THAT(missing.output, Contains(dir.file("none.safetensors") + ": cannot open"));
  Run every = run(common + "--steps 20 --checkpoint " + ckpt + " --checkpoint-every -1");
  REQUIRE(every.status == 2);  // a usage error (examples/cli.h)
  REQUIRE_THAT(every.output, Contains("--checkpoint-every: must be >= 0, got -1"));
}

#endif  // NOVA_GAN_EXAMPLE_PATH
