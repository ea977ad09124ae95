// examples/profile_report.h: what a trainer's --profile FILE.json does when
// its loop ends: stop the profiler, write the Chrome trace, and give the
// table (core/profile.h) with a line saying where the trace went.
#pragma once

#include <string>

#include <fmt/format.h>

#include "core/profile.h"

namespace nova::examples {

/// Stops `profiler`, writes its Chrome trace to `path` (throws nova::Error
/// naming the path when it cannot) and returns the table to print.
inline std::string finish_profile(profile::Profiler& profiler, const std::string& path) {
  profiler.stop();
  profiler.write_chrome_trace(path);
  return fmt::format("{}Chrome trace of the training loop written to {} (open it in https://ui.perfetto.dev)\n",
                     profiler.table(), path);
}

}  // namespace nova::examples
