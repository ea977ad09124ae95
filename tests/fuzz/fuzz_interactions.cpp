// tests/fuzz/fuzz_interactions.cpp: libFuzzer harness for the two
// interaction readers, datasets::parse_movielens_ratings and
// parse_gowalla_checkins (read_* less the open and read calls). Byte 0
// picks the reader ('G' Gowalla, anything else MovieLens); the rest of the
// input is the file. Right answers: refused with nova::Error whose message
// names the reader and the file ("movielens: input: ..."), or read, with no
// more records than the input has lines and every id >= 0. Anything else
// aborts, and libFuzzer keeps the input: another exception, a crash, a
// sanitizer report, a leak, a hang, or one allocation past the cap
// tools/fuzz.sh sets (a reader holds one record per line, so its memory
// stays a small multiple of the input).
//   tools/fuzz.sh smoke   (or: build-fuzz/tests/fuzz/fuzz_interactions CORPUS_COPY)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "datasets/interaction_files.h"

namespace {

const std::string kName = "input";

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "fuzz_interactions: BUG: %s\n", what.c_str());
  std::abort();
}

// What an accepted file promises: a record per line at most, ids as the
// file spelled them (unsigned decimal, so never negative).
void check_read(const std::vector<nova::datasets::Interaction>& records, const uint8_t* data, size_t size) {
  const size_t lines = static_cast<size_t>(std::count(data, data + size, '\n')) + 1;
  if (records.empty()) bug("an accepted file with no records");
  if (records.size() > lines) bug("more records than lines");
  for (const auto& r : records)
    if (r.user < 0 || r.item < 0) bug("a negative id");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool gowalla = data[0] == 'G';
  const std::string prefix = std::string(gowalla ? "gowalla: " : "movielens: ") + kName + ": ";
  try {
    check_read(gowalla ? nova::datasets::parse_gowalla_checkins(data + 1, size - 1, kName)
                       : nova::datasets::parse_movielens_ratings(data + 1, size - 1, kName),
               data + 1, size - 1);
  } catch (const nova::Error& e) {
    // refused: the right answer to a malformed file, if it says which file
    if (std::string(e.what()).rfind(prefix, 0) != 0)
      bug(std::string("a refusal that does not name the file: ") + e.what());
  } catch (const std::exception& e) {
    bug(std::string("an exception other than nova::Error: ") + e.what());
  }
  return 0;
}
