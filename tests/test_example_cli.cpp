// tests/test_example_cli.cpp: examples/cli.h, the trainers' command line, on
// its own: what each kind of option accepts and refuses, the exit statuses
// (0 after --help, 2 after a usage error) and the help text. The trainers'
// own tests (test_example_gan.cpp, test_example_mlp.cpp) run the binaries
// with the command lines that were found wrong. Compiled only when the
// examples are built.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

#ifdef NOVA_EXAMPLE_CLI

#include "examples/cli.h"

namespace {

using nova::examples::Cli;
using nova::examples::RealRange;

/// Everything one parse produced: the status parse returned (-1: go on) and
/// what it printed.
struct Parsed {
  int status = -1;
  std::string out, err;
};

/// Runs cli.parse on {"prog", args...}, capturing std::cout and std::cerr.
Parsed parse(Cli& cli, std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
  std::optional<int> status = cli.parse(int(argv.size()), argv.data());
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {status.value_or(-1), out.str(), err.str()};
}

}  // namespace

TEST_CASE("integer options take decimal or whole exponent forms, never octal, hex or wrapped", "[example][cli]") {
  struct Case {
    std::string text;
    int64_t want;  // -1: refused
  };
  for (Case c : {Case{"7", 7}, Case{"010", 10}, Case{"25e3", 25000}, Case{"0", 0}, Case{"0x10", -1},
                 Case{"2.5", -1}, Case{"", -1}, Case{"seven", -1}, Case{"-3", -1}, Case{"1e30", -1},
                 Case{"9223372036854775808", -1}}) {
    INFO("\"" << c.text << "\"");
    int64_t steps = 5;
    Cli cli("prog", "test");
    cli.integer("steps", steps, "steps", 0);
    Parsed p = parse(cli, {"--steps=" + c.text});
    if (c.want >= 0) {
      REQUIRE(p.status == -1);
      REQUIRE(steps == c.want);
    } else {
      REQUIRE(p.status == 2);
      REQUIRE_THAT(p.err, Catch::Matchers::Contains("error: --steps: "));
      REQUIRE(steps == 5);
    }
  }
}

TEST_CASE("a seed takes all of [0, 2^64) and refuses negatives instead of wrapping", "[example][cli]") {
  for (const char* text : {"0", "18446744073709551615"}) {
    uint64_t seed = 3;
    Cli cli("prog", "test");
    cli.integer("seed", seed, "seed");
    REQUIRE(parse(cli, {"--seed", text}).status == -1);
    REQUIRE(std::to_string(seed) == text);
  }
  for (const char* text : {"-1", "18446744073709551616", "-0x1"}) {
    INFO(text);
    uint64_t seed = 3;
    Cli cli("prog", "test");
    cli.integer("seed", seed, "seed");
    Parsed p = parse(cli, {"--seed", text});
    REQUIRE(p.status == 2);
    REQUIRE(seed == 3);
  }
}

TEST_CASE("real options are finite and inside their range", "[example][cli]") {
  struct Case {
    std::string text;
    RealRange range;
    bool ok;
  };
  for (Case c : {Case{"1e-4", RealRange::positive(), true}, Case{"0", RealRange::positive(), false},
                 Case{"0", RealRange::non_negative(), true}, Case{"-1e-9", RealRange::non_negative(), false},
                 Case{"0.999", RealRange::unit_open_top(), true}, Case{"1", RealRange::unit_open_top(), false},
                 Case{"inf", RealRange::positive(), false}, Case{"-inf", RealRange::finite(), false},
                 Case{"nan", RealRange::finite(), false}, Case{"1e400", RealRange::finite(), false},
                 Case{"-2.5", RealRange::finite(), true}, Case{"fast", RealRange::finite(), false},
                 Case{" 1", RealRange::finite(), false}}) {
    INFO("\"" << c.text << "\" " << c.range.str());
    double lr = 0.5;
    Cli cli("prog", "test");
    cli.real("lr", lr, "lr", c.range);
    Parsed p = parse(cli, {"--lr=" + c.text});
    REQUIRE(p.status == (c.ok ? -1 : 2));
    if (c.ok) REQUIRE(lr == std::stod(c.text));  // the value std::stod reads, to the last bit
  }
}

TEST_CASE("booleans are the flag alone or one of six words", "[example][cli]") {
  struct Case {
    std::vector<std::string> args;
    int status;
    bool want;
  };
  for (Case c : {Case{{}, -1, false}, Case{{"--compare"}, -1, true}, Case{{"--compare=true"}, -1, true},
                 Case{{"--compare=yes"}, -1, true}, Case{{"--compare=1"}, -1, true},
                 Case{{"--compare=false"}, -1, false}, Case{{"--compare=no"}, -1, false},
                 Case{{"--compare=0"}, -1, false}, Case{{"--compare=maybe"}, 2, false},
                 Case{{"--compare=on"}, 2, false}, Case{{"--compare=2"}, 2, false},
                 Case{{"--compare", "--compare"}, 2, false}, Case{{"--compare", "false"}, 2, true}}) {
    INFO(c.args.size() << " " << (c.args.empty() ? "" : c.args[0]));
    bool compare = false;
    Cli cli("prog", "test");
    cli.flag("compare", compare, "compare");
    Parsed p = parse(cli, c.args);
    REQUIRE(p.status == c.status);
    if (c.status == -1) REQUIRE(compare == c.want);
  }
}

TEST_CASE("choices, checked text and thread counts refuse what they cannot use", "[example][cli]") {
  std::string weighting = "none", device = "cpu";
  int64_t threads = 1;
  auto make = [&](Cli& cli) {
    cli.choice("weighting", weighting, {"none", "aw1", "aw2"}, "weighting");
    cli.text("device", device, "device", [](const std::string& text) {
      NOVA_CHECK(text == "cpu" || text == "cuda", "device: expected cpu or cuda, got \"{}\"", text);
    });
    cli.threads("threads", threads, "threads");
  };
  {
    Cli cli("prog", "test");
    make(cli);
    REQUIRE(parse(cli, {"--weighting", "aw2", "--device", "cuda", "--threads", "0"}).status == -1);
    REQUIRE((weighting == "aw2" && device == "cuda" && threads == 0));
  }
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const int64_t limit = nova::examples::max_threads();
  for (Bad bad : {Bad{{"--weighting", "aw3"}, "error: --weighting: must be none, aw1 or aw2, got \"aw3\""},
                  Bad{{"--device", "tpu"}, "error: --device: device: expected cpu or cuda, got \"tpu\""},
                  Bad{{"--threads", std::to_string(limit + 1)}, fmt::format("must be in [0, {}]", limit)},
                  Bad{{"--threads", "65536"}, "hardware threads"}}) {
    INFO(bad.args[0] << " " << bad.args[1]);
    Cli cli("prog", "test");
    make(cli);
    Parsed p = parse(cli, bad.args);
    REQUIRE(p.status == 2);
    REQUIRE_THAT(p.err, Catch::Matchers::Contains(bad.message));
  }
}

TEST_CASE("a usage error prints the usage line and names the option; --help prints defaults", "[example][cli]") {
  int64_t steps = 25000;
  double lr = 1e-4;
  std::string csv;
  auto make = [&](Cli& cli) {
    cli.integer("steps", steps, "training steps", 1);
    cli.real("lr", lr, "learning rate", RealRange::positive());
    cli.text("csv", csv, "log file");
  };
  Cli cli("prog", "train something");
  make(cli);
  Parsed help = parse(cli, {"--help"});
  REQUIRE(help.status == 0);
  REQUIRE_THAT(help.out, Catch::Matchers::Contains("train something"));
  REQUIRE_THAT(help.out, Catch::Matchers::Contains("training steps (default: 25000; >= 1)"));
  REQUIRE_THAT(help.out, Catch::Matchers::Contains("learning rate (default: 0.0001; > 0)"));
  REQUIRE_THAT(help.out, Catch::Matchers::Contains("log file (default: none)"));
  REQUIRE_THAT(help.out, Catch::Matchers::Contains("Each option may be given once"));

  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  for (Bad bad : {Bad{{"--stpes", "3"}, "error: unknown option --stpes"},
                  Bad{{"--stpes=3"}, "error: unknown option --stpes\n"},
                  Bad{{"3"}, "error: unexpected argument \"3\""},
                  Bad{{"--steps"}, "error: --steps: 1 required INT missing"},
                  Bad{{"--lr", "1", "--lr", "2"}, "error: --lr: given 2 times; each option may be given once"},
                  Bad{{"--csv", "a", "--csv=b"}, "error: --csv: given 2 times"}}) {
    INFO(bad.args[0]);
    Cli c("prog", "train something");
    make(c);
    Parsed p = parse(c, bad.args);
    REQUIRE(p.status == 2);
    REQUIRE_THAT(p.err, Catch::Matchers::StartsWith("Usage: prog [OPTIONS]\n"));
    REQUIRE_THAT(p.err, Catch::Matchers::Contains(bad.message));
  }
}

#endif  // NOVA_EXAMPLE_CLI: without examples this file has no tests
