// tests/fuzz/fuzz_safetensors.cpp: libFuzzer harness for the safetensors
// reader, safetensors::parse (read_file less the open and read calls).
// Each input is a would-be file. Right answers: refused with nova::Error
// whose message names the file ("safetensors: input: ..."), or read, with
// entries that keep the header's promises (bytes == numel * dtype size, all
// inside the input). Anything else aborts, and libFuzzer keeps the input:
// another exception, a crash, a sanitizer report, a leak, a hang, or one
// allocation past the cap tools/fuzz.sh sets.
//   tools/fuzz.sh smoke   (or: build-fuzz/tests/fuzz/fuzz_safetensors CORPUS_COPY)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/base/error.h"
#include "core/safetensors.h"

namespace {

const std::string kName = "input";

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "fuzz_safetensors: BUG: %s\n", what.c_str());
  std::abort();
}

// What an accepted file promises its reader.
void check_read(const nova::safetensors::Entries& entries, size_t size) {
  size_t total = 0;
  for (const auto& [name, entry] : entries) {
    uint64_t count = 1;
    for (int64_t d : entry.shape)
      if (d < 0 || __builtin_mul_overflow(count, static_cast<uint64_t>(d), &count))
        bug("tensor '" + name + "': a negative or overflowing shape was accepted");
    if (entry.bytes.size() != count * nova::safetensors::dtype_size(entry.dtype))
      bug("tensor '" + name + "': byte count does not match dtype and shape");
    total += entry.bytes.size();
  }
  if (total > size) bug("more tensor bytes than input bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    nova::safetensors::Metadata metadata;
    check_read(nova::safetensors::parse(data, size, kName, &metadata), size);
  } catch (const nova::Error& e) {
    // refused: the right answer to a malformed file, if it says which file
    if (std::string(e.what()).rfind("safetensors: " + kName + ": ", 0) != 0)
      bug(std::string("a refusal that does not name the file: ") + e.what());
  } catch (const std::exception& e) {
    bug(std::string("an exception other than nova::Error: ") + e.what());
  }
  return 0;
}
