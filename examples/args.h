// examples/args.h: a small --name=value / --name value / --flag parser for
// the example trainers. Each trainer declares its options with a default and
// a help line; --help prints them, and an unknown option or a bad value is an
// error that names it (a typo must never silently train with the default).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/base/error.h"

namespace nova::examples {

class Args {
 public:
  Args(std::string program, std::string summary)
      : program_(std::move(program)), summary_(std::move(summary)) {}

  /// Declares an option with its default (as text) and help.
  Args& option(const std::string& name, const std::string& default_value, const std::string& help) {
    order_.push_back(name);
    values_[name] = default_value;
    help_[name] = help;
    return *this;
  }

  /// Parses argv; returns false when --help was given (help already printed).
  bool parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        print_help();
        return false;
      }
      NOVA_CHECK(a.rfind("--", 0) == 0, "{}: unexpected argument \"{}\" (options start with --)", program_, a);
      std::string name = a.substr(2), value;
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      NOVA_CHECK(values_.count(name), "{}: unknown option --{} (see --help)", program_, name);
      if (eq == std::string::npos) {
        bool is_flag = values_[name] == "false" || values_[name] == "true";
        if (is_flag) {
          value = "true";
        } else {
          NOVA_CHECK(i + 1 < argc, "{}: option --{} needs a value", program_, name);
          value = argv[++i];
        }
      }
      values_[name] = value;
    }
    return true;
  }

  std::string str(const std::string& name) const { return values_.at(name); }
  bool flag(const std::string& name) const { return values_.at(name) == "true"; }
  double real(const std::string& name) const {
    try {
      size_t used = 0;
      double v = std::stod(values_.at(name), &used);
      if (used == values_.at(name).size()) return v;
    } catch (const std::exception&) {
    }
    fail("{}: --{} expects a number, got \"{}\"", program_, name, values_.at(name));
  }
  int64_t integer(const std::string& name) const {
    double v = real(name);
    NOVA_CHECK(v == double(int64_t(v)), "{}: --{} expects an integer, got \"{}\"", program_, name,
               values_.at(name));
    return int64_t(v);
  }

  void print_help() const {
    fmt::print("{}: {}\n\noptions:\n", program_, summary_);
    for (const auto& n : order_) fmt::print("  --{:<14} {} (default: {})\n", n, help_.at(n), values_.at(n));
  }

 private:
  std::string program_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> values_, help_;
};

}  // namespace nova::examples
