// tests/test_interaction_files.cpp: the MovieLens-1M and Gowalla readers
// (datasets/interaction_files.h). Fixture files are written here in the
// exact formats (lines copied from the real files' first lines); every
// refusal is checked for the file's name, the line and the byte it points
// at. Expected times were computed with Python's calendar.timegm.
#include <fstream>

#include "datasets/interaction_files.h"
#include "test_util.h"

using namespace nova;
using namespace nova::datasets;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

std::vector<Interaction> movielens(const std::string& text, const std::string& name = "mem") {
  return parse_movielens_ratings(reinterpret_cast<const uint8_t*>(text.data()), text.size(), name);
}

std::vector<Interaction> gowalla(const std::string& text, const std::string& name = "mem") {
  return parse_gowalla_checkins(reinterpret_cast<const uint8_t*>(text.data()), text.size(), name);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  REQUIRE(f);
}

const std::string kGowallaLine = "0\t2010-10-19T23:55:27Z\t30.2359091167\t-97.7951395833\t22847\n";

}  // namespace

TEST_CASE("MovieLens ratings.dat lines read as (user, movie, time) in file order, ratings dropped",
          "[interaction_files]") {
  const std::string text = "1::1193::5::978300760\n1::661::3::978302109\n6040::1097::4::956715569\n";
  const std::vector<Interaction> want = {{1, 1193, 978300760}, {1, 661, 978302109}, {6040, 1097, 956715569}};
  CHECK(movielens(text) == want);
  // the same with Windows line ends, and without the final newline
  CHECK(movielens("1::1193::5::978300760\r\n1::661::3::978302109\r\n6040::1097::4::956715569\r\n") == want);
  CHECK(movielens(text.substr(0, text.size() - 1)) == want);

  test::TempDir dir;
  const std::string path = dir.file("ratings.dat");
  write_text(path, text);
  CHECK(read_movielens_ratings(path) == want);
}

TEST_CASE("Gowalla check-ins read with their UTC times as seconds since 1970", "[interaction_files]") {
  const std::string text = kGowallaLine +
                           "0\t2010-10-18T22:17:43Z\t30.2691029532\t-97.7493953705\t420315\n"
                           "7\t2012-02-29T00:00:00Z\t0\t-0.5\t9\n"
                           "8\t1970-01-01T00:00:00Z\t-90.0\t180\t0\n"
                           "196585\t2000-03-01T12:00:01Z\t1.5\t2\t5977757";
  const std::vector<Interaction> want = {{0, 22847, 1287532527},
                                         {0, 420315, 1287440263},
                                         {7, 9, 1330473600},
                                         {8, 0, 0},
                                         {196585, 5977757, 951912001}};
  CHECK(gowalla(text) == want);

  test::TempDir dir;
  const std::string path = dir.file("loc-gowalla_totalCheckins.txt");
  write_text(path, text);
  CHECK(read_gowalla_checkins(path) == want);
}

TEST_CASE("a malformed MovieLens line is refused with the file, line and byte", "[interaction_files]") {
  const std::string good = "1::1193::5::978300760\n";  // 22 bytes: line 2 starts at byte 22
  struct Case {
    std::string text;
    std::string message;  // after "movielens: <path>: "
  };
  const std::vector<Case> cases = {
      {good + "1::661::3\n", "line 2 (byte 22): expected 4 fields separated by '::' "
                             "(UserID::MovieID::Rating::Timestamp), got 3"},
      {good + "1::661::3::978302109::7\n", "line 2 (byte 22): expected 4 fields separated by '::' "
                                           "(UserID::MovieID::Rating::Timestamp), got 5"},
      {good + "1:661:3:978302109\n", "line 2 (byte 22): expected 4 fields separated by '::' "
                                     "(UserID::MovieID::Rating::Timestamp), got 1"},
      {good + "1::66x1::3::978302109\n", "line 2 (byte 27): MovieID \"66x1\" is not an unsigned decimal integer"},
      {good + "-1::661::3::978302109\n", "line 2 (byte 22): UserID \"-1\" is not an unsigned decimal integer"},
      {good + "1::661:: 3::978302109\n", "line 2 (byte 30): Rating \" 3\" is not an unsigned decimal integer"},
      {good + "1::661::6::978302109\n", "line 2 (byte 30): Rating 6 is outside 1..5"},
      {good + "1::661::0::978302109\n", "line 2 (byte 30): Rating 0 is outside 1..5"},
      {good + "1::::3::978302109\n", "line 2 (byte 25): MovieID is empty, expected an unsigned decimal integer"},
      {good + "1::661::3::99999999999999999999\n",
       "line 2 (byte 33): Timestamp \"99999999999999999999\" does not fit a 64-bit integer"},
      {good + "\n" + good, "line 2 (byte 22): empty line, expected UserID::MovieID::Rating::Timestamp"},
      {"", "no ratings: the input is empty"},
  };
  test::TempDir dir;
  const std::string path = dir.file("ratings.dat");
  for (const Case& c : cases) {
    INFO(c.text);
    write_text(path, c.text);
    CHECK_THROWS_WITH(read_movielens_ratings(path), Equals("movielens: " + path + ": " + c.message));
    CHECK_THROWS_WITH(movielens(c.text, "mem"), Equals("movielens: mem: " + c.message));
  }
}

TEST_CASE("a malformed Gowalla line is refused with the file, line and byte", "[interaction_files]") {
  const size_t next = kGowallaLine.size();  // line 2 starts here
  auto at = [&](size_t byte) { return "line 2 (byte " + std::to_string(next + byte) + "): "; };
  struct Case {
    std::string line2;
    std::string message;  // after "gowalla: <path>: "
  };
  const std::string form = "; expected YYYY-MM-DDTHH:MM:SSZ";
  const std::vector<Case> cases = {
      {"0\t2010-10-19T23:55:27Z\t30.2\t-97.7\n",
       at(0) + "expected 5 fields separated by tabs (user, check-in time, latitude, longitude, location id), got 4"},
      {"0 2010-10-19T23:55:27Z 30.2 -97.7 22847\n",
       at(0) + "expected 5 fields separated by tabs (user, check-in time, latitude, longitude, location id), got 1"},
      {"u0\t2010-10-19T23:55:27Z\t30.2\t-97.7\t22847\n", at(0) + "user \"u0\" is not an unsigned decimal integer"},
      {"0\t2010-13-19T23:55:27Z\t30.2\t-97.7\t22847\n",
       at(7) + "check-in time \"2010-13-19T23:55:27Z\" has a month outside 01..12" + form},
      {"0\t2011-02-29T23:55:27Z\t30.2\t-97.7\t22847\n",
       at(10) + "check-in time \"2011-02-29T23:55:27Z\" has a day that month does not have" + form},
      {"0\t2010-10-19T24:00:00Z\t30.2\t-97.7\t22847\n",
       at(13) + "check-in time \"2010-10-19T24:00:00Z\" has an hour outside 00..23" + form},
      {"0\t2010-10-19T23:55:60Z\t30.2\t-97.7\t22847\n",
       at(19) + "check-in time \"2010-10-19T23:55:60Z\" has a second outside 00..59" + form},
      {"0\t2010-10-19 23:55:27Z\t30.2\t-97.7\t22847\n",
       at(12) + "check-in time \"2010-10-19 23:55:27Z\" has a wrong separator" + form},
      {"0\t2010-10-19T23:55:27\t30.2\t-97.7\t22847\n",
       at(2) + "check-in time \"2010-10-19T23:55:27\" is too short" + form},
      {"0\t2010-1O-19T23:55:27Z\t30.2\t-97.7\t22847\n",
       at(8) + "check-in time \"2010-1O-19T23:55:27Z\" has a non-digit where a digit belongs" + form},
      {"0\t2010-10-19T23:55:27Z\t3o.2\t-97.7\t22847\n",
       at(24) + "latitude \"3o.2\" is not a decimal number ([-]digits[.digits])"},
      {"0\t2010-10-19T23:55:27Z\t30.2\t-97.\t22847\n",
       at(28) + "longitude \"-97.\" is not a decimal number ([-]digits[.digits])"},
      {"0\t2010-10-19T23:55:27Z\t30.2\t-97.7\t\n", at(34) + "location id is empty, expected an unsigned decimal integer"},
      {"\n", at(0) + "empty line, expected user, check-in time, latitude, longitude and location id separated by tabs"},
  };
  test::TempDir dir;
  const std::string path = dir.file("checkins.txt");
  for (const Case& c : cases) {
    INFO(c.line2);
    write_text(path, kGowallaLine + c.line2);
    CHECK_THROWS_WITH(read_gowalla_checkins(path), Equals("gowalla: " + path + ": " + c.message));
  }
  CHECK_THROWS_WITH(gowalla(""), Equals("gowalla: mem: no check-ins: the input is empty"));
}

TEST_CASE("binary garbage is refused with its bytes escaped and cut short", "[interaction_files]") {
  std::string junk = "\x01\xff\"\\";
  junk += std::string(40, 'a');
  CHECK_THROWS_WITH(movielens(junk + "::1::1::1"),
                    Equals("movielens: mem: line 1 (byte 0): UserID \"\\x01\\xff\\x22\\x5c" + std::string(28, 'a') +
                           "\"... is not an unsigned decimal integer"));
}

TEST_CASE("a missing interactions file is named in the refusal", "[interaction_files]") {
  test::TempDir dir;
  const std::string path = dir.file("absent.dat");
  CHECK_THROWS_WITH(read_movielens_ratings(path), StartsWith("movielens: " + path + ": cannot open"));
  CHECK_THROWS_WITH(read_gowalla_checkins(path), StartsWith("gowalla: " + path + ": cannot open"));
}

TEST_CASE("the fuzzer's interaction seed files read or are refused as their names say", "[interaction_files]") {
  // tests/fuzz/make_corpus.py: byte 0 picks the reader ('G' Gowalla, anything
  // else MovieLens), the rest is the file
  int files = 0;
  for (const auto& item : fs::directory_iterator(fs::path(NOVA_FUZZ_CORPUS_DIR) / "interactions")) {
    const std::string path = item.path().string(), name = item.path().filename().string();
    INFO(name);
    std::ifstream f(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), {});
    REQUIRE(!bytes.empty());
    ++files;
    const bool is_gowalla = bytes[0] == 'G';
    const std::string body = bytes.substr(1);
    auto read = [&] { return is_gowalla ? gowalla(body, name) : movielens(body, name); };
    const std::string prefix = std::string(is_gowalla ? "gowalla: " : "movielens: ") + name + ": ";
    if (name.rfind("ok-", 0) == 0)
      CHECK(!read().empty());
    else if (name.rfind("bad-", 0) == 0)
      CHECK_THROWS_WITH(read(), StartsWith(prefix));
  }
  CHECK(files >= 10);
}
