// optim/progress.h: Progress, the live one-line progress bar of a training
// loop, and its companion for printing result lines without tearing it.
//
// Why optim/: it belongs to the training loop, next to the optimizers and
// learning-rate schedulers every trainer already includes. It uses no
// tensors, so any floor from core up could hold it; optim/ is where a
// trainer looks for the loop's furniture, and nn/ and models/ can reach it.
//
// The bar goes to stderr, redrawn in place ("\r" and the erase-line escape
// "\033[K"), at most every min_interval seconds, so that stdout keeps only
// results and can be piped to a file. On a terminal the bar is what a person
// watches; into a pipe or a log file it would be noise, so there (enabled
// false, e.g. from on_terminal()) update() prints a plain line every
// line_every steps instead, to the lines stream:
//
//   step    800/2000  d_real 0.693 ...  12.0s
//
// A drawn bar looks like
//
//   seed 5 (1/2) aw1 [=========>              ] 800/2000 d_real 0.693 ... | 12s, eta 18s
//
// label, the bar (24 cells, '=' done, '>' the current one), step/total, the
// caller's stats, the seconds so far and the estimated seconds left
// (elapsed * (total - step) / step).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace nova::optim {

class Progress {
 public:
  /// enabled: draw the bar; false: update() prints a line every line_every
  /// steps (and at the last step) instead, or nothing with line_every 0.
  /// bar: where the bar goes; lines: where print() and those lines go.
  /// min_interval_s: the least time between two redraws (the first and the
  /// last step are always drawn).
  explicit Progress(bool enabled, int64_t line_every = 0, std::FILE* bar = stderr, std::FILE* lines = stdout,
                    double min_interval_s = 0.1);

  /// True when stderr is a terminal: where a live bar makes sense.
  static bool on_terminal();

  bool enabled() const { return enabled_; }

  /// Redraws the bar for step `step` of `total` (rate-limited, see above),
  /// or prints the periodic line when the bar is off.
  void update(const std::string& label, int64_t step, int64_t total, const std::string& stats,
              double elapsed_s);

  /// Erases the bar (if one is drawn), so that the terminal line is free.
  void clear();

  /// Prints a line (formatted like fmt::print) to the lines stream without
  /// tearing the bar: erases it first and flushes after.
  template <typename... Args>
  void print(fmt::format_string<Args...> format, Args&&... args) {
    clear();
    fmt::print(lines_, format, std::forward<Args>(args)...);
    std::fflush(lines_);
  }

  /// The text of one bar, without the redraw escapes (the format above).
  static std::string render(const std::string& label, int64_t step, int64_t total,
                            const std::string& stats, double elapsed_s);

 private:
  bool enabled_;
  int64_t line_every_;
  std::FILE* bar_;
  std::FILE* lines_;
  std::chrono::steady_clock::duration min_interval_;
  bool drawn_ = false;      // a bar is on the line now
  bool ever_drawn_ = false;  // the first draw is never held back
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace nova::optim
