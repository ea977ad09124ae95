// tests/fuzz/fuzz_stl10.cpp: libFuzzer harness for the STL-10 reader,
// datasets::parse_stl10_images and parse_stl10_labels (the file readers
// less the open and read calls). Every input goes through both, at 96 and
// 48 pixels, in both ranges, with no limit and a limit of 1. Right answers:
// refused with nova::Error whose message names the file ("stl10: input:
// ..."), or read, with tensors that keep the format's promises (whole
// 27648-byte images making up the input, as many as the limit allows;
// labels 0-9; pixels in the range asked for). Anything else aborts, and
// libFuzzer keeps the input. tools/fuzz.sh gives this harness inputs up to
// 64 KiB, so that two whole images fit.
//   tools/fuzz.sh smoke   (or: build-fuzz/tests/fuzz/fuzz_stl10 CORPUS_COPY)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/base/error.h"
#include "datasets/stl10.h"

namespace {

using nova::Tensor;
using nova::datasets::PixelRange;
using nova::datasets::Stl10Options;

const std::string kName = "input";

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "fuzz_stl10: BUG: %s\n", what.c_str());
  std::abort();
}

int64_t limited(int64_t n, int64_t limit) { return limit < 0 ? n : std::min(n, limit); }

void check_images(const Tensor& t, size_t size, const Stl10Options& o) {
  const size_t image = nova::datasets::kStl10ImageBytes;
  if (size == 0 || size % image != 0) bug("images accepted from a size that is not whole images");
  const int64_t n = limited(int64_t(size / image), o.limit);
  if (t.dim() != 4 || t.size(0) != n || t.size(1) != 3 || t.size(2) != o.size || t.size(3) != o.size)
    bug("images of shape " + t.shape().str());
  const float lo = o.range == PixelRange::MinusOneToOne ? -1.0f : 0.0f;
  const float* x = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!(x[i] >= lo && x[i] <= 1.0f)) bug("pixel value " + std::to_string(x[i]));
}

void check_labels(const Tensor& t, size_t size, int64_t limit) {
  if (size == 0) bug("labels accepted from an empty input");
  if (t.dim() != 1 || t.size(0) != limited(int64_t(size), limit)) bug("labels of shape " + t.shape().str());
  const int64_t* y = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (y[i] < 0 || y[i] > 9) bug("label " + std::to_string(y[i]));
}

// Runs `read`, which checks what it read, and holds a refusal to naming the file.
template <typename Read>
void run(Read read) {
  try {
    read();
  } catch (const nova::Error& e) {
    if (std::string(e.what()).rfind("stl10: " + kName + ": ", 0) != 0)
      bug(std::string("a refusal that does not name the file: ") + e.what());
  } catch (const std::exception& e) {
    bug(std::string("an exception other than nova::Error: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nova::datasets;
  for (int64_t limit : {int64_t{-1}, int64_t{1}}) {
    for (int64_t side : {96, 48}) {
      for (PixelRange range : {PixelRange::MinusOneToOne, PixelRange::ZeroToOne}) {
        Stl10Options o;
        o.size = side;
        o.limit = limit;
        o.range = range;
        run([&] { check_images(parse_stl10_images(data, size, kName, o), size, o); });
      }
    }
    run([&] { check_labels(parse_stl10_labels(data, size, kName, limit), size, limit); });
  }
  return 0;
}
