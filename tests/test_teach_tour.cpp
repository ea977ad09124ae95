// tests/test_teach_tour.cpp: the teaching pages stay true.
// examples/teach/tour.md: every file its **Where** lines name exists and
// holds every symbol named after it, and every op-trace line it shows is a
// line the main example really prints (NOVA_DEBUG=1, aw1, batch 4).
// examples/teach/add-an-op.md: every file it names exists.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/test_util.h"

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p);
  REQUIRE(f.good());
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> backticked(const std::string& text) {
  std::vector<std::string> out;
  const std::regex tick("`([^`]+)`");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), tick); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos && s.find(' ') == std::string::npos &&
         std::regex_search(s, std::regex("\\.(h|cpp|cu|cuh|md|def|txt)$"));
}

/// text without its fenced code blocks (their ``` lines would pair with the
/// inline backticks).
std::string prose_of(const std::string& text) {
  std::istringstream lines(text);
  std::string out;
  bool fenced = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("```", 0) == 0 || line.rfind("   ```", 0) == 0) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out += line + "\n";
  }
  return out;
}

const std::filesystem::path kRoot = NOVA_SOURCE_DIR;

}  // namespace

TEST_CASE("the tour's Where lines name files and symbols that exist", "[teach]") {
  const std::string tour = read_all(kRoot / "examples/teach/tour.md");
  std::istringstream lines(tour);
  int stops = 0, symbols = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("**Where:**", 0) != 0) continue;
    ++stops;
    std::istringstream groups(line.substr(10));
    for (std::string group; std::getline(groups, group, ';');) {
      const std::vector<std::string> ticks = backticked(group);
      REQUIRE(!ticks.empty());
      INFO("tour stop " << stops << ": " << group);
      REQUIRE(looks_like_path(ticks[0]));
      REQUIRE(std::filesystem::exists(kRoot / ticks[0]));
      const std::string text = read_all(kRoot / ticks[0]);
      for (size_t k = 1; k < ticks.size(); ++k) {
        INFO("symbol " << ticks[k]);
        CHECK(text.find(ticks[k]) != std::string::npos);
        ++symbols;
      }
    }
  }
  CHECK(stops >= 10);
  CHECK(symbols >= 25);
}

TEST_CASE("add-an-op names files that exist", "[teach]") {
  const std::string page = prose_of(read_all(kRoot / "examples/teach/add-an-op.md"));
  int files = 0;
  for (const std::string& t : backticked(page)) {
    if (!looks_like_path(t) || t.rfind("../", 0) == 0 || t.find('<') != std::string::npos) continue;
    INFO(t);
    CHECK(std::filesystem::exists(kRoot / t));
    ++files;
  }
  CHECK(files >= 15);
}

#ifdef NOVA_GAN_EXAMPLE_PATH

TEST_CASE("the tour's op-trace lines are what the main example prints", "[teach]") {
  const std::string tour = read_all(kRoot / "examples/teach/tour.md");
  const nova::test::CommandResult r = nova::test::run_command(
      std::string("NOVA_DEBUG=1 ") + NOVA_GAN_EXAMPLE_PATH + " --threads 1 --weighting aw1 --steps 1 --batch 4");
  REQUIRE(r.status == 0);
  std::set<std::string> printed;
  std::istringstream out(r.output);
  for (std::string line; std::getline(out, line);) printed.insert(line);
  std::istringstream lines(tour);
  int shown = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("[nova]", 0) != 0) continue;
    INFO(line);
    CHECK(printed.count(line) == 1);
    ++shown;
  }
  CHECK(shown >= 10);
}

#endif
