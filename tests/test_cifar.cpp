// tests/test_cifar.cpp: the CIFAR-10 / CIFAR-100 readers (datasets/cifar.h).
// The real files cannot be downloaded here, so each test writes small files
// byte by byte in the published layout (label bytes, then R, G, B planes,
// each row-major) and checks every pixel and label that comes back against
// that layout, computed independently; every refusal is checked for the
// file's name and the byte it points at.
#include <filesystem>
#include <fstream>

#include "datasets/cifar.h"
#include "test_util.h"

using namespace nova;
using namespace nova::datasets;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

using Bytes = std::string;

// The pixel byte of record `k` (counted over the whole split), channel c,
// row r, column w: different factors for r and w, so a transposed read shows.
uint8_t pixel(int64_t k, int64_t c, int64_t r, int64_t w) {
  return uint8_t((k * 37 + c * 101 + r * 7 + w * 3) % 256);
}

// One record: the label bytes, then 3 planes of 32 rows of 32 bytes.
Bytes record(const std::vector<uint8_t>& labels, int64_t k) {
  Bytes out(labels.begin(), labels.end());
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t r = 0; r < 32; ++r)
      for (int64_t w = 0; w < 32; ++w) out.push_back(char(pixel(k, c, r, w)));
  return out;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  REQUIRE(f);
}

// The float the readers give pixel byte p, by the formula, in double.
float expected_value(uint8_t p, PixelRange range) {
  return range == PixelRange::MinusOneToOne ? float((2.0 * p - 255.0) / 255.0) : float(p / 255.0);
}

// CHECKs every pixel of `images` [n, 3, 32, 32] against pixel(k0 + i, ...).
void check_pixels(const Tensor& images, int64_t k0, PixelRange range) {
  REQUIRE(images.dtype() == kFloat32);
  const int64_t n = images.size(0);
  REQUIRE(images.shape() == Shape{n, 3, 32, 32});
  const float* x = images.data<float>();
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t r = 0; r < 32; ++r)
        for (int64_t w = 0; w < 32; ++w) {
          const float got = x[((i * 3 + c) * 32 + r) * 32 + w];
          const float want = expected_value(pixel(k0 + i, c, r, w), range);
          if (got != want && wrong++ < 5) {
            INFO("image " << i << " channel " << c << " row " << r << " col " << w);
            CHECK(got == want);
          }
        }
  CHECK(wrong == 0);
}

std::vector<int64_t> labels_of(const Tensor& t) {
  REQUIRE(t.dtype() == kInt64);
  return t.to_vector<int64_t>();
}

}  // namespace

TEST_CASE("CIFAR-10: the train split is data_batch_1..5 in order, each record label + R, G, B "
          "planes row-major", "[cifar]") {
  test::TempDir dir;
  // 2, 1, 3, 1, 2 records in the five batches; label of record k = 3k mod 10
  const std::vector<int64_t> counts = {2, 1, 3, 1, 2};
  int64_t k = 0;
  std::vector<int64_t> labels;
  for (size_t f = 0; f < counts.size(); ++f) {
    Bytes file;
    for (int64_t i = 0; i < counts[f]; ++i, ++k) {
      labels.push_back(3 * k % 10);
      file += record({uint8_t(3 * k % 10)}, k);
    }
    write_bytes(dir.file("data_batch_" + std::to_string(f + 1) + ".bin"), file);
  }
  write_bytes(dir.file("test_batch.bin"), record({9}, 100) + record({0}, 101));

  const ImageDataset train = read_cifar10(dir.path.string(), CifarSplit::Train);
  check_pixels(train.images, 0, PixelRange::MinusOneToOne);
  CHECK(labels_of(train.labels) == labels);
  // a few positions by hand: record 0's first R, G and B bytes (file bytes
  // 1, 1025, 2049) and record 4's R at row 1, col 2 (data_batch_3.bin, its
  // second record, byte 3073 + 1 + 32 + 2)
  const float* x = train.images.data<float>();
  CHECK(x[0] == float(2 * 0 - 255) / 255.0f);           // pixel(0, 0, 0, 0) = 0: -1
  CHECK(x[1024] == float(2 * 101 - 255) / 255.0f);      // G plane starts at float 1024
  CHECK(x[2048] == float(2 * 202 - 255) / 255.0f);
  CHECK(x[4 * 3072 + 32 + 2] == float(2 * ((4 * 37 + 7 + 6) % 256) - 255) / 255.0f);

  const ImageDataset test = read_cifar10(dir.path.string(), CifarSplit::Test);
  check_pixels(test.images, 100, PixelRange::MinusOneToOne);
  CHECK(labels_of(test.labels) == std::vector<int64_t>{9, 0});

  SECTION("[0, 1] on request; -1 and 1 exactly at the ends") {
    CifarOptions unit;
    unit.range = PixelRange::ZeroToOne;
    check_pixels(read_cifar10(dir.path.string(), CifarSplit::Train, unit).images, 0,
                 PixelRange::ZeroToOne);
    write_bytes(dir.file("ends.bin"), Bytes(1, '\x05') + Bytes(1536, '\0') + Bytes(1536, '\xff'));
    const Tensor ends = read_cifar10_files({dir.file("ends.bin")}).images;
    CHECK(ends.data<float>()[0] == -1.0f);
    CHECK(ends.data<float>()[3071] == 1.0f);
    CHECK(read_cifar10_files({dir.file("ends.bin")}, unit).images.data<float>()[3071] == 1.0f);
  }
  SECTION("any list of files, and the same bytes from memory") {
    const ImageDataset two = read_cifar10_files({dir.file("data_batch_3.bin"), dir.file("test_batch.bin")});
    REQUIRE(two.images.size(0) == 5);
    check_pixels(two.images.slice(0, 0, 3).contiguous(), 3, PixelRange::MinusOneToOne);
    check_pixels(two.images.slice(0, 3, 5).contiguous(), 100, PixelRange::MinusOneToOne);
    const Bytes bytes = record({7}, 0) + record({2}, 1);
    const ImageDataset mem = parse_cifar10(reinterpret_cast<const uint8_t*>(bytes.data()),
                                           bytes.size(), "mem");
    check_pixels(mem.images, 0, PixelRange::MinusOneToOne);
    CHECK(labels_of(mem.labels) == std::vector<int64_t>{7, 2});
  }
}

TEST_CASE("CIFAR-100: coarse then fine label byte; fine labels by default, coarse on request",
          "[cifar]") {
  test::TempDir dir;
  write_bytes(dir.file("train.bin"), record({19, 99}, 0) + record({0, 0}, 1) + record({7, 42}, 2));
  write_bytes(dir.file("test.bin"), record({3, 30}, 9));
  const ImageDataset fine = read_cifar100(dir.path.string(), CifarSplit::Train);
  check_pixels(fine.images, 0, PixelRange::MinusOneToOne);
  CHECK(labels_of(fine.labels) == std::vector<int64_t>{99, 0, 42});
  CifarOptions coarse;
  coarse.label = CifarLabel::Coarse;
  coarse.range = PixelRange::ZeroToOne;
  const ImageDataset c = read_cifar100(dir.path.string(), CifarSplit::Train, coarse);
  check_pixels(c.images, 0, PixelRange::ZeroToOne);
  CHECK(labels_of(c.labels) == std::vector<int64_t>{19, 0, 7});
  const ImageDataset test = read_cifar100(dir.path.string(), CifarSplit::Test);
  check_pixels(test.images, 9, PixelRange::MinusOneToOne);
  CHECK(labels_of(test.labels) == std::vector<int64_t>{30});
  CHECK(cifar100_file_names(CifarSplit::Train) == std::vector<std::string>{"train.bin"});
  CHECK(cifar10_file_names(CifarSplit::Train).size() == 5);
  CHECK(cifar10_file_names(CifarSplit::Test) == std::vector<std::string>{"test_batch.bin"});
}

TEST_CASE("CIFAR: damaged files are refused naming the file and the byte", "[cifar]") {
  test::TempDir dir;
  const std::string path = dir.file("bad.bin");
  auto refused10 = [&](const Bytes& bytes, const std::string& text) {
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(read_cifar10_files({path}), StartsWith("cifar10: " + path + ": ") && Contains(text));
  };
  auto refused100 = [&](const Bytes& bytes, const std::string& text) {
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(read_cifar100_files({path}), StartsWith("cifar100: " + path + ": ") && Contains(text));
  };
  const Bytes two = record({1}, 0) + record({2}, 1);  // 6146 bytes

  SECTION("a size that is not a whole number of records") {
    refused10(two + Bytes(100, 'x'),
              "6246 bytes is not a whole number of 3073-byte records: record 2 starts at byte 6146 "
              "and has only 100 bytes");
    refused10(two.substr(0, 3000),
              "3000 bytes is not a whole number of 3073-byte records: record 0 starts at byte 0 "
              "and has only 3000 bytes");
    // a CIFAR-10 file is not CIFAR-100's: 2 x 3073 = 6146 = 1 x 3074 + 3072
    refused100(two, "6146 bytes is not a whole number of 3074-byte records: record 1 starts at "
                    "byte 3074 and has only 3072 bytes");
  }
  SECTION("an empty file") {
    refused10("", "the file is empty; expected 3073-byte records (1 label byte + 3072 pixel bytes)");
    refused100("", "expected 3074-byte records (2 label bytes + 3072 pixel bytes)");
  }
  SECTION("a label out of range, with its record and byte") {
    refused10(record({1}, 0) + record({10}, 1), "record 1: label 10 at byte 3073 is out of range 0-9");
    refused10(record({255}, 0), "record 0: label 255 at byte 0 is out of range 0-9");
    // CIFAR-100: both bytes are checked, whichever label is kept
    refused100(record({1, 1}, 0) + record({1, 1}, 1) + record({20, 5}, 2),
               "record 2: coarse label 20 at byte 6148 is out of range 0-19");
    refused100(record({1, 100}, 0), "record 0: fine label 100 at byte 1 is out of range 0-99");
    CifarOptions coarse;
    coarse.label = CifarLabel::Coarse;
    write_bytes(path, record({1, 100}, 0));
    CHECK_THROWS_WITH(read_cifar100_files({path}, coarse), Contains("fine label 100 at byte 1"));
  }
  SECTION("a bad record in a later chunk names its own offset") {
    // 1500 records: the reader decodes 1024 at a time; record 1400 is in the second chunk
    Bytes many;
    for (int64_t k = 0; k < 1500; ++k) many += record({uint8_t(k == 1400 ? 11 : 1)}, k);
    refused10(many, "record 1400: label 11 at byte " + std::to_string(1400 * 3073) +
                        " is out of range 0-9");
  }
  SECTION("the second file of a list is named when it is the bad one") {
    write_bytes(dir.file("good.bin"), two);
    write_bytes(path, two + "x");
    CHECK_THROWS_WITH(read_cifar10_files({dir.file("good.bin"), path}),
                      StartsWith("cifar10: " + path + ": 6147 bytes"));
  }
  SECTION("a missing file names it and lists what the split reads") {
    write_bytes(dir.file("data_batch_1.bin"), two);
    write_bytes(dir.file("data_batch_2.bin"), two);
    const std::string d = dir.path.string();
    CHECK_THROWS_WITH(
        read_cifar10(d, CifarSplit::Train),
        StartsWith("cifar10: " + dir.file("data_batch_3.bin") + ": no such file") &&
            Contains("missing in " + d + ": data_batch_3.bin, data_batch_4.bin, data_batch_5.bin") &&
            Contains("the train split reads data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, "
                     "data_batch_4.bin, data_batch_5.bin from one folder, the cifar-10-batches-bin/ "
                     "that cifar-10-binary.tar.gz unpacks to"));
    CHECK_THROWS_WITH(read_cifar10(d, CifarSplit::Test),
                      StartsWith("cifar10: " + dir.file("test_batch.bin") + ": no such file") &&
                          Contains("the test split reads test_batch.bin"));
    CHECK_THROWS_WITH(read_cifar100(d, CifarSplit::Train),
                      StartsWith("cifar100: " + dir.file("train.bin") + ": no such file") &&
                          Contains("the cifar-100-binary/ that cifar-100-binary.tar.gz unpacks to"));
    CHECK_THROWS_WITH(read_cifar10_files({dir.file("none.bin")}),
                      StartsWith("cifar10: " + dir.file("none.bin") + ": cannot open"));
  }
  SECTION("a folder where a file should be") {
    fs::create_directory(dir.file("sub.bin"));
    CHECK_THROWS_WITH(read_cifar10_files({dir.file("sub.bin")}),
                      StartsWith("cifar10: " + dir.file("sub.bin") + ": cannot open: not a regular file"));
  }
  SECTION("from memory, the name given stands for the file") {
    const Bytes bytes = record({12}, 0);
    CHECK_THROWS_WITH(parse_cifar10(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "blob"),
                      StartsWith("cifar10: blob: record 0: label 12 at byte 0"));
  }
}

TEST_CASE("the CIFAR fuzz seed corpus reads as its file names say", "[cifar][fuzz]") {
  // tests/fuzz/corpus/cifar: ok-10-* / ok-100-* read as CIFAR-10 / CIFAR-100,
  // bad-10-* / bad-100-* are refused naming the file; any other file (an
  // input a fuzzer once crashed on) may go either way, but only ever with
  // nova::Error, under both readers
  int files = 0;
  for (const auto& item : fs::directory_iterator(fs::path(NOVA_FUZZ_CORPUS_DIR) / "cifar")) {
    const std::string path = item.path().string(), name = item.path().filename().string();
    INFO(name);
    ++files;
    const bool hundred = name.find("-100-") != std::string::npos;
    auto read = [&] { return hundred ? read_cifar100_files({path}) : read_cifar10_files({path}); };
    const std::string prefix = std::string(hundred ? "cifar100: " : "cifar10: ") + path + ": ";
    if (name.rfind("ok-", 0) == 0) {
      CHECK_NOTHROW(read());
    } else if (name.rfind("bad-", 0) == 0) {
      CHECK_THROWS_WITH(read(), StartsWith(prefix));
    } else {
      for (bool as100 : {false, true}) {
        try {
          as100 ? read_cifar100_files({path}) : read_cifar10_files({path});
        } catch (const nova::Error& e) {
          CHECK_THAT(e.what(), Contains(path));
        }
      }
    }
  }
  CHECK(files >= 8);
}
