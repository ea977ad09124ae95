// tests/fuzz/fuzz_cifar.cpp: libFuzzer harness for the CIFAR readers,
// datasets::parse_cifar10 and parse_cifar100 (read_cifar10_files less the
// open and read calls). Every input goes through both, with both pixel
// ranges and both CIFAR-100 labels. Right answers: refused with nova::Error
// whose message names the file ("cifar10: input: ..."), or read, with
// tensors that keep the format's promises (n whole records making up the
// input, labels in range, pixels in the range asked for). Anything else
// aborts, and libFuzzer keeps the input: another exception, a crash, a
// sanitizer report, a leak, a hang, or one allocation past the cap
// tools/fuzz.sh sets.
//   tools/fuzz.sh smoke   (or: build-fuzz/tests/fuzz/fuzz_cifar CORPUS_COPY)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/base/error.h"
#include "datasets/cifar.h"

namespace {

using nova::datasets::CifarLabel;
using nova::datasets::CifarOptions;
using nova::datasets::ImageDataset;
using nova::datasets::PixelRange;

const std::string kName = "input";

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "fuzz_cifar: BUG: %s\n", what.c_str());
  std::abort();
}

// What an accepted file promises its reader.
void check_read(const ImageDataset& d, size_t size, size_t record, int64_t classes,
                PixelRange range) {
  const int64_t n = d.images.size(0);
  if (n < 1 || size_t(n) * record != size) bug("a record count that does not make up the input");
  if (d.images.dim() != 4 || d.images.size(1) != 3 || d.images.size(2) != 32 || d.images.size(3) != 32)
    bug("images of shape " + d.images.shape().str());
  if (d.labels.dim() != 1 || d.labels.size(0) != n) bug("labels of shape " + d.labels.shape().str());
  const int64_t* labels = d.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= classes) bug("label " + std::to_string(labels[i]));
  const float lo = range == PixelRange::MinusOneToOne ? -1.0f : 0.0f;
  const float* x = d.images.data<float>();
  for (int64_t i = 0; i < d.images.numel(); ++i)
    if (!(x[i] >= lo && x[i] <= 1.0f)) bug("pixel value " + std::to_string(x[i]));
}

// Runs `parse` and holds its answer to the rules above.
template <typename Parse>
void run(Parse parse, const char* reader, size_t size, size_t record, int64_t classes,
         PixelRange range) {
  try {
    check_read(parse(), size, record, classes, range);
  } catch (const nova::Error& e) {
    // refused: the right answer to a malformed file, if it says which file
    if (std::string(e.what()).rfind(std::string(reader) + ": " + kName + ": ", 0) != 0)
      bug(std::string("a refusal that does not name the file: ") + e.what());
  } catch (const std::exception& e) {
    bug(std::string("an exception other than nova::Error: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nova::datasets;
  for (PixelRange range : {PixelRange::MinusOneToOne, PixelRange::ZeroToOne}) {
    CifarOptions options;
    options.range = range;
    run([&] { return parse_cifar10(data, size, kName, options); }, "cifar10", size,
        kCifar10RecordBytes, 10, range);
    for (CifarLabel label : {CifarLabel::Fine, CifarLabel::Coarse}) {
      options.label = label;
      run([&] { return parse_cifar100(data, size, kName, options); }, "cifar100", size,
          kCifar100RecordBytes, label == CifarLabel::Fine ? 100 : 20, range);
    }
  }
  return 0;
}
