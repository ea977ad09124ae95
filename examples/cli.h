// examples/cli.h: the command line of every example trainer, a thin layer
// over CLI11 (Debian libcli11-dev). A trainer binds each option to a variable
// that already holds its default; Cli checks the text before anything is
// trained, so a bad value is a usage error, never a run on a wrong number:
//   integers  decimal (or a whole number such as 25e3), in [min, max]: a
//             negative seed or count is refused, never wrapped to 2^64 - 1
//   reals     finite (inf and nan refused everywhere), in a stated range
//   booleans  the flag alone, or =true|false|1|0|yes|no; "maybe" is refused
//   choices   one of a list; text: anything, or what a parser accepts
//   threads   0 (OpenMP's default, all cores) up to 4x the hardware threads:
//             OpenMP's runtime crashes on 65536 and aborts on 32768
// Every option may be given once (CLI11's MultiOptionPolicy::Throw: a repeat
// is an error, not "the last one wins"). A usage error prints the usage line
// and the error naming the option, and exits with status 2 (CLI11's and
// getopt's convention); --help prints every option with its default and
// exits 0. Runtime errors (a file that cannot be written) stay nova::Error,
// status 1, in the trainer's main.
//
//   int64_t steps = 400;
//   Cli cli("mlp_classifier", "train an MLP on two moons");
//   cli.integer("steps", steps, "training steps", 0);
//   if (auto status = cli.parse(argc, argv)) return *status;
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace nova::examples {

/// Where a real option's value may lie; it is always finite as well.
struct RealRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;

  /// > 0 (learning rates, std multiples).
  static RealRange positive() { return {0, std::numeric_limits<double>::infinity(), true, false}; }
  /// >= 0 (weights of a penalty, clip bounds, noise).
  static RealRange non_negative() { return {0, std::numeric_limits<double>::infinity(), false, false}; }
  /// [0, 1) (Adam's betas: 1 would divide by 1 - beta^t = 0).
  static RealRange unit_open_top() { return {0, 1, false, true}; }
  /// Any finite value.
  static RealRange finite() { return {}; }

  bool contains(double v) const;
  /// "> 0", ">= 0", "in [0, 1)", "finite".
  std::string str() const;
};

/// The most OpenMP threads --threads accepts: 4x the hardware threads (at
/// least 4). Oversubscribing a little can be measured; more only crashes.
int64_t max_threads();

class Cli {
 public:
  /// `program` names the binary in the usage line; `summary` heads --help.
  Cli(std::string program, std::string summary);

  /// An integer in [min, max]; `value` holds the default and gets the result.
  void integer(const std::string& name, int64_t& value, const std::string& help, int64_t min,
               int64_t max = std::numeric_limits<int64_t>::max());
  /// A non-negative 64-bit integer (seeds): "-1" is refused, not wrapped.
  void integer(const std::string& name, uint64_t& value, const std::string& help);
  /// A thread count in [0, max_threads()]; 0: OpenMP's default.
  void threads(const std::string& name, int64_t& value, const std::string& help);
  /// A finite real in `range`.
  void real(const std::string& name, double& value, const std::string& help, RealRange range);
  /// A boolean: --name alone is true, --name=true|false|1|0|yes|no.
  void flag(const std::string& name, bool& value, const std::string& help);
  /// One of `choices`.
  void choice(const std::string& name, std::string& value, const std::vector<std::string>& choices,
              const std::string& help);
  /// Free text (a path, a device). With `check`, the text must not make it
  /// throw nova::Error (e.g. Device::parse); its message names the problem.
  void text(const std::string& name, std::string& value, const std::string& help,
            std::function<void(const std::string&)> check = {});

  /// Parses argv into the bound variables. Returns nothing when the trainer
  /// should go on, or the status main should return: 0 after --help (printed
  /// to stdout), 2 after a usage error (usage line and error on stderr).
  std::optional<int> parse(int argc, char** argv);

 private:
  struct Flag {
    std::string name;
    CLI::Option* option;
    bool* value;
  };
  CLI::Option* add(const std::string& name, const std::string& type, const std::string& help,
                   const std::string& default_text, const std::string& range,
                   std::function<std::string(const std::string&)> check,
                   std::function<void(const std::string&)> store);
  void finish_flags();
  std::string usage_message(const CLI::ParseError& e) const;

  std::string program_;
  CLI::App app_;
  std::vector<Flag> flags_;
};

}  // namespace nova::examples
