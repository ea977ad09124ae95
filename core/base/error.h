// core/base/error.h: nova::Error, the one exception type every nova function throws.
// Messages follow "op: what was expected, what came" (see STYLE.md), so a
// caller can tell from the text alone which function refused which input.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace nova {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// NOVA_CHECK(cond, "op: expected {}, got {}", a, b) throws nova::Error with
// the formatted message when cond is false. A macro only so that the message
// is not formatted on the (hot) success path.
#define NOVA_CHECK(cond, ...)                                   \
  do {                                                          \
    if (!(cond)) throw ::nova::Error(::fmt::format(__VA_ARGS__)); \
  } while (0)

// Throw with a formatted message; for branches that are errors by themselves.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace nova
