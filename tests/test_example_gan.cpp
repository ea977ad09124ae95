// tests/test_example_gan.cpp: runs the real gan_8gaussians example briefly
// (a few hundred steps, small batches) and checks what it prints and writes:
// the header and metrics lines, the periodic and snapshot lines, the final
// key=value line, the CSV columns, valid PNG files, the --compare table, that
// every loss and weighting runs, that a default run writes no files, that
// --aw-norm-guard reaches aw's weights, that gn's and pgn's per-mode scores
// are D's raw output turned as f_hat (pgn: 1 - f), and that bad options fail
// with a message naming them. Training quality is not checked here (a few
// hundred steps cannot cover the modes); that is what the README's table is
// for. Compiled only when the examples are built.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "datasets/gaussian_mixture.h"
#include "models/gaussian_mixture_gan.h"
#include "nn/checkpoint.h"
#include "tests/test_util.h"

#ifdef NOVA_GAN_EXAMPLE_PATH

namespace {

using Run = nova::test::CommandResult;

/// Runs the example with `args` (stdout and stderr together; stderr is a
/// pipe, so the example prints periodic lines instead of a progress bar),
/// on one thread unless `args` says --threads.
Run run(const std::string& args, const std::string& cwd = "") {
  const std::string threads = args.find("--threads") == std::string::npos ? " --threads 1 " : " ";
  std::string cmd = std::string(NOVA_GAN_EXAMPLE_PATH) + threads + args;
  if (!cwd.empty()) cmd = "cd '" + cwd + "' && " + cmd;
  return nova::test::run_command(cmd);
}

/// The text after "key=" on the "final:" line, up to the next space.
std::string final_field(const std::string& out, const std::string& key) {
  auto line = out.find("final:");
  REQUIRE(line != std::string::npos);
  auto at = out.find(" " + key + "=", line);
  REQUIRE(at != std::string::npos);
  at += key.size() + 2;
  return out.substr(at, out.find_first_of(" \n", at) - at);
}

std::vector<std::string> lines_of(const std::string& path) { return nova::test::read_lines(path); }

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream s(line);
  for (std::string field; std::getline(s, field, ',');) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.push_back("");
  return fields;
}

bool is_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char sig[8] = {};
  f.read(sig, 8);
  const unsigned char want[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return f.gcount() == 8 && std::equal(sig, sig + 8, reinterpret_cast<const char*>(want));
}

const char* kShort = "--steps 200 --batch 64 --eval-samples 500 ";

}  // namespace

TEST_CASE("the GAN example prints its set-up, progress, snapshots and final metrics", "[example][gan8]") {
  Run r = run(std::string(kShort) + "--log-every 100 --plot-every 100 --seed 3");
  INFO(r.output);
  REQUIRE(r.status == 0);
  using Catch::Matchers::Contains;
  REQUIRE_THAT(r.output, Contains("8-Gaussian GAN: ring of 8 modes"));
  REQUIRE_THAT(r.output, Contains("loss bce"));
  REQUIRE_THAT(r.output, Contains("metrics on 500 generated points: high quality = within 3 std"));
  REQUIRE_THAT(r.output, Contains("a mode is covered with >= 20 high-quality points"));
  REQUIRE_THAT(r.output, Contains("step    100/200  d_real "));
  REQUIRE_THAT(r.output, Contains("step    200/200  d_real "));
  REQUIRE_THAT(r.output, Contains("snapshot step    100: modes "));
  REQUIRE_THAT(r.output, Contains("D(real) mean logit per mode:"));
  REQUIRE_THAT(r.output, Contains("high-quality points per mode: "));
  REQUIRE(final_field(r.output, "method") == "baseline");
  REQUIRE(final_field(r.output, "loss") == "bce");
  REQUIRE(final_field(r.output, "g_loss") == "minimax");  // the unrolled-GAN code's generator
  REQUIRE(final_field(r.output, "seed") == "3");
  REQUIRE(final_field(r.output, "steps") == "200");
  REQUIRE(final_field(r.output, "modes") == "8");
  const int covered = std::stoi(final_field(r.output, "modes_covered"));
  REQUIRE((covered >= 0 && covered <= 8));
  const double hq = std::stod(final_field(r.output, "high_quality_pct"));
  REQUIRE((hq >= 0 && hq <= 100));
  REQUIRE(std::stod(final_field(r.output, "seconds")) > 0);
}

TEST_CASE("the GAN example's CSV logs have the documented columns", "[example][gan8]") {
  nova::test::TempDir dir;
  const std::string csv = dir.file("log.csv"), modes = dir.file("modes.csv");
  Run r = run(std::string(kShort) + "--weighting aw1 --log-every 0 --plot-every 100 --csv-every 50 --csv " + csv +
              " --modes-csv " + modes);
  INFO(r.output);
  REQUIRE(r.status == 0);

  auto rows = lines_of(csv);
  REQUIRE(rows.size() == 5);  // header + steps 50, 100, 150, 200
  REQUIRE(rows[0] ==
          "method,seed,step,d_loss_real,d_loss_fake,g_loss,s_r,s_f,case,w_r,w_f,angle_real_fake,"
          "angle_update_real,angle_update_fake,elapsed");
  for (size_t i = 1; i < rows.size(); ++i) {
    INFO(rows[i]);
    auto f = split_csv(rows[i]);
    REQUIRE(f.size() == 15);
    REQUIRE(f[0] == "aw1");
    REQUIRE(f[1] == "0");
    REQUIRE(std::stoi(f[2]) == int(50 * i));
    const double s_r = std::stod(f[6]), s_f = std::stod(f[7]);
    REQUIRE((s_r > 0 && s_r < 1 && s_f > 0 && s_f < 1));
    const int case_id = std::stoi(f[8]);
    REQUIRE((case_id >= 1 && case_id <= 5));
    for (int k = 11; k <= 13; ++k) {
      const double angle = std::stod(f[size_t(k)]);
      REQUIRE((angle >= 0 && angle <= 180));
    }
    REQUIRE(std::stod(f[14]) >= 0);
  }

  auto mode_rows = lines_of(modes);
  REQUIRE(mode_rows.size() == 1 + 2 * 8);  // two snapshots of 8 modes
  REQUIRE(mode_rows[0] == "method,seed,step,mode,d_real_mean_logit,high_quality");
  auto f = split_csv(mode_rows[16]);
  REQUIRE(f.size() == 6);
  REQUIRE(f[2] == "200");
  REQUIRE(f[3] == "7");
}

TEST_CASE("the baseline's CSV rows carry the Figure 2.4 angles and no aw case", "[example][gan8]") {
  nova::test::TempDir dir;
  Run r = run("--steps 20 --batch 32 --eval-samples 100 --log-every 0 --plot-every 0 --csv-every 10 --csv " +
              dir.file("b.csv"));
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto rows = lines_of(dir.file("b.csv"));
  REQUIRE(rows.size() == 3);
  auto f = split_csv(rows[1]);
  REQUIRE(f[0] == "baseline");
  REQUIRE(f[8] == "0");
  REQUIRE(f[9] == "1");
  REQUIRE(f[10] == "1");
  REQUIRE(std::stod(f[11]) > 90);  // g_r and g_f of the BCE loss point apart (Figure 2.4, top)
}

TEST_CASE("the GAN example writes valid PNG snapshots only when asked", "[example][gan8]") {
  nova::test::TempDir dir;
  Run r = run(std::string(kShort) + "--log-every 0 --plot-every 100 --plot-dir " + dir.path.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE(dir.listing() ==
          std::vector<std::string>{"baseline_seed0_step000100.png", "baseline_seed0_step000200.png", "target.png"});
  for (const auto& name : dir.listing()) {
    INFO(name);
    REQUIRE(is_png(dir.file(name)));
  }

  nova::test::TempDir cwd;  // a default run writes nothing
  Run quiet = run("--steps 30 --batch 32 --eval-samples 100", cwd.path.string());
  INFO(quiet.output);
  REQUIRE(quiet.status == 0);
  REQUIRE(cwd.listing().empty());
}

// --graph: one step's losses as a DOT file (core/graph_dot.h), a PNG beside
// it when Graphviz's dot is installed, and the training itself unchanged.
TEST_CASE("--graph writes one step's backward graph and leaves the training as it was", "[example][gan8]") {
  nova::test::TempDir dir;
  const std::string dot = dir.file("step.dot");
  const std::string args = "--steps 20 --batch 32 --eval-samples 200 --plot-every 0 --weighting aw1 ";
  Run with = run(args + "--graph " + dot);
  INFO(with.output);
  REQUIRE(with.status == 0);
  const std::vector<std::string> lines = lines_of(dot);
  REQUIRE(!lines.empty());
  REQUIRE(lines.front() == "digraph backward {");
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  for (const char* want : {"D loss, real rows", "D loss, fake rows", "G loss", "D.0.weight\\n[128, 2]",
                           "G.0.weight\\n[128, 256]", "linear\\n[64, 128]", "tanh\\n[32, 128]", "legend"})
    REQUIRE(text.find(want) != std::string::npos);
  const bool have_dot = std::system("command -v dot > /dev/null 2>&1") == 0;
  REQUIRE(std::filesystem::exists(dir.file("step.png")) == have_dot);
  if (have_dot) REQUIRE(is_png(dir.file("step.png")));
  else REQUIRE(with.output.find("apt-get install graphviz") != std::string::npos);
  Run without = run(args);
  REQUIRE(without.status == 0);
  REQUIRE(final_field(with.output, "high_quality_pct") == final_field(without.output, "high_quality_pct"));
  REQUIRE(final_field(with.output, "modes_covered") == final_field(without.output, "modes_covered"));

  Run several = run("--compare --seeds 1 --steps 5 --graph " + dot);
  REQUIRE(several.status != 0);
  REQUIRE(several.output.find("--graph draws one run's step") != std::string::npos);
}

TEST_CASE("every loss and weighting of the GAN example trains a few steps", "[example][gan8]") {
  for (std::string loss : {"bce", "hinge", "wgan", "wgan-gp", "gn", "pgn"})
    for (std::string weighting : {"none", "aw1", "aw2"}) {
      Run r = run("--steps 12 --batch 32 --eval-samples 100 --log-every 0 --plot-every 6 --loss " + loss +
                  " --weighting " + weighting);
      INFO(loss << " " << weighting << "\n" << r.output);
      REQUIRE(r.status == 0);
      REQUIRE(final_field(r.output, "loss") == loss);
      REQUIRE(final_field(r.output, "method") == (weighting == "none" ? "baseline" : weighting));
      if (weighting != "none") {
        // the case histogram counts every D step
        auto at = r.output.find("aw cases 1..5 (D steps): ");
        REQUIRE(at != std::string::npos);
        std::istringstream counts(r.output.substr(at + 25));
        int sum = 0, c = 0;
        for (int k = 0; k < 5 && counts >> c; ++k) sum += c;
        REQUIRE(sum == 12);
      }
    }
}

TEST_CASE("--compare prints one row per seed and method, a summary and the per-snapshot tables", "[example][gan8]") {
  Run r = run("--compare --seeds 2 --seed 5 --steps 60 --batch 32 --eval-samples 200 --plot-every 30");
  INFO(r.output);
  REQUIRE(r.status == 0);
  using Catch::Matchers::Contains;
  REQUIRE_THAT(r.output, Contains("4 runs, 2 at a time, 1 thread(s) each") || Contains("4 runs, 1 at a time"));
  REQUIRE_THAT(r.output, Contains("seed   method    modes>=20 modes>=50    hq %   wall s  aw cases 1..5 (D steps)"));
  for (const char* prefix : {"\n5      baseline ", "\n5      aw1      ", "\n6      baseline ", "\n6      aw1      "}) {
    INFO(prefix);
    REQUIRE(r.output.find(prefix) != std::string::npos);
  }
  REQUIRE_THAT(r.output, Contains("summary (60 steps each, bce (G minimax); a mode is covered with >= 20 or >= 50"));
  REQUIRE_THAT(r.output, Contains("\nbaseline      2 "));
  REQUIRE_THAT(r.output, Contains("\naw1           2 "));
  // aw's cases per snapshot window, and D's real-data logits per mode at each snapshot
  REQUIRE_THAT(r.output, Contains("aw1: share of D steps in each case per window (all seeds):"));
  REQUIRE_THAT(r.output, Contains("\n1-30 "));
  REQUIRE_THAT(r.output, Contains("\n31-60 "));
  REQUIRE_THAT(r.output, Contains("D's mean raw logit on 100 real points per mode"));
  REQUIRE(std::regex_search(r.output, std::regex("\nbaseline +30( +[-+][0-9]+\\.[0-9]{2}){8} ")));
  REQUIRE(std::regex_search(r.output, std::regex("\naw1 +60( +[-+][0-9]+\\.[0-9]{2}){8} ")));
  REQUIRE(r.output.find("snapshot step") == std::string::npos);  // per-run detail is left out
}

/// The --compare rows (seed, method, both coverages, hq %, cases) without
/// the wall-clock column.
std::vector<std::string> compare_rows(const std::string& out) {
  std::vector<std::string> rows;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!std::regex_search(line, std::regex("^[0-9]+ +(baseline|aw1) "))) continue;
    std::istringstream words(line);
    std::string row;
    int k = 0;
    for (std::string w; words >> w; ++k)
      if (k != 5) row += w + " ";  // the 6th column is wall s
    rows.push_back(row);
  }
  return rows;
}

TEST_CASE("--compare in parallel gives each run the result it has alone", "[example][gan8]") {
  const std::string args = "--compare --seeds 2 --steps 40 --batch 32 --eval-samples 200 --plot-every 20 ";
  Run serial = run(args + "--jobs 1"), parallel = run(args + "--jobs 2");
  INFO(serial.output << "\n" << parallel.output);
  REQUIRE(serial.status == 0);
  REQUIRE(parallel.status == 0);
  REQUIRE_THAT(serial.output, Catch::Matchers::Contains("4 runs, 1 at a time"));
  REQUIRE_THAT(parallel.output, Catch::Matchers::Contains("4 runs, 2 at a time"));
  REQUIRE(compare_rows(serial.output).size() == 4);
  REQUIRE(compare_rows(serial.output) == compare_rows(parallel.output));
  // the single run of the same seed and method ends the same way
  Run alone = run("--steps 40 --batch 32 --eval-samples 200 --plot-every 20 --weighting aw1 --seed 1");
  REQUIRE(alone.status == 0);
  const std::string row = compare_rows(serial.output)[3];  // seed 1, aw1
  REQUIRE_THAT(row, Catch::Matchers::StartsWith("1 aw1 " + final_field(alone.output, "modes_covered") + "/8 "));
}

TEST_CASE("the GAN example documents its options and defaults and rejects bad ones", "[example][gan8]") {
  Run help = run("--help");
  REQUIRE(help.status == 0);
  for (const char* option : {"--loss", "--weighting", "--steps", "--batch", "--lr-d", "--lr-g", "--seed", "--device",
                             "--log-every", "--csv", "--plot-dir", "--eval-samples", "--compare", "--seeds",
                             "--threads", "--grad-split", "--g-loss", "--pgn-denominator", "--aw-norm-guard",
                             "--jobs", "--figure", "--cover-min-high"})
    REQUIRE_THAT(help.output, Catch::Matchers::Contains(option));
  REQUIRE_THAT(help.output, Catch::Matchers::Contains("non-saturating"));
  for (const char* default_value : {"(default: 25000; >= 1)", "(default: 0.0001; > 0)", "(default: 0.5; in [0, 1))",
                                    "(default: bce)", "(default: false)", "(default: cpu)"})
    REQUIRE_THAT(help.output, Catch::Matchers::Contains(default_value));
  REQUIRE_THAT(help.output, Catch::Matchers::Contains("Each option may be given once"));

  struct Bad {
    const char* args;
    const char* message;
    int status;  // 2: the command line is wrong; 1: training could not start
  };
  for (Bad bad : {Bad{"--loss lsgan", "--loss: must be bce, hinge, wgan, wgan-gp, gn or pgn, got \"lsgan\"", 2},
                  Bad{"--weighting aw3", "--weighting: must be none, aw1 or aw2, got \"aw3\"", 2},
                  Bad{"--stpes 10", "unknown option --stpes", 2},
                  Bad{"--batch 0", "--batch: must be >= 1, got 0", 2},
                  Bad{"--lr-d fast", "--lr-d: expects a number, got \"fast\"", 2},
                  Bad{"--steps 2.5", "--steps: expects an integer, got \"2.5\"", 2},
                  Bad{"--device tpu", "tpu", 2},
                  Bad{"--grad-split both", "--grad-split: must be auto, fused or reference", 2},
                  Bad{"--steps 5 --batch 8 --plot-dir /nonexistent/plots", "/nonexistent/plots", 1},
                  Bad{"--steps 5 --batch 8 --csv /nonexistent/log.csv", "/nonexistent/log.csv", 1}}) {
    Run r = run(bad.args);
    INFO(bad.args << "\n" << r.output);
    REQUIRE(r.status == bad.status);
    REQUIRE_THAT(r.output, Catch::Matchers::Contains("error: "));
    REQUIRE_THAT(r.output, Catch::Matchers::Contains(bad.message));
  }
}

// ---- command lines found wrong (issue 15): each used to crash, or to train
// on a number nobody asked for and exit 0. A short run, in case one is taken.

/// `args` plus what keeps a run short (3 steps of 8 points), where `args`
/// does not set it already: a repeated option would be an error of its own.
std::string tiny(const std::string& args) {
  std::string out = args;
  std::istringstream words(args);
  std::vector<std::string> given;
  for (std::string w; words >> w;) given.push_back(w.substr(0, w.find('=')));
  for (auto [option, value] : {std::pair{"--steps", "3"}, {"--batch", "8"}, {"--eval-samples", "50"},
                               {"--plot-every", "0"}, {"--log-every", "0"}})
    if (std::find(given.begin(), given.end(), option) == given.end()) out += std::string(" ") + option + " " + value;
  return out;
}

/// `args` must be refused as a usage error naming `option`: status 2, the
/// usage line, and "error: <option>: ...".
Run require_usage_error(const std::string& args, const std::string& option) {
  Run r = run(tiny(args));
  INFO(args << "\n" << r.output);
  REQUIRE(r.status == 2);
  REQUIRE_THAT(r.output, Catch::Matchers::Contains("Usage: gan_8gaussians [OPTIONS]"));
  REQUIRE_THAT(r.output, Catch::Matchers::Contains("error: " + option + ":"));
  return r;
}

TEST_CASE("--threads beyond 4x the hardware threads is refused, not handed to OpenMP", "[example][gan8]") {
  const int64_t limit = 4 * std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));
  for (const char* threads : {"100000", "65536", "32768", "-1"}) {  // OpenMP segfaulted or aborted on these
    Run r = require_usage_error(std::string("--threads ") + threads, "--threads");
    REQUIRE_THAT(r.output, Catch::Matchers::Contains(fmt::format("must be in [0, {}]", limit)));
  }
  for (int64_t threads : {int64_t(0), limit}) {
    Run r = run(tiny(fmt::format("--threads {}", threads)));
    INFO(r.output);
    REQUIRE(r.status == 0);
  }
}

TEST_CASE("real options refuse inf, nan and values outside their range", "[example][gan8]") {
  for (const char* args : {"--lr-d inf", "--lr-d nan", "--lr-d 0", "--lr-d -1e-4"})
    require_usage_error(args, "--lr-d");
  for (const char* args : {"--lr-g inf", "--lr-g -inf"}) require_usage_error(args, "--lr-g");
  require_usage_error("--gp-lambda nan --loss wgan-gp", "--gp-lambda");
  require_usage_error("--gp-lambda -1 --loss wgan-gp", "--gp-lambda");
  require_usage_error("--clip inf --loss wgan", "--clip");
  for (const char* args : {"--beta1 1", "--beta1 nan", "--beta1 -0.5"}) require_usage_error(args, "--beta1");
  require_usage_error("--beta2 1.5", "--beta2");
  for (const char* args : {"--hq-std nan", "--hq-std 0"}) require_usage_error(args, "--hq-std");
}

TEST_CASE("booleans are strict: --compare=maybe is refused", "[example][gan8]") {
  require_usage_error("--compare=maybe", "--compare");
  require_usage_error("--compare=2", "--compare");
  Run no = run(tiny("--compare=no"));
  INFO(no.output);
  REQUIRE(no.status == 0);
  REQUIRE_THAT(no.output, Catch::Matchers::Contains("final: method=baseline"));
  Run yes = run(tiny("--compare=yes --seeds 1"));
  INFO(yes.output);
  REQUIRE(yes.status == 0);
  REQUIRE_THAT(yes.output, Catch::Matchers::Contains("\nbaseline      1 "));
}

TEST_CASE("negative seeds and counts are refused, not wrapped", "[example][gan8]") {
  require_usage_error("--seed -1", "--seed");  // was 2^64 - 1
  require_usage_error("--seed=-1", "--seed");
  for (const char* option : {"--steps", "--batch", "--seeds", "--eval-samples", "--cover-min", "--log-every",
                             "--plot-every", "--csv-every"})
    require_usage_error(std::string(option) + " -2", option);
  Run big = run(tiny("--seed 18446744073709551615"));  // 2^64 - 1 itself is a seed
  INFO(big.output);
  REQUIRE(big.status == 0);
  REQUIRE_THAT(big.output, Catch::Matchers::Contains("seed=18446744073709551615"));
}

TEST_CASE("an option given twice is refused, not silently the last one", "[example][gan8]") {
  for (const char* args : {"--steps 10 --steps 20", "--loss bce --loss=hinge", "--compare --compare --seeds 1"}) {
    Run r = run(tiny(args));
    INFO(args << "\n" << r.output);
    REQUIRE(r.status == 2);
    REQUIRE_THAT(r.output, Catch::Matchers::Contains("given 2 times; each option may be given once"));
  }
}

// ---- numbers that go bad: a generator lr of 1e38 is finite, but one Adam
// step moves G's weights to about 1e38 and G(z) overflows, so D's loss on
// the fake rows is NaN from the second step. It used to train on in NaN and
// exit 0 reporting 0 modes.

TEST_CASE("a loss that goes NaN stops the run with an error naming the step", "[example][gan8]") {
  Run r = run(tiny("--lr-g 1e38 --steps 8"));
  INFO(r.output);
  REQUIRE(r.status == 1);
  REQUIRE(std::regex_search(r.output, std::regex("error: step [0-9]+: discriminator loss \\((real|fake)\\) is nan")));
  REQUIRE(r.output.find("final:") == std::string::npos);

  // aw refuses the NaN score itself; the trainer still says at which step
  Run aw = run(tiny("--lr-g 1e38 --steps 8 --weighting aw1"));
  INFO(aw.output);
  REQUIRE(aw.status == 1);
  REQUIRE(std::regex_search(aw.output, std::regex("error: step [0-9]+: AdaptiveWeighting: ")));
}

TEST_CASE("--on-nonfinite continue warns once and finishes the run", "[example][gan8]") {
  Run r = run(tiny("--lr-g 1e38 --steps 8 --on-nonfinite continue"));
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE(std::regex_search(r.output, std::regex("warning: step [0-9]+: discriminator loss \\((real|fake)\\) is nan")));
  REQUIRE(r.output.find("warning:") == r.output.rfind("warning:"));  // once
  REQUIRE(std::regex_search(r.output, std::regex("non-finite losses or gradients on [1-8] of 8 steps")));
  REQUIRE(final_field(r.output, "steps") == "8");

  Run fine = run(tiny("--steps 8 --on-nonfinite stop"));  // a healthy run says nothing of it
  INFO(fine.output);
  REQUIRE(fine.status == 0);
  REQUIRE(fine.output.find("non-finite") == std::string::npos);
  REQUIRE(fine.output.find("warning:") == std::string::npos);
  require_usage_error("--on-nonfinite ignore", "--on-nonfinite");
}

TEST_CASE("--g-loss: bce trains G with the minimax loss unless ns is asked for", "[example][gan8]") {
  nova::test::TempDir dir;
  for (const char* g : {"", "minimax", "ns"}) {
    const std::string csv = dir.file(std::string("g") + g + ".csv");
    Run r = run(std::string("--steps 20 --batch 32 --eval-samples 100 --log-every 0 --plot-every 0 --csv-every 10 ") +
                (*g ? std::string("--g-loss ") + g : std::string()) + " --csv " + csv);
    INFO(g << "\n" << r.output);
    REQUIRE(r.status == 0);
    const bool ns = std::string(g) == "ns";
    REQUIRE(final_field(r.output, "g_loss") == (ns ? "ns" : "minimax"));
    // minimax: -mean softplus(D(G(z))) < 0; ns: mean softplus(-D(G(z))) > 0
    for (size_t i = 1; i < 3; ++i) {
      const double g_loss = std::stod(split_csv(lines_of(csv)[i])[5]);
      REQUIRE((ns ? g_loss > 0 : g_loss < 0));
    }
  }
  Run hinge = run(tiny("--loss hinge --g-loss ns"));
  REQUIRE(hinge.status == 1);
  REQUIRE_THAT(hinge.output, Catch::Matchers::Contains("--g-loss: the generator loss of hinge is not chosen"));
  Run wgan = run(tiny("--loss wgan --g-loss minimax"));
  REQUIRE(wgan.status == 0);
  REQUIRE(final_field(wgan.output, "g_loss") == "wasserstein");
  require_usage_error("--g-loss saturating", "--g-loss");
}

TEST_CASE("--pgn-denominator and --aw-norm-guard reach the run; bad values are refused", "[example][gan8]") {
  nova::test::TempDir dir;
  std::vector<std::string> d_loss;  // step 3's d_loss_real of each denominator
  for (const char* denominator : {"ones-minus-gradient", "gradient"}) {
    const std::string csv = dir.file(std::string(denominator) + ".csv");
    Run r = run(tiny(std::string("--loss pgn --weighting aw1 --steps 3 --csv-every 1 --pgn-denominator ") +
                     denominator + " --csv " + csv));
    INFO(r.output);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.output, Catch::Matchers::Contains(std::string("loss pgn (G minimax), denominator ") + denominator));
    d_loss.push_back(split_csv(lines_of(csv)[3])[3]);
  }
  REQUIRE(d_loss[0] != d_loss[1]);
  Run guard = run(tiny("--weighting aw1 --aw-norm-guard 0"));
  INFO(guard.output);
  REQUIRE(guard.status == 0);
  REQUIRE_THAT(guard.output, Catch::Matchers::Contains("norm guard 0;"));
  // the guard reaches AdaptiveWeighting: step 1 (the same D, data and case
  // whatever the guard) is case 1, 2 or 5 at this seed, where aw1's w_r =
  // 1 / sqrt(|g_r|^2 + guard) + epsilon. Guard 0 gives |g_r|; the others'
  // w_r must be that formula's (at 100, under half of guard 0's).
  std::vector<std::vector<std::string>> step1;
  for (const char* value : {"0", "0.0001", "100"}) {
    const std::string csv = dir.file(std::string("guard") + value + ".csv");
    Run r = run(tiny(std::string("--weighting aw1 --steps 1 --csv-every 1 --aw-norm-guard ") + value +
                     " --csv " + csv));
    INFO(value << "\n" << r.output);
    REQUIRE(r.status == 0);
    step1.push_back(split_csv(lines_of(csv)[1]));
  }
  const std::string case_id = step1[0][8];
  INFO("case " << case_id);
  REQUIRE((case_id == "1" || case_id == "2" || case_id == "5"));
  const double epsilon = 0.05, norm_r = 1 / (std::stod(step1[0][9]) - epsilon);
  for (auto [row, norm_guard] : {std::pair{size_t(1), 1e-4}, {size_t(2), 100.0}}) {
    REQUIRE(step1[row][8] == case_id);
    const double want = 1 / std::sqrt(norm_r * norm_r + norm_guard) + epsilon;
    REQUIRE(std::stod(step1[row][9]) == Approx(want).epsilon(1e-5));
  }
  REQUIRE(std::stod(step1[2][9]) < 0.5 * std::stod(step1[0][9]));
  require_usage_error("--pgn-denominator ones", "--pgn-denominator");
  require_usage_error("--aw-norm-guard -1e-4", "--aw-norm-guard");
  require_usage_error("--jobs -1", "--jobs");
  require_usage_error("--figure 2.5", "--figure");
  Run both = run(tiny("--figure 2.6 --compare"));
  REQUIRE(both.status == 1);
  REQUIRE_THAT(both.output, Catch::Matchers::Contains("--compare and --figure are two modes"));
}

TEST_CASE("--figure 2.6 trains the baseline and aw on one seed and writes one PNG", "[example][gan8]") {
  nova::test::TempDir dir;
  const std::string png = dir.file("fig.png");
  Run r = run("--figure 2.6 --steps 40 --plot-every 20 --batch 32 --eval-samples 200 --figure-out " + png);
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.output, Catch::Matchers::Contains("2 runs, "));
  REQUIRE_THAT(r.output, Catch::Matchers::Contains("final: method=baseline"));
  REQUIRE_THAT(r.output, Catch::Matchers::Contains("final: method=aw1"));
  REQUIRE_THAT(r.output, Catch::Matchers::Contains("wrote " + png));
  REQUIRE(is_png(png));
  REQUIRE(dir.listing() == std::vector<std::string>{"fig.png"});
  Run no_snapshots = run("--figure 2.6 --steps 4 --batch 8 --plot-every 0 --figure-out " + png);
  REQUIRE(no_snapshots.status == 1);
  REQUIRE_THAT(no_snapshots.output, Catch::Matchers::Contains("--figure needs snapshots"));
}

TEST_CASE("gn and pgn: Figure 2.6's per-mode scores are D's raw output as f_hat points (pgn: 1 - f)",
          "[example][gan8]") {
  // After one step, D (read back from the checkpoint) scores each centre;
  // the mean over 100 real points within 0.01 of it is that score to about
  // 1e-3. gn's per-mode score is f, pgn's 1 - f (its f_hat falls as f rises),
  // and neither is f_hat (which for pgn is near (1 - f) / (sqrt(2) + |1 - f|)).
  nova::test::TempDir dir;
  for (const std::string loss : {"gn", "pgn"}) {
    INFO(loss);
    const bool pgn = loss == "pgn";
    const std::string ckpt = dir.file(loss + ".safetensors"), modes = dir.file(loss + "_modes.csv");
    Run r = run(tiny("--loss " + loss + " --steps 1 --plot-every 1 --checkpoint " + ckpt + " --modes-csv " + modes));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const nova::StateDict state = nova::nn::load_checkpoint(ckpt);
    auto d = nova::models::mixture_discriminator();
    d->load_state_dict(nova::sub_state(state, "D"));
    nova::Tensor f;
    {
      nova::NoGradGuard no_grad;
      f = (*d)(nova::datasets::ring_of_gaussians().centres).reshape({8});
    }
    const std::vector<double> raw = nova::test::values(f.to(nova::kFloat64));
    const std::vector<std::string> rows = lines_of(modes);
    REQUIRE(rows.size() == 1 + 8);
    double apart = 0;  // the largest |(1 - f) - f| over the modes: how well the check tells them apart
    for (size_t k = 0; k < 8; ++k) {
      const double score = std::stod(split_csv(rows[k + 1])[4]), want = pgn ? 1 - raw[k] : raw[k];
      INFO("mode " << k << ": f " << raw[k] << ", per-mode score " << score);
      REQUIRE(std::abs(score - want) < 0.01);
      apart = std::max(apart, std::abs(1 - 2 * raw[k]));
    }
    REQUIRE(apart > 0.5);
    const char* label = pgn ? "D(real) mean 1 - f per mode:" : "D(real) mean logit per mode:";
    REQUIRE_THAT(r.output, Catch::Matchers::Contains(label));
  }
}

#endif  // NOVA_GAN_EXAMPLE_PATH: without examples this file has no tests
