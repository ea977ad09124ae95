// examples/cli.cpp: Cli, the example trainers' command line (see cli.h for
// the rules). Each option is a CLI11 option whose validator parses the text
// with the same strict function that then stores it, so what --help
// promises, the validator checks and the variable receives cannot drift.
#include "examples/cli.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "core/base/error.h"

namespace nova::examples {

namespace {

/// The double `text` spells in full, in decimal (strtod's syntax without
/// hex, which no one means on a command line, and without leading blanks;
/// inf and nan pass here, for the caller to name); nullopt otherwise.
std::optional<double> parse_double(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  if (text.find_first_of("xX") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

/// The integer `text` spells: decimal digits with an optional '-', or a
/// whole number in exponent form (25e3, which the trainers always took);
/// nullopt when it is neither or when T cannot hold it. Never octal or hex,
/// and never wrapped: "-1" is no uint64_t.
template <typename T>
std::optional<T> parse_integer(const std::string& text) {
  T v{};
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc() && stop == end) return v;
  if (ec == std::errc::result_out_of_range) return std::nullopt;
  std::optional<double> d = parse_double(text);
  // 2^63 and 2^64 are exact doubles; T's max is not, so compare with < bound
  const double bound = std::ldexp(1.0, std::numeric_limits<T>::digits);
  if (!d || !std::isfinite(*d) || *d != std::floor(*d) || *d >= bound ||
      *d < double(std::numeric_limits<T>::min()))
    return std::nullopt;
  return T(*d);
}

std::string integer_range(int64_t min, int64_t max) {
  if (max == std::numeric_limits<int64_t>::max()) return fmt::format(">= {}", min);
  return fmt::format("in [{}, {}]", min, max);
}

/// "" when `text` is an integer in [min, max], else why not.
std::string check_integer(const std::string& text, int64_t min, int64_t max) {
  std::optional<int64_t> v = parse_integer<int64_t>(text);
  if (!v) {
    if (parse_integer<uint64_t>(text)) return fmt::format("must be {}, got {}", integer_range(min, max), text);
    return fmt::format("expects an integer, got \"{}\"", text);
  }
  if (*v < min || *v > max) return fmt::format("must be {}, got {}", integer_range(min, max), *v);
  return "";
}

}  // namespace

bool RealRange::contains(double v) const {
  if (!std::isfinite(v)) return false;
  const bool above = lo_open ? v > lo : v >= lo;
  const bool below = hi_open ? v < hi : v <= hi;
  return above && below;
}

std::string RealRange::str() const {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return fmt::format("in {}{}, {}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
  if (has_lo) return fmt::format("{} {}", lo_open ? ">" : ">=", lo);
  if (has_hi) return fmt::format("{} {}", hi_open ? "<" : "<=", hi);
  return "finite";
}

int64_t max_threads() {
  const int64_t cores = std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));
  return 4 * cores;
}

Cli::Cli(std::string program, std::string summary) : program_(std::move(program)), app_(summary, program_) {
  app_.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::Throw);
  app_.get_formatter()->column_width(24);
  app_.footer(
      "Each option may be given once; --name value and --name=value are the same. Booleans: --name alone "
      "is true, or --name=true|false|1|0|yes|no. Reals must be finite. A bad command line exits with "
      "status 2.");
}

CLI::Option* Cli::add(const std::string& name, const std::string& type, const std::string& help,
                      const std::string& default_text, const std::string& range,
                      std::function<std::string(const std::string&)> check,
                      std::function<void(const std::string&)> store) {
  std::string description = help + " (default: " + (default_text.empty() ? "none" : default_text);
  if (!range.empty()) description += "; " + range;
  description += ")";
  CLI::Option* option = app_.add_option(
      "--" + name,
      [store](const CLI::results_t& results) {
        store(results.back());  // one result: a repeat threw before this
        return true;
      },
      description);
  option->option_text(type);
  option->type_name(type);  // for CLI11's own messages ("1 required INT missing")
  if (check)
    option->check(CLI::Validator([check](std::string& text) { return check(text); }, "", name));
  return option;
}

void Cli::integer(const std::string& name, int64_t& value, const std::string& help, int64_t min, int64_t max) {
  add(name, "INT", help, std::to_string(value), integer_range(min, max),
      [min, max](const std::string& text) { return check_integer(text, min, max); },
      [&value](const std::string& text) { value = *parse_integer<int64_t>(text); });
}

void Cli::integer(const std::string& name, uint64_t& value, const std::string& help) {
  add(name, "INT", help, std::to_string(value), ">= 0",
      [](const std::string& text) -> std::string {
        if (parse_integer<uint64_t>(text)) return "";
        if (parse_integer<int64_t>(text)) return fmt::format("must be >= 0, got {}", text);
        return fmt::format("expects an integer in [0, 2^64), got \"{}\"", text);
      },
      [&value](const std::string& text) { value = *parse_integer<uint64_t>(text); });
}

void Cli::threads(const std::string& name, int64_t& value, const std::string& help) {
  const int64_t max = max_threads();
  const std::string why = fmt::format("0: all cores; at most 4x this machine's {} hardware threads", max / 4);
  add(name, "INT", help, std::to_string(value), fmt::format("in [0, {}]", max),
      [max, why](const std::string& text) -> std::string {
        std::string problem = check_integer(text, 0, max);
        return problem.empty() ? "" : problem + " (" + why + ")";
      },
      [&value](const std::string& text) { value = *parse_integer<int64_t>(text); });
}

void Cli::real(const std::string& name, double& value, const std::string& help, RealRange range) {
  add(name, "REAL", help, fmt::format("{}", value), range.str() == "finite" ? "" : range.str(),
      [range](const std::string& text) -> std::string {
        std::optional<double> v = parse_double(text);
        if (!v) return fmt::format("expects a number, got \"{}\"", text);
        if (!std::isfinite(*v)) return fmt::format("must be finite, got {}", text);
        if (!range.contains(*v)) return fmt::format("must be {}, got {}", range.str(), text);
        return "";
      },
      [&value](const std::string& text) { value = *parse_double(text); });
}

void Cli::flag(const std::string& name, bool& value, const std::string& help) {
  const std::string description = help + fmt::format(" (default: {})", value);
  CLI::Option* option = app_.add_flag("--" + name, description);
  flags_.push_back({name, option, &value});
}

void Cli::choice(const std::string& name, std::string& value, const std::vector<std::string>& choices,
                 const std::string& help) {
  std::string listed, spelled;  // "a|b|c" and "a, b or c"
  for (size_t i = 0; i < choices.size(); ++i) {
    listed += (i ? "|" : "") + choices[i];
    spelled += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  }
  add(name, "{" + listed + "}", help, value, "",
      [choices, spelled](const std::string& text) -> std::string {
        for (const std::string& c : choices)
          if (c == text) return "";
        return fmt::format("must be {}, got \"{}\"", spelled, text);
      },
      [&value](const std::string& text) { value = text; });
}

void Cli::text(const std::string& name, std::string& value, const std::string& help,
               std::function<void(const std::string&)> check) {
  std::function<std::string(const std::string&)> validate;
  if (check)
    validate = [check](const std::string& text) -> std::string {
      try {
        check(text);
      } catch (const Error& e) {
        return e.what();
      }
      return "";
    };
  add(name, "TEXT", help, value, "", validate, [&value](const std::string& text) { value = text; });
}

void Cli::finish_flags() {
  for (const Flag& f : flags_) {
    const CLI::results_t& results = f.option->results();
    if (results.empty()) continue;
    if (results.size() > 1)
      throw CLI::ValidationError("--" + f.name, fmt::format("given {} times; each option may be given once",
                                                            results.size()));
    const std::string& text = results[0];
    if (text == "true" || text == "1" || text == "yes") {
      *f.value = true;
    } else if (text == "false" || text == "0" || text == "no") {
      *f.value = false;
    } else {
      throw CLI::ValidationError("--" + f.name,
                                 fmt::format("expects true, false, 1, 0, yes or no, got \"{}\"", text));
    }
  }
}

std::string Cli::usage_message(const CLI::ParseError& e) const {
  // CLI11's own wording for these two does not name the option plainly
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    for (const CLI::Option* option : app_.get_options())
      if (option->count() > 1)
        return fmt::format("{}: given {} times; each option may be given once", option->get_name(),
                           option->count());
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    const std::vector<std::string> extras = app_.remaining();
    for (const std::string& arg : extras)
      if (arg.rfind("-", 0) == 0) return fmt::format("unknown option {}", arg.substr(0, arg.find('=')));
    if (!extras.empty()) return fmt::format("unexpected argument \"{}\" (options start with --)", extras[0]);
  }
  return e.what();
}

std::optional<int> Cli::parse(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
    finish_flags();
  } catch (const CLI::CallForHelp&) {
    std::cout << app_.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << CLI::Formatter().make_usage(&app_, program_) << "error: " << usage_message(e)
              << "\nRun with --help for more information.\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace nova::examples
