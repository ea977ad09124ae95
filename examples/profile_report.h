// examples/profile_report.h: what a trainer's --profile FILE.json does when
// its loop ends: stop the profiler, write the Chrome trace, and give the
// table (core/profile.h) with a line saying where the trace went.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "core/profile.h"

namespace nova::examples {

/// Events a trainer's --profile keeps for its Chrome trace (about 20 MB);
/// the table counts every call beyond them too.
inline constexpr int64_t kProfileEvents = 200000;

/// The --profile option's help, naming the scopes the trainer opens
/// (`scopes`, e.g. "'D step' and 'G step'").
inline std::string profile_option_help(const std::string& scopes) {
  return "profile the training loop: print the per-op table (calls, self and total time, share, bytes, GB/s, "
         "GFLOP/s) with the " + scopes + " scopes at the end, and write the events to this Chrome trace-event "
         "JSON file (the first 200,000 kept)";
}

/// Stops `profiler`, writes its Chrome trace to `path` (throws nova::Error
/// naming the path when it cannot) and returns the table to print.
inline std::string finish_profile(profile::Profiler& profiler, const std::string& path) {
  profiler.stop();
  profiler.write_chrome_trace(path);
  return fmt::format("{}Chrome trace of the training loop written to {} (open it in https://ui.perfetto.dev)\n",
                     profiler.table(), path);
}

}  // namespace nova::examples
