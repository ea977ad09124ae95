// tests/test_progress.cpp: optim::Progress, the training loop's progress
// bar: the exact text of a bar, the redraw escapes, rate limiting (the first
// and last step always drawn), clear(), print() clearing the bar before its
// line, and a disabled bar printing periodic lines instead (or nothing).
// Both streams are temporary files.
#include <cstdio>
#include <string>

#include "optim/progress.h"
#include "tests/test_util.h"

using namespace nova;

namespace {

/// Everything written to f so far.
std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[256];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  return out;
}

/// Two temporary files, closed at scope exit.
struct Streams {
  std::FILE* bar = std::tmpfile();
  std::FILE* lines = std::tmpfile();
  Streams() { REQUIRE((bar && lines)); }
  ~Streams() {
    std::fclose(bar);
    std::fclose(lines);
  }
};

}  // namespace

TEST_CASE("a progress bar reads label, 24 cells, step/total, stats, elapsed and eta", "[progress]") {
  REQUIRE(optim::Progress::render("run", 0, 10, "loss 1.0", 0.0) ==
          "run [>" + std::string(23, ' ') + "] 0/10 loss 1.0 | 0s, eta 0s");
  // 5 of 10: 12 cells done, eta = 4 s * 5 / 5
  REQUIRE(optim::Progress::render("seed 1 aw1", 5, 10, "d 0.69", 4.0) ==
          "seed 1 aw1 [" + std::string(12, '=') + ">" + std::string(11, ' ') + "] 5/10 d 0.69 | 4s, eta 4s");
  // 1 of 4: 6 cells, eta 3 s * 3 / 1; empty stats leave two spaces
  REQUIRE(optim::Progress::render("x", 1, 4, "", 3.0) == "x [" + std::string(6, '=') + ">" + std::string(17, ' ') +
                                                             "] 1/4  | 3s, eta 9s");
  // done: all 24 cells, no '>'
  REQUIRE(optim::Progress::render("x", 10, 10, "s", 12.4) == "x [" + std::string(24, '=') + "] 10/10 s | 12s, eta 0s");
}

TEST_CASE("update redraws in place, at most every min_interval, and always the last step", "[progress]") {
  Streams s;
  optim::Progress progress(true, 0, s.bar, s.lines, /*min_interval_s=*/3600);
  REQUIRE(progress.enabled());
  progress.update("run", 1, 4, "a", 1.0);  // the first draw is never held back
  progress.update("run", 2, 4, "b", 2.0);  // within the interval: skipped
  progress.update("run", 4, 4, "c", 4.0);  // the last step: drawn
  REQUIRE(contents(s.bar) == "\r\033[K" + optim::Progress::render("run", 1, 4, "a", 1.0) + "\r\033[K" +
                                 optim::Progress::render("run", 4, 4, "c", 4.0));
  REQUIRE(contents(s.lines).empty());
}

TEST_CASE("clear erases a drawn bar once; print clears it before its line", "[progress]") {
  Streams s;
  optim::Progress progress(true, 0, s.bar, s.lines, 0);
  progress.clear();  // nothing drawn: nothing to erase
  REQUIRE(contents(s.bar).empty());
  progress.update("run", 1, 2, "a", 1.0);
  progress.print("result {} of {}\n", 1, 2);
  progress.clear();  // already erased by print
  REQUIRE(contents(s.bar) == "\r\033[K" + optim::Progress::render("run", 1, 2, "a", 1.0) + "\r\033[K");
  REQUIRE(contents(s.lines) == "result 1 of 2\n");
}

TEST_CASE("a disabled bar prints a line every line_every steps and at the last, or nothing", "[progress]") {
  Streams s;
  optim::Progress progress(false, /*line_every=*/2, s.bar, s.lines, 0);
  REQUIRE_FALSE(progress.enabled());
  for (int64_t step = 1; step <= 5; ++step) progress.update("run", step, 5, "loss 0.5", 0.5 * double(step));
  progress.clear();
  progress.print("done\n");
  REQUIRE(contents(s.bar).empty());
  REQUIRE(contents(s.lines) == "step      2/5  loss 0.5  1.0s\n"
                               "step      4/5  loss 0.5  2.0s\n"
                               "step      5/5  loss 0.5  2.5s\n"
                               "done\n");

  Streams quiet;
  optim::Progress silent(false, 0, quiet.bar, quiet.lines, 0);
  silent.update("run", 5, 5, "loss 0.5", 1.0);
  REQUIRE(contents(quiet.bar).empty());
  REQUIRE(contents(quiet.lines).empty());
}
