// tests/test_stl10.cpp: the STL-10 reader (datasets/stl10.h). Small _X and
// _y files are written here in the published layout (each image 3 channels,
// each channel 96x96 column-major; labels 1-10), and what comes back is
// checked pixel by pixel against that layout, at 96x96 and as 2x2 means at
// 48x48, computed independently in double. The 2.7 GB unlabelled file is
// stood in for by a sparse file of the same size, read with a limit.
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "datasets/stl10.h"
#include "test_util.h"

using namespace nova;
using namespace nova::datasets;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

using Bytes = std::string;

// Image k's byte for channel c at (row, col); row and col weigh differently,
// so a transposed read shows.
uint8_t pixel(int64_t k, int64_t c, int64_t row, int64_t col) {
  return uint8_t((k * 31 + c * 67 + row * 5 + col * 11) % 256);
}

// One image as STL-10 stores it: channel by channel, each column by column.
Bytes image(int64_t k) {
  Bytes out;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t col = 0; col < 96; ++col)
      for (int64_t row = 0; row < 96; ++row) out.push_back(char(pixel(k, c, row, col)));
  return out;
}

Bytes images(int64_t first, int64_t n) {
  Bytes out;
  for (int64_t k = first; k < first + n; ++k) out += image(k);
  return out;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  REQUIRE(f);
}

// The expected float of image k, channel c, output pixel (y, x) at `size`.
float expected(int64_t k, int64_t c, int64_t y, int64_t x, int64_t size, PixelRange range) {
  double p;  // the byte value, or the mean of the 2x2 block at 48
  if (size == 96) {
    p = pixel(k, c, y, x);
  } else {
    p = (double(pixel(k, c, 2 * y, 2 * x)) + pixel(k, c, 2 * y + 1, 2 * x) +
         pixel(k, c, 2 * y, 2 * x + 1) + pixel(k, c, 2 * y + 1, 2 * x + 1)) / 4.0;
  }
  return range == PixelRange::MinusOneToOne ? float((2.0 * p - 255.0) / 255.0) : float(p / 255.0);
}

// CHECKs every value of `t` [n, 3, size, size] against image k0 + i.
void check_images(const Tensor& t, int64_t k0, int64_t size, PixelRange range) {
  REQUIRE(t.dtype() == kFloat32);
  const int64_t n = t.size(0);
  REQUIRE(t.shape() == Shape{n, 3, size, size});
  const float* v = t.data<float>();
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < size; ++y)
        for (int64_t x = 0; x < size; ++x) {
          const float got = v[((i * 3 + c) * size + y) * size + x];
          const float want = expected(k0 + i, c, y, x, size, range);
          if (got != want && wrong++ < 5) {
            INFO("image " << i << " channel " << c << " row " << y << " col " << x);
            CHECK(got == want);
          }
        }
  CHECK(wrong == 0);
}

std::vector<int64_t> labels_of(const Tensor& t) {
  REQUIRE(t.dtype() == kInt64);
  return t.to_vector<int64_t>();
}

Stl10Options options(int64_t size, int64_t limit = -1, PixelRange range = PixelRange::MinusOneToOne) {
  Stl10Options o;
  o.size = size;
  o.limit = limit;
  o.range = range;
  return o;
}

}  // namespace

TEST_CASE("STL-10: column-major channels come back as row-major [n, 3, 96, 96], labels 1-10 as 0-9",
          "[stl10]") {
  test::TempDir dir;
  write_bytes(dir.file("train_X.bin"), images(0, 3));
  write_bytes(dir.file("train_y.bin"), Bytes{1, 10, 4});
  write_bytes(dir.file("test_X.bin"), images(7, 2));
  write_bytes(dir.file("test_y.bin"), Bytes{2, 2});
  const ImageDataset train = read_stl10(dir.path.string(), Stl10Split::Train);
  check_images(train.images, 0, 96, PixelRange::MinusOneToOne);
  CHECK(labels_of(train.labels) == std::vector<int64_t>{0, 9, 3});
  // by hand: image 1, channel 2 (B), row 3, col 70 is stored at byte
  // 27648 + 2 * 9216 + 70 * 96 + 3 of the file
  const Bytes raw = images(0, 3);
  const uint8_t stored = uint8_t(raw[27648 + 2 * 9216 + 70 * 96 + 3]);
  CHECK(stored == pixel(1, 2, 3, 70));
  CHECK(train.images.data<float>()[((1 * 3 + 2) * 96 + 3) * 96 + 70] == float(2 * stored - 255) / 255.0f);

  const ImageDataset test = read_stl10(dir.path.string(), Stl10Split::Test, options(96, -1, PixelRange::ZeroToOne));
  check_images(test.images, 7, 96, PixelRange::ZeroToOne);
  CHECK(labels_of(test.labels) == std::vector<int64_t>{1, 1});

  SECTION("the single-file readers and the bytes in memory agree") {
    check_images(read_stl10_images(dir.file("train_X.bin")), 0, 96, PixelRange::MinusOneToOne);
    CHECK(labels_of(read_stl10_labels(dir.file("train_y.bin"))) == std::vector<int64_t>{0, 9, 3});
    check_images(parse_stl10_images(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), "mem",
                                    options(48)),
                 0, 48, PixelRange::MinusOneToOne);
    const Bytes y{5, 6, 7};
    CHECK(labels_of(parse_stl10_labels(reinterpret_cast<const uint8_t*>(y.data()), y.size(), "mem", 2)) ==
          std::vector<int64_t>{4, 5});
  }
}

TEST_CASE("STL-10 at 48x48: each pixel the exact mean of its 2x2 block", "[stl10]") {
  test::TempDir dir;
  write_bytes(dir.file("train_X.bin"), images(0, 2));
  write_bytes(dir.file("train_y.bin"), Bytes{3, 8});
  for (PixelRange range : {PixelRange::MinusOneToOne, PixelRange::ZeroToOne}) {
    const ImageDataset d = read_stl10(dir.path.string(), Stl10Split::Train, options(48, -1, range));
    check_images(d.images, 0, 48, range);
    CHECK(labels_of(d.labels) == std::vector<int64_t>{2, 7});
  }
  // a block of 0, 0, 0, 255 is 63.75: not rounded to a byte on the way
  Bytes block(27648, '\0');
  block[1] = '\xff';  // channel 0, col 0, row 1
  const Tensor t = parse_stl10_images(reinterpret_cast<const uint8_t*>(block.data()), block.size(),
                                      "mem", options(48, -1, PixelRange::ZeroToOne));
  CHECK(t.data<float>()[0] == float(63.75 / 255.0));
  CHECK(t.data<float>()[1] == 0.0f);
}

TEST_CASE("STL-10: a limit reads only the first images and labels", "[stl10]") {
  test::TempDir dir;
  write_bytes(dir.file("train_X.bin"), images(0, 3));
  write_bytes(dir.file("train_y.bin"), Bytes{1, 2, 3});
  const ImageDataset two = read_stl10(dir.path.string(), Stl10Split::Train, options(96, 2));
  check_images(two.images, 0, 96, PixelRange::MinusOneToOne);
  CHECK(two.images.size(0) == 2);
  CHECK(labels_of(two.labels) == std::vector<int64_t>{0, 1});
  CHECK(read_stl10(dir.path.string(), Stl10Split::Train, options(48, 10)).images.size(0) == 3);
  const ImageDataset none = read_stl10(dir.path.string(), Stl10Split::Train, options(48, 0));
  CHECK(none.images.shape() == Shape{0, 3, 48, 48});
  CHECK(none.labels.shape() == Shape{0});
}

TEST_CASE("STL-10: the unlabelled file (2.7 GB, sparse here) is streamed: a limit reads only its "
          "start", "[stl10]") {
  test::TempDir dir;
  const std::string path = dir.file("unlabeled_X.bin");
  write_bytes(path, images(0, 3));
  // 100000 images, as the real file: 2,764,800,000 bytes, all but 3 images a hole
  REQUIRE(::truncate(path.c_str(), off_t(100000) * 27648) == 0);
  REQUIRE(fs::file_size(path) == uint64_t(2764800000));
  struct rusage before;
  ::getrusage(RUSAGE_SELF, &before);
  const ImageDataset d = read_stl10(dir.path.string(), Stl10Split::Unlabeled, options(48, 3));
  struct rusage after;
  ::getrusage(RUSAGE_SELF, &after);
  check_images(d.images, 0, 48, PixelRange::MinusOneToOne);
  CHECK_FALSE(d.labels.defined());
  // a reader that loaded the file would have grown by 2.7 GB; ru_maxrss is in KiB
  CHECK(after.ru_maxrss - before.ru_maxrss < 256 * 1024);
  // its size is still checked whole: one byte more is refused, from the length alone
  REQUIRE(::truncate(path.c_str(), off_t(100000) * 27648 + 1) == 0);
  CHECK_THROWS_WITH(read_stl10(dir.path.string(), Stl10Split::Unlabeled, options(48, 3)),
                    StartsWith("stl10: " + path + ": 2764800001 bytes is not a whole number of "
                               "27648-byte images (3 x 96 x 96): image 100000 starts at byte "
                               "2764800000 and has only 1 bytes"));
}

TEST_CASE("STL-10: damaged files and bad options are refused naming the file and the byte",
          "[stl10]") {
  test::TempDir dir;
  const std::string d = dir.path.string(), x = dir.file("train_X.bin"), y = dir.file("train_y.bin");
  write_bytes(x, images(0, 2));
  write_bytes(y, Bytes{1, 2});
  SECTION("an _X file that is not a whole number of images") {
    write_bytes(x, images(0, 2) + "abc");
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Train),
                      StartsWith("stl10: " + x + ": 55299 bytes is not a whole number of 27648-byte "
                                 "images (3 x 96 x 96): image 2 starts at byte 55296 and has only 3 "
                                 "bytes"));
    write_bytes(x, images(0, 1).substr(0, 1000));
    CHECK_THROWS_WITH(read_stl10_images(x), Contains("image 0 starts at byte 0 and has only 1000 bytes"));
  }
  SECTION("empty files") {
    write_bytes(x, "");
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Train),
                      StartsWith("stl10: " + x + ": the file is empty; expected 27648-byte images"));
    write_bytes(x, images(0, 2));
    write_bytes(y, "");
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Train),
                      StartsWith("stl10: " + y + ": the file is empty; expected one label byte per image"));
  }
  SECTION("a label outside 1-10, with its byte") {
    write_bytes(y, Bytes{1, 11});
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Train),
                      StartsWith("stl10: " + y + ": label 11 at byte 1 is out of range 1-10"));
    write_bytes(y, Bytes{0, 1});
    CHECK_THROWS_WITH(read_stl10_labels(y), StartsWith("stl10: " + y + ": label 0 at byte 0 is out of range 1-10"));
    // a limit reads (and checks) only the labels it returns
    write_bytes(y, Bytes{1, 0});
    CHECK(labels_of(read_stl10(d, Stl10Split::Train, options(96, 1)).labels) == std::vector<int64_t>{0});
  }
  SECTION("image and label counts differ: both files named") {
    write_bytes(y, Bytes{1, 2, 3});
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Train),
                      StartsWith("stl10: " + x + " holds 2 images (55296 bytes) but " + y +
                                 " holds 3 labels"));
  }
  SECTION("missing files are named, with what the split reads") {
    fs::remove(y);
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Train),
                      StartsWith("stl10: " + y + ": no such file (missing in " + d + ": train_y.bin); "
                                 "the train split reads train_X.bin, train_y.bin from one folder, the "
                                 "stl10_binary/ that stl10_binary.tar.gz unpacks to"));
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Test),
                      Contains("(missing in " + d + ": test_X.bin, test_y.bin)"));
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Unlabeled),
                      StartsWith("stl10: " + dir.file("unlabeled_X.bin") + ": no such file") &&
                          Contains("the unlabeled split reads unlabeled_X.bin from one folder"));
  }
  SECTION("a size other than 96 or 48, a limit below -1") {
    CHECK_THROWS_WITH(read_stl10(d, Stl10Split::Train, options(64)),
                      "stl10: size must be 96 (as stored) or 48 (each pixel the mean of a 2x2 block), got 64");
    CHECK_THROWS_WITH(read_stl10_images(x, options(96, -2)),
                      "stl10: limit must be >= 0, or -1 for all images, got -2");
    CHECK_THROWS_WITH(read_stl10_labels(y, -5), Contains("got -5"));
  }
}

TEST_CASE("the STL-10 fuzz seed corpus reads as its file names say", "[stl10][fuzz]") {
  // tests/fuzz/corpus/stl10: *_y* files are label files, the rest image
  // files; ok-* are read, bad-* refused naming the file; any other file (an
  // input a fuzzer once crashed on) may go either way, but only ever with
  // nova::Error
  int files = 0;
  for (const auto& item : fs::directory_iterator(fs::path(NOVA_FUZZ_CORPUS_DIR) / "stl10")) {
    const std::string path = item.path().string(), name = item.path().filename().string();
    INFO(name);
    ++files;
    const bool labels = name.find("_y") != std::string::npos;
    auto read = [&] {
      if (labels)
        read_stl10_labels(path);
      else
        read_stl10_images(path, options(48));
    };
    if (name.rfind("ok-", 0) == 0) {
      CHECK_NOTHROW(read());
    } else if (name.rfind("bad-", 0) == 0) {
      CHECK_THROWS_WITH(read(), StartsWith("stl10: " + path + ": "));
    } else {
      try {
        read();
      } catch (const nova::Error& e) {
        CHECK_THAT(e.what(), StartsWith("stl10: " + path + ": "));
      }
    }
  }
  CHECK(files >= 6);
}
