// tests/fuzz/fuzz_idx.cpp: libFuzzer harness for the IDX reader,
// datasets::parse_idx (read_idx less the open and read calls), plain and
// gzip-compressed input alike. Right answers: refused with nova::Error whose
// message names the file ("idx: input: ..."), or read, with a tensor that
// keeps the header's promises (1 to 8 dims, no more elements than the input
// could hold). Anything else aborts, and libFuzzer keeps the input: another
// exception, a crash, a sanitizer report, a leak, a hang, or one allocation
// past the cap tools/fuzz.sh sets (an inflated stream must stop at what its
// header claims).
//   tools/fuzz.sh smoke   (or: build-fuzz/tests/fuzz/fuzz_idx CORPUS_COPY)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/base/error.h"
#include "datasets/idx.h"

namespace {

const std::string kName = "input";

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "fuzz_idx: BUG: %s\n", what.c_str());
  std::abort();
}

// What an accepted file promises its reader. A plain file holds at least
// one byte per element; deflate inflates at most 1032 bytes per byte.
void check_read(const nova::Tensor& t, size_t size, bool gzip) {
  if (t.dim() < 1 || t.dim() > 8) bug("a tensor of " + std::to_string(t.dim()) + " dims");
  const double most = gzip ? 1032.0 * double(size) : double(size);
  if (double(t.numel()) > most) bug("more elements than the input can hold");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    check_read(nova::datasets::parse_idx(data, size, kName), size, gzip);
  } catch (const nova::Error& e) {
    // refused: the right answer to a malformed file, if it says which file
    if (std::string(e.what()).rfind("idx: " + kName + ": ", 0) != 0)
      bug(std::string("a refusal that does not name the file: ") + e.what());
  } catch (const std::exception& e) {
    bug(std::string("an exception other than nova::Error: ") + e.what());
  }
  return 0;
}
