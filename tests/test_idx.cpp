// tests/test_idx.cpp: the IDX reader (datasets/idx.h). Files are written by
// hand here, byte by byte, plain and through zlib's gzip writer, so that the
// reader is checked against the format rather than against itself; every
// refusal is checked for the file's name and the byte it points at. The
// real Fashion-MNIST files are read when installed (Debian's
// dataset-fashion-mnist, or NOVA_FASHION_MNIST_DIR), else skipped with a WARN.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include <zlib.h>

#include "datasets/idx.h"
#include "test_util.h"

using namespace nova;
using namespace nova::datasets;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

using Bytes = std::string;

void put_be(Bytes& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// An IDX header: 00 00 type ndims, then the dims big-endian.
Bytes header(uint8_t type, const std::vector<uint32_t>& dims) {
  Bytes out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) put_be(out, d, 4);
  return out;
}

// A whole IDX file of `values`, each stored as `type` big-endian.
Bytes idx_file(uint8_t type, const std::vector<uint32_t>& dims, const std::vector<double>& values) {
  Bytes out = header(type, dims);
  for (double v : values) {
    switch (type) {
      case 0x08: case 0x09: put_be(out, static_cast<uint8_t>(static_cast<int64_t>(v)), 1); break;
      case 0x0B: put_be(out, static_cast<uint16_t>(static_cast<int64_t>(v)), 2); break;
      case 0x0C: put_be(out, static_cast<uint32_t>(static_cast<int64_t>(v)), 4); break;
      case 0x0D: {
        const float f = static_cast<float>(v);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        put_be(out, bits, 4);
        break;
      }
      case 0x0E: {
        uint64_t bits;
        std::memcpy(&bits, &v, 8);
        put_be(out, bits, 8);
        break;
      }
    }
  }
  return out;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f);
}

// gzip-compressed through zlib's own gzip writer.
void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

Tensor parse(const Bytes& bytes, const std::string& name = "mem") {
  return parse_idx(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
}

std::string prefix(const std::string& name) { return "idx: " + name + ": "; }

}  // namespace

TEST_CASE("every IDX element type reads back exactly, plain and gzipped, 1 to 4 dims", "[idx]") {
  test::TempDir dir;
  struct Case {
    uint8_t type;
    DType dtype;
    std::vector<double> values;  // 24 of them, the extremes of the type first
  };
  auto fill = [](std::vector<double> v) {
    for (int i = static_cast<int>(v.size()); i < 24; ++i) v.push_back(i % 7);
    return v;
  };
  const std::vector<Case> cases = {
      {0x08, kInt32, fill({0, 255, 128, 1})},
      {0x09, kInt32, fill({-128, 127, -1, 0})},
      {0x0B, kInt32, fill({-32768, 32767, -1, 256})},
      {0x0C, kInt32, fill({-2147483648.0, 2147483647.0, -1, 65536})},
      {0x0D, kFloat32, fill({0.1f, -3.4e38f, 1e-45f, -0.0f})},
      {0x0E, kFloat64, fill({0.1, -1.7e308, 5e-324, std::numeric_limits<double>::infinity()})},
  };
  const std::vector<std::vector<uint32_t>> shapes = {{24}, {4, 6}, {2, 3, 4}, {1, 2, 3, 4}};
  for (const Case& c : cases) {
    for (const auto& dims : shapes) {
      for (bool gz : {false, true}) {
        INFO("type 0x" << std::hex << int(c.type) << std::dec << ", " << dims.size()
                       << " dims, gzip " << gz);
        const std::string path = dir.file(gz ? "t.idx.gz" : "t.idx");
        const Bytes bytes = idx_file(c.type, dims, c.values);
        gz ? write_gzip(path, bytes) : write_bytes(path, bytes);
        const Tensor t = read_idx(path);
        CHECK(t.dtype() == c.dtype);
        REQUIRE(t.dim() == int(dims.size()));
        for (size_t i = 0; i < dims.size(); ++i) CHECK(t.size(int64_t(i)) == dims[i]);
        const std::vector<double> got = test::values(t);
        for (size_t i = 0; i < got.size(); ++i) {
          INFO("element " << i);
          if (c.type == 0x0D)
            CHECK(got[i] == double(static_cast<float>(c.values[i])));
          else
            CHECK(got[i] == c.values[i]);
        }
        // the sign of -0.0 survives too
        if (c.type == 0x0D) CHECK(std::signbit(got[3]));
      }
    }
  }
}

TEST_CASE("IDX: gzip is told by its magic, not the name; empty tensors and concatenated members",
          "[idx]") {
  test::TempDir dir;
  const Bytes bytes = idx_file(0x08, {2, 2}, {1, 2, 3, 4});
  write_gzip(dir.file("plain-name.idx"), bytes);
  CHECK(test::values(read_idx(dir.file("plain-name.idx"))) == std::vector<double>{1, 2, 3, 4});
  write_bytes(dir.file("gz-name.idx.gz"), bytes);
  CHECK(test::values(read_idx(dir.file("gz-name.idx.gz"))) == std::vector<double>{1, 2, 3, 4});

  const Tensor empty_rows = parse(header(0x0D, {0, 3}));
  CHECK(empty_rows.dtype() == kFloat32);
  CHECK(empty_rows.shape() == Shape{0, 3});

  // gzip allows several members, gunzip joins them: so does the reader
  write_gzip(dir.file("a.gz"), bytes.substr(0, 6));
  write_gzip(dir.file("b.gz"), bytes.substr(6));
  write_bytes(dir.file("ab.gz"), read_bytes(dir.file("a.gz")) + read_bytes(dir.file("b.gz")));
  CHECK(test::values(read_idx(dir.file("ab.gz"))) == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("IDX: damaged files are refused naming the file and the byte", "[idx]") {
  test::TempDir dir;
  const std::string path = dir.file("bad.idx");
  const Bytes good = idx_file(0x0C, {2, 3}, {1, 2, 3, 4, 5, 6});  // 4 + 8 + 24 bytes
  auto refused = [&](const Bytes& bytes, const std::string& text) {
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(read_idx(path), StartsWith(prefix(path)) && Contains(text));
  };
  SECTION("a missing file") {
    CHECK_THROWS_WITH(read_idx(dir.file("none.idx")),
                      StartsWith(prefix(dir.file("none.idx"))) && Contains("cannot open"));
  }
  SECTION("bad magic") {
    refused("\x01" + good.substr(1), "bad magic at byte 0: 0x01");
    refused(good.substr(0, 1) + "\x08" + good.substr(2), "bad magic at byte 1: 0x08");
    refused("", "truncated header: 0 bytes, the magic number needs 4 (ends at byte 0)");
    refused(good.substr(0, 3), "truncated header: 3 bytes");
  }
  SECTION("an unknown element type") {
    refused(good.substr(0, 2) + "\x0a" + good.substr(3), "unknown element type 0x0a at byte 2");
  }
  SECTION("zero dimensions, or more than nova holds") {
    refused(header(0x08, {}), "zero dimensions at byte 3");
    refused(idx_file(0x08, std::vector<uint32_t>(9, 1), {7}), "9 dimensions at byte 3; nova tensors have at most 8");
  }
  SECTION("a header cut inside its dims") {
    refused(good.substr(0, 9), "truncated header: 2 dimensions need bytes 4 to 12, the input ends at byte 9");
  }
  SECTION("dims whose product overflows") {
    // (2^32 - 1)^2 passes 2^63: the second dim, at byte 8
    refused(header(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu}),
            "dimension 1 (4294967295) at byte 8 makes the element count overflow int64");
    // about 2^62 elements fit int64, but not as float64 bytes
    refused(header(0x0E, {0x7fffffffu, 0x7fffffffu}),
            "4611686014132420609 float64 elements (dims at bytes 4 to 12) overflow a 64-bit byte count");
  }
  SECTION("dims claiming more than the bytes present: refused before anything is allocated") {
    refused(header(0x08, {60000, 28, 28}),
            "truncated data: the header claims 47040000 bytes of uint8 from byte 16, the input "
            "ends at byte 16 (47040000 bytes short)");
    refused(header(0x0E, {0x7fffffffu, 2}), "truncated data: the header claims 34359738352 bytes of float64");
  }
  SECTION("truncated data") {
    refused(good.substr(0, good.size() - 1),
            "truncated data: the header claims 24 bytes of int32 from byte 12, the input ends at "
            "byte 35 (1 bytes short)");
  }
  SECTION("trailing bytes") {
    refused(good + "xy", "2 trailing bytes at byte 36, after the 24 bytes of data the header claims");
  }
  SECTION("the same checks inside a gzip stream, with inflated offsets") {
    write_gzip(path, good + "x");
    CHECK_THROWS_WITH(read_idx(path), StartsWith(prefix(path)) &&
                                          Contains("1 trailing bytes at byte 36 of the inflated data"));
    write_gzip(path, good.substr(0, 30));
    CHECK_THROWS_WITH(read_idx(path), StartsWith(prefix(path)) &&
                                          Contains("truncated data") && Contains("ends at byte 30 of the inflated data"));
    write_gzip(path, header(0x08, {}));
    CHECK_THROWS_WITH(read_idx(path), Contains("zero dimensions at byte 3 of the inflated data"));
    write_gzip(path, "");
    CHECK_THROWS_WITH(read_idx(path), Contains("truncated header: 0 bytes of the inflated data"));
  }
  SECTION("a gzip stream is inflated only to the header's claim plus one byte") {
    // 10 bytes claimed, 64 MiB of zeros inflated (65 KB compressed): the
    // reader stops one byte past the claim, so it reports 1 trailing byte
    write_gzip(path, header(0x08, {10}) + Bytes(64 << 20, '\0'));
    CHECK_THROWS_WITH(read_idx(path), StartsWith(prefix(path)) &&
                                          Contains("1 trailing bytes at byte 18 of the inflated data"));
  }
  SECTION("a gzip header claiming more than 4 GiB is refused before inflating it") {
    write_gzip(path, header(0x08, {0x80000000u, 3}));  // 6 GiB
    CHECK_THROWS_WITH(read_idx(path), StartsWith(prefix(path)) &&
                                          Contains("claims 6442450944 bytes of uint8") &&
                                          Contains("more than the 4294967296 bytes"));
  }
  SECTION("a gzip stream that is cut short") {
    write_gzip(path, good);
    const Bytes gz = read_bytes(path);
    refused(gz.substr(0, gz.size() - 3),
            "gzip stream truncated: the input ends at compressed byte " + std::to_string(gz.size() - 3));
    refused(gz.substr(0, 12), "gzip stream truncated: the input ends at compressed byte 12");
  }
  SECTION("a corrupt gzip stream") {
    write_gzip(path, good);
    Bytes gz = read_bytes(path);
    // the CRC-32 in the trailer (8 bytes from the end): zlib checks it
    gz[gz.size() - 6] ^= 0x40;
    refused(gz, "gzip stream corrupt at compressed byte");
    refused(gz, "incorrect data check");
    // a block type no deflate stream has (byte 10, the first after a bare gzip header)
    gz = read_bytes(path);
    gz[10] = static_cast<char>(0x07);
    refused(gz, "gzip stream corrupt at compressed byte 11: invalid block type");
    // bytes after the last member that do not start another
    refused(read_bytes(path) + "junk", "gzip stream corrupt at compressed byte");
  }
}

TEST_CASE("read_idx_dataset scales pixels to [0, 1] and checks the counts", "[idx]") {
  test::TempDir dir;
  const std::string images = dir.file("images.idx"), labels = dir.file("labels.idx.gz");
  write_bytes(images, idx_file(0x08, {3, 1, 2}, {0, 255, 51, 102, 1, 254}));
  write_gzip(labels, idx_file(0x08, {3}, {9, 0, 4}));
  const IdxDataset d = read_idx_dataset(images, labels);
  CHECK(d.images.dtype() == kFloat32);
  CHECK(d.images.shape() == Shape{3, 1, 2});
  CHECK(test::values(d.images) ==
        std::vector<double>{0.0f, 1.0f, 0.2f, 0.4f, 1.0f / 255.0f, 254.0f / 255.0f});
  CHECK(d.labels.dtype() == kInt64);
  CHECK(test::values(d.labels) == std::vector<double>{9, 0, 4});

  SECTION("n differs") {
    write_gzip(labels, idx_file(0x08, {2}, {9, 0}));
    CHECK_THROWS_WITH(read_idx_dataset(images, labels),
                      Contains(images) && Contains("holds 3 images but") && Contains(labels) &&
                          Contains("holds 2 labels"));
  }
  SECTION("wrong dims or element type, naming the file") {
    CHECK_THROWS_WITH(read_idx_dataset(labels, labels),
                      StartsWith(prefix(labels)) && Contains("images have 1 dimensions, expected 3"));
    CHECK_THROWS_WITH(read_idx_dataset(images, images),
                      StartsWith(prefix(images)) && Contains("labels have 3 dimensions, expected 1"));
    write_bytes(images, idx_file(0x0D, {3, 1, 2}, {0, 1, 0, 1, 0, 1}));
    CHECK_THROWS_WITH(read_idx_dataset(images, labels),
                      StartsWith(prefix(images)) && Contains("images hold float32, expected uint8"));
  }
  SECTION("a damaged file is reported by read_idx") {
    write_bytes(labels, "\0\0\x08");
    CHECK_THROWS_WITH(read_idx_dataset(images, labels), StartsWith(prefix(labels)));
  }
}

TEST_CASE("Fashion-MNIST, when installed, reads as 60000 + 10000 28x28 images", "[idx][slow]") {
  const char* env = std::getenv("NOVA_FASHION_MNIST_DIR");
  const fs::path root = env ? env : "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(root / "train-images-idx3-ubyte.gz")) {
    WARN("SKIPPED: no Fashion-MNIST in " << root.string()
         << " (apt-get install dataset-fashion-mnist, or set NOVA_FASHION_MNIST_DIR)");
    return;
  }
  for (auto [split, n] : {std::pair<std::string, int64_t>{"train", 60000}, {"t10k", 10000}}) {
    INFO(split);
    const IdxDataset d = read_idx_dataset((root / (split + "-images-idx3-ubyte.gz")).string(),
                                          (root / (split + "-labels-idx1-ubyte.gz")).string());
    CHECK(d.images.shape() == Shape{n, 28, 28});
    CHECK(d.labels.shape() == Shape{n});
    const int64_t* labels = d.labels.data<int64_t>();
    std::vector<int64_t> counts(10);
    for (int64_t i = 0; i < n; ++i) {
      REQUIRE(labels[i] >= 0);
      REQUIRE(labels[i] <= 9);
      ++counts[size_t(labels[i])];
    }
    // Fashion-MNIST is balanced: n / 10 of each class
    for (int64_t c : counts) CHECK(c == n / 10);
    const float* pixels = d.images.data<float>();
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < d.images.numel(); ++i) lo = std::min(lo, pixels[i]), hi = std::max(hi, pixels[i]);
    CHECK(lo == 0.0f);
    CHECK(hi == 1.0f);
  }
}

TEST_CASE("the IDX fuzz seed corpus reads as its file names say", "[idx][fuzz]") {
  // tests/fuzz/corpus/idx: ok-* is read, bad-* refused naming the file; any
  // other file (an input a fuzzer once crashed on) either, but only ever
  // with nova::Error
  int files = 0;
  for (const auto& item : fs::directory_iterator(fs::path(NOVA_FUZZ_CORPUS_DIR) / "idx")) {
    const std::string path = item.path().string(), name = item.path().filename().string();
    INFO(name);
    ++files;
    if (name.rfind("ok-", 0) == 0) {
      CHECK_NOTHROW(read_idx(path));
    } else if (name.rfind("bad-", 0) == 0) {
      CHECK_THROWS_WITH(read_idx(path), StartsWith(prefix(path)));
    } else {
      try {
        read_idx(path);
      } catch (const nova::Error& e) {
        CHECK_THAT(e.what(), StartsWith(prefix(path)));
      }
    }
  }
  CHECK(files >= 10);
}
