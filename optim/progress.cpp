// optim/progress.cpp: Progress (see progress.h for the format).
#include "optim/progress.h"

#include <unistd.h>

namespace nova::optim {

namespace {
constexpr int kBarWidth = 24;  // cells of the bar
}  // namespace

Progress::Progress(bool enabled, int64_t line_every, std::FILE* bar, std::FILE* lines, double min_interval_s)
    : enabled_(enabled),
      line_every_(line_every),
      bar_(bar),
      lines_(lines),
      min_interval_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(min_interval_s))) {}

bool Progress::on_terminal() { return ::isatty(::fileno(stderr)) != 0; }

std::string Progress::render(const std::string& label, int64_t step, int64_t total, const std::string& stats,
                             double elapsed_s) {
  const double frac = total > 0 ? double(step) / double(total) : 1.0;
  const int filled = int(frac * kBarWidth);
  std::string bar(size_t(filled), '=');
  if (filled < kBarWidth) bar += '>' + std::string(size_t(kBarWidth - filled - 1), ' ');
  const double eta = step > 0 ? elapsed_s * double(total - step) / double(step) : 0;
  return fmt::format("{} [{}] {}/{} {} | {:.0f}s, eta {:.0f}s", label, bar, step, total, stats, elapsed_s, eta);
}

void Progress::update(const std::string& label, int64_t step, int64_t total, const std::string& stats,
                      double elapsed_s) {
  if (!enabled_) {
    if (line_every_ > 0 && (step % line_every_ == 0 || step == total))
      print("step {:>6}/{}  {}  {:.1f}s\n", step, total, stats, elapsed_s);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (step != total && ever_drawn_ && now - last_ < min_interval_) return;
  last_ = now;
  ever_drawn_ = true;
  fmt::print(bar_, "\r\033[K{}", render(label, step, total, stats, elapsed_s));
  std::fflush(bar_);
  drawn_ = true;
}

void Progress::clear() {
  if (!enabled_ || !drawn_) return;
  fmt::print(bar_, "\r\033[K");
  std::fflush(bar_);
  drawn_ = false;
}

}  // namespace nova::optim
