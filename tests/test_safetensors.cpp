// tests/test_safetensors.cpp: the safetensors checkpoint reader and writer
// (core/safetensors.h): round trips, the on-disk layout parsed by hand, and
// the refusal of every kind of malformed file or entry, each error naming
// the file. Files live in a fresh folder under the temp directory per test.
#include "core/safetensors.h"

#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nova::safetensors::Entries;
using nova::safetensors::Entry;
using nova::safetensors::Metadata;
using nova::safetensors::read_file;
using nova::safetensors::write_file;
using nova::test::TempDir;

namespace {

// The prefix every reader and writer error carries.
std::string prefix(const std::string& path) { return "safetensors: " + path + ": "; }

// Raw bytes of a vector of numbers; the tests run on little-endian hosts,
// so this is the file's byte order.
template <typename T>
std::vector<uint8_t> to_bytes(const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<uint8_t> random_bytes(size_t n, std::mt19937& rng) {
  std::vector<uint8_t> bytes(n);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out);
}

// A hand-made file: length, `header` verbatim, then `data_size` data bytes.
// Lets a test write headers that write_file would refuse to produce.
void write_raw(const std::string& path, const std::string& header, size_t data_size) {
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(uint64_t{header.size()} >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  for (size_t i = 0; i < data_size; ++i) bytes.push_back(static_cast<uint8_t>(i * 37 + 1));
  write_bytes(path, bytes);
}

uint64_t header_length(const std::vector<uint8_t>& file) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{file[i]} << (8 * i);
  return n;
}

// A small valid checkpoint with data in two tensors.
Entries sample_entries() {
  std::mt19937 rng(7);
  return {{"weight", Entry{"F32", {2, 3}, random_bytes(24, rng)}},
          {"bias", Entry{"F64", {3}, random_bytes(24, rng)}}};
}

}  // namespace

TEST_CASE("safetensors round-trips every nova dtype, scalars, empty tensors and metadata",
          "[checkpoint]") {
  TempDir dir;
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> weight(6);
  for (float& w : weight) w = uniform(rng);
  Entries entries = {
      {"layer.weight", Entry{"F32", {2, 3}, to_bytes(weight)}},
      {"layer.bias", Entry{"F64", {4}, to_bytes(std::vector<double>{0.5, -1.25, 3e100, -0.0})}},
      {"step", Entry{"I64", {}, to_bytes(std::vector<int64_t>{-1234567890123})}},  // 0-d
      {"index", Entry{"I32", {3, 1}, to_bytes(std::vector<int32_t>{7, -8, 2147483647})}},
      {"mask", Entry{"BOOL", {5}, {1, 0, 0, 1, 1}}},
      {"empty", Entry{"F32", {0, 4}, {}}},
  };
  Metadata metadata = {{"epoch", "3"}, {"note", "caf\xc3\xa9"}};
  const std::string path = dir.file("model.safetensors");
  write_file(path, entries, metadata);

  Metadata read_metadata;
  Entries read = read_file(path, &read_metadata);
  REQUIRE(read.size() == entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    INFO("entry " << i << " '" << entries[i].first << "'");
    CHECK(read[i].first == entries[i].first);  // insertion order survives
    CHECK(read[i].second.dtype == entries[i].second.dtype);
    CHECK(read[i].second.shape == entries[i].second.shape);
    CHECK(read[i].second.bytes == entries[i].second.bytes);
  }
  CHECK(read_metadata.at("epoch") == "3");
  CHECK(read_metadata.at("note") == "caf\xc3\xa9");
  CHECK(read_metadata.at("format") == "pt");  // added when the caller sets none
  const std::string crc = read_metadata.at("nova.crc32");
  CHECK(crc.size() == 8);
  CHECK(crc.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(read_metadata.size() == 4);

  SECTION("a format set by the caller is kept") {
    write_file(path, entries, {{"format", "np"}});
    read_file(path, &read_metadata);
    CHECK(read_metadata.at("format") == "np");
  }
  SECTION("no entries at all is a valid checkpoint") {
    write_file(path, {});
    CHECK(read_file(path).empty());
  }
}

TEST_CASE("the file starts with its header length, and the header is space-padded to 8 bytes",
          "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("layout.safetensors");
  // 3 + 8 data bytes, so nothing about the data happens to be aligned
  Entries entries = {{"m", Entry{"BOOL", {3}, {1, 0, 1}}},
                     {"x", Entry{"F32", {2}, to_bytes(std::vector<float>{1.5f, -2.0f})}}};
  write_file(path, entries);

  std::vector<uint8_t> file = read_bytes(path);
  REQUIRE(file.size() >= 8);
  const uint64_t n = header_length(file);
  CHECK(n % 8 == 0);
  REQUIRE(file.size() == 8 + n + 11);

  std::string header(file.begin() + 8, file.begin() + 8 + static_cast<long>(n));
  size_t close = header.find_last_of('}');
  REQUIRE(close != std::string::npos);
  CHECK(header.size() - close - 1 < 8);  // padding is less than one word
  CHECK(header.find_first_not_of(' ', close + 1) == std::string::npos);

  auto json = nlohmann::ordered_json::parse(header);
  CHECK(json.begin().key() == "__metadata__");
  CHECK(json["m"]["dtype"] == "BOOL");
  using Dims = std::vector<int64_t>;
  CHECK(json["m"]["shape"].get<Dims>() == Dims{3});
  CHECK(json["m"]["data_offsets"].get<Dims>() == Dims{0, 3});
  CHECK(json["x"]["data_offsets"].get<Dims>() == Dims{3, 11});

  std::vector<uint8_t> data(file.begin() + 8 + static_cast<long>(n), file.end());
  std::vector<uint8_t> expected = entries[0].second.bytes;
  expected.insert(expected.end(), entries[1].second.bytes.begin(), entries[1].second.bytes.end());
  CHECK(data == expected);
}

TEST_CASE("nova.crc32 is the IEEE CRC-32 of the data section", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("crc.safetensors");
  const std::string check = "123456789";  // the standard check input
  write_file(path, {{"s", Entry{"U8", {9}, std::vector<uint8_t>(check.begin(), check.end())}}});
  Metadata metadata;
  read_file(path, &metadata);
  CHECK(metadata.at("nova.crc32") == "cbf43926");  // zlib.crc32(b"123456789")

  // One checksum runs across tensors of odd sizes (5 + 17 + 21 bytes), so
  // the 8-byte blocks straddle tensor boundaries.
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  auto piece = [&](size_t begin, size_t size) {
    return Entry{"U8", {static_cast<int64_t>(size)},
                 std::vector<uint8_t>(fox.begin() + static_cast<long>(begin),
                                      fox.begin() + static_cast<long>(begin + size))};
  };
  write_file(path, {{"a", piece(0, 5)}, {"b", piece(5, 17)}, {"c", piece(22, 21)}});
  read_file(path, &metadata);
  CHECK(metadata.at("nova.crc32") == "414fa339");  // zlib.crc32 of the whole sentence
  // an empty tensor adds nothing (zlib's crc32 of a null buffer is 0, a
  // reset, so the empty one must not reach it)
  write_file(path, {{"a", piece(0, 5)}, {"e", piece(5, 0)}, {"b", piece(5, 38)}});
  read_file(path, &metadata);
  CHECK(metadata.at("nova.crc32") == "414fa339");
}

TEST_CASE("a truncated file is rejected with its name, wherever it is cut", "[checkpoint]") {
  TempDir dir;
  const std::string good = dir.file("good.safetensors");
  write_file(good, sample_entries());
  const std::vector<uint8_t> file = read_bytes(good);
  const size_t n = header_length(file);
  const std::string path = dir.file("cut.safetensors");

  struct Cut {
    size_t at;
    const char* expect;
  };
  const Cut cuts[] = {
      {0, "need at least 8"},        {3, "need at least 8"},  // inside the length
      {7, "need at least 8"},        {8, "runs past the end of the file"},
      {8 + n / 2, "runs past the end of the file"},            // inside the header
      {8 + n - 1, "runs past the end of the file"},
      {8 + n, "run past the data section"},                    // data missing
      {8 + n + 1, "run past the data section"},                // inside the data
      {file.size() - 1, "run past the data section"},
  };
  for (const Cut& cut : cuts) {
    INFO("cut at byte " << cut.at << " of " << file.size());
    write_bytes(path, std::vector<uint8_t>(file.begin(), file.begin() + static_cast<long>(cut.at)));
    CHECK_THROWS_AS(read_file(path), nova::Error);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains(cut.expect));
  }
}

TEST_CASE("a flipped byte in the data section fails the checksum", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("flip.safetensors");
  write_file(path, sample_entries());
  std::vector<uint8_t> file = read_bytes(path);
  file[file.size() - 5] ^= 0x10;
  write_bytes(path, file);
  CHECK_THROWS_WITH(read_file(path),
                    StartsWith(prefix(path)) && Contains("data section checksum mismatch: expected"));
}

TEST_CASE("a header that is not a JSON object is rejected", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("header.safetensors");
  SECTION("invalid JSON") {
    write_file(path, sample_entries());
    std::vector<uint8_t> file = read_bytes(path);
    file[8 + 1] = '#';  // the opening quote of "__metadata__"
    write_bytes(path, file);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("not valid JSON") &&
                                           Contains("near file byte 9"));
  }
  SECTION("a number past double's range, which nlohmann refuses with out_of_range, not "
          "parse_error (found by fuzz_safetensors)") {
    write_raw(path, R"({"w": {"dtype": "U8", "shape": [4294E6729], "data_offsets": [0, 1]}})", 1);
    CHECK_THROWS_AS(read_file(path), nova::Error);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("not valid JSON") &&
                                           Contains("number overflow"));
  }
  SECTION("nesting far deeper than the format's 3 levels, which nlohmann copies and prints "
          "recursively (a 400 KB header overflowed the stack)") {
    const std::string deep = std::string(200000, '[') + std::string(200000, ']');
    write_raw(path, R"({"w": {"dtype": "F32", "shape": )" + deep + R"(, "data_offsets": [0, 0]}})", 0);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) &&
                                           Contains("nests deeper than 16 levels at file byte 54"));
  }
  SECTION("valid JSON, but an array") {
    write_raw(path, "[1, 2]  ", 0);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("must be a JSON object"));
  }
}

TEST_CASE("malformed header entries are rejected, naming the tensor", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("entry.safetensors");
  struct Case {
    const char* header;
    size_t data_size;
    const char* expect;
  };
  const Case cases[] = {
      {R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4, "tensor 'w': missing \"dtype\""},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4, "missing \"shape\""},
      {R"({"w": {"dtype": "F32", "shape": [1]}})", 4, "missing \"data_offsets\""},
      {R"({"w": [1, 2]})", 0, "tensor 'w': expected an object"},
      {R"({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})", 4, "\"dtype\" must be a string"},
      {R"({"w": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})", 4, "\"shape\" must be an array"},
      {R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4, "must hold integers"},
      {R"({"w": {"dtype": "Q8", "shape": [1], "data_offsets": [0, 1]}})", 1, "unknown dtype 'Q8'"},
      {R"({"w": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}})", 1, "packs several elements"},
      {R"({"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 0]}})", 0, "negative dimension -1"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4, "\"data_offsets\" must be [begin, end]"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", 4, "non-negative"},
      {R"({"w": {"dtype": "U8", "shape": [4294967296, 4294967296], "data_offsets": [0, 1]}})", 1,
       "too large"},
      {R"({"__metadata__": {"epoch": 3}})", 0, "\"epoch\" is a number"},
      {R"({"__metadata__": "pt"})", 0, "\"__metadata__\" must be an object"},
      {R"({"__metadata__": {"nova.crc32": "xyz"}})", 0, "must be 8 hex digits"},
  };
  for (const Case& c : cases) {
    INFO(c.header);
    write_raw(path, c.header, c.data_size);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains(c.expect));
  }
}

TEST_CASE("offsets outside the data section are rejected", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("offsets.safetensors");
  SECTION("end past the data section") {
    write_raw(path, R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("tensor 'w'") &&
                                           Contains("run past the data section, which has 4 bytes"));
  }
  SECTION("begin after end") {
    write_raw(path, R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("begin after end"));
  }
  SECTION("header length larger than the file") {
    std::vector<uint8_t> file = {0x00, 0x10, 0, 0, 0, 0, 0, 0, '{', '}'};  // claims 4096
    write_bytes(path, file);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("header length 4096"));
  }
}

TEST_CASE("a byte count that does not match dtype and shape is rejected", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("count.safetensors");
  write_raw(path, R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 4);
  CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) &&
                                         Contains("tensor 'w': F32 [2] needs 8 bytes") &&
                                         Contains("hold 4"));
}

TEST_CASE("tensor data must cover the data section exactly", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("cover.safetensors");
  SECTION("overlap") {
    write_raw(path, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("'a' [0, 8] and 'b' [4, 12] overlap"));
  }
  SECTION("gap") {
    write_raw(path, R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                        "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})", 12);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("bytes [4, 8)") &&
                                           Contains("belong to no tensor"));
  }
  SECTION("trailing bytes") {
    write_raw(path, R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 9);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("trailing data"));
  }
}

TEST_CASE("a file without nova.crc32, as Python writes it, loads in data-section order",
          "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("python.safetensors");
  // keys deliberately not in offset order; F16/BF16/U8 are read though nova does not write them
  write_raw(path, R"({"__metadata__": {"format": "pt"},
                     "u": {"dtype": "U8", "shape": [3], "data_offsets": [8, 11]},
                     "h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
                     "b": {"dtype": "BF16", "shape": [2, 1], "data_offsets": [4, 8]},
                     "z": {"dtype": "F16", "shape": [0], "data_offsets": [11, 11]}})", 11);
  Metadata metadata;
  Entries entries = read_file(path, &metadata);
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].first == "h");
  CHECK(entries[1].first == "b");
  CHECK(entries[2].first == "u");
  CHECK(entries[3].first == "z");
  CHECK(entries[1].second.shape == std::vector<int64_t>{2, 1});
  CHECK(entries[2].second.bytes.size() == 3);
  CHECK(metadata == Metadata{{"format", "pt"}});
}

TEST_CASE("reading a missing file names it", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("missing.safetensors");
  CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("cannot open"));
  CHECK_THROWS_WITH(read_file(dir.path.string()),
                    StartsWith(prefix(dir.path.string())) && Contains("not a regular file"));
}

TEST_CASE("dtype_size knows the safetensors dtypes and refuses other names", "[checkpoint]") {
  using nova::safetensors::dtype_size;
  CHECK(dtype_size("F32") == 4);
  CHECK(dtype_size("F64") == 8);
  CHECK(dtype_size("I64") == 8);
  CHECK(dtype_size("I32") == 4);
  CHECK(dtype_size("BOOL") == 1);
  CHECK(dtype_size("F16") == 2);
  CHECK(dtype_size("BF16") == 2);
  CHECK(dtype_size("U8") == 1);
  CHECK_THROWS_WITH(dtype_size("float32"), Contains("unknown dtype 'float32'"));
  CHECK_THROWS_AS(dtype_size("F4"), nova::Error);
}

TEST_CASE("invalid entries are refused and leave an existing checkpoint intact", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  write_file(path, sample_entries());
  const std::vector<uint8_t> before = read_bytes(path);
  std::mt19937 rng(3);

  struct Case {
    const char* what;
    Entries entries;
    const char* expect;
  };
  const Case cases[] = {
      {"too few bytes", {{"w", Entry{"F32", {2, 3}, random_bytes(20, rng)}}}, "needs 24 bytes, got 20"},
      {"duplicate name",
       {{"w", Entry{"I32", {1}, random_bytes(4, rng)}}, {"w", Entry{"I32", {1}, random_bytes(4, rng)}}},
       "duplicate tensor name 'w'"},
      {"empty name", {{"", Entry{"I32", {1}, random_bytes(4, rng)}}}, "name is empty"},
      {"reserved name", {{"__metadata__", Entry{"I32", {1}, random_bytes(4, rng)}}}, "reserved"},
      {"unknown dtype", {{"w", Entry{"float", {1}, random_bytes(4, rng)}}}, "unknown dtype 'float'"},
      {"negative dimension", {{"w", Entry{"F32", {-1}, {}}}}, "negative dimension -1"},
      {"invalid UTF-8 name", {{"\xff", Entry{"I32", {1}, random_bytes(4, rng)}}}, "valid UTF-8"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK_THROWS_WITH(write_file(path, c.entries), StartsWith(prefix(path)) && Contains(c.expect));
    CHECK(read_bytes(path) == before);
    CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});
  }
  CHECK(read_file(path).size() == 2);
}

TEST_CASE("a failed write throws and leaves no temporary file", "[checkpoint]") {
  TempDir dir;
  SECTION("into a folder that does not exist") {
    const std::string path = dir.file("no/such/folder/model.safetensors");
    CHECK_THROWS_WITH(write_file(path, sample_entries()),
                      StartsWith(prefix(path)) && Contains("cannot create temporary file"));
    CHECK(dir.listing().empty());
  }
  SECTION("over a directory, so the final rename fails") {
    const std::string path = dir.file("taken");
    fs::create_directory(path);
    fs::create_directory(dir.path / "taken" / "child");  // non-empty: rename cannot replace it
    CHECK_THROWS_WITH(write_file(path, sample_entries()),
                      StartsWith(prefix(path)) && Contains("cannot rename temporary file"));
    CHECK(dir.listing() == std::vector<std::string>{"taken"});
  }
}

TEST_CASE("writing over an existing checkpoint replaces it", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  write_file(path, sample_entries());
  write_file(path, {{"only", Entry{"I64", {1}, to_bytes(std::vector<int64_t>{99})}}});
  Entries read = read_file(path);
  REQUIRE(read.size() == 1);
  CHECK(read[0].first == "only");
  CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("parse reads a file held in memory as read_file reads the file", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  write_file(path, sample_entries(), {{"epoch", "2"}});
  const std::vector<uint8_t> file = read_bytes(path);
  Metadata from_file, from_memory;
  Entries a = read_file(path, &from_file);
  Entries b = nova::safetensors::parse(file.data(), file.size(), "in memory", &from_memory);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.shape == b[i].second.shape);
    CHECK(a[i].second.bytes == b[i].second.bytes);
  }
  CHECK(from_file == from_memory);
  // messages name the label given and count bytes from the buffer's start
  CHECK_THROWS_WITH(nova::safetensors::parse(file.data(), 7, "in memory"),
                    StartsWith(prefix("in memory")) && Contains("file has 7 bytes"));
}

TEST_CASE("a shape whose dims multiply past int64 is refused, even with a 0 dim", "[checkpoint]") {
  // 0 elements, 0 bytes, but [2^62, 2^62] has no int64 strides; Python's
  // safetensors refuses it as well ("overflow computing the buffer size")
  TempDir dir;
  const std::string path = dir.file("huge.safetensors");
  write_raw(path, R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4611686018427387904, 0],
                           "data_offsets": [0, 0]}})", 0);
  CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("tensor 'w'") &&
                                         Contains("too large"));
  CHECK_THROWS_WITH(write_file(path, {{"w", Entry{"F32", {4611686018427387904, 4611686018427387904, 0}, {}}}}),
                    StartsWith(prefix(path)) && Contains("too large"));
}

TEST_CASE("bytes after the header's JSON other than whitespace are refused, NUL included",
          "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("tail.safetensors");
  const std::string json = R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})";
  SECTION("NUL padding, which nlohmann's parser takes for the end of the text") {
    write_raw(path, json + std::string(4, '\0'), 1);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("NUL byte") &&
                                           Contains("file byte " + std::to_string(8 + json.size())));
  }
  SECTION("a NUL inside the JSON") {
    write_raw(path, json.substr(0, 5) + '\0' + json.substr(5), 1);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("NUL byte at file byte 13"));
  }
  SECTION("other trailing bytes") {
    write_raw(path, json + "  x", 1);
    CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)) && Contains("not valid JSON"));
  }
  SECTION("spaces, as the format pads, and other JSON whitespace, as Python accepts") {
    write_raw(path, json + "   \n\t\r ", 1);
    CHECK(read_file(path).size() == 1);
  }
}

TEST_CASE("the fuzz seed corpus reads as its file names say", "[checkpoint][fuzz]") {
  // tests/fuzz/corpus/safetensors: ok-* is read, bad-* refused naming the
  // file; any other file (an input a fuzzer once crashed on) either, but
  // only ever with nova::Error
  int files = 0;
  for (const auto& item : fs::directory_iterator(fs::path(NOVA_FUZZ_CORPUS_DIR) / "safetensors")) {
    const std::string path = item.path().string(), name = item.path().filename().string();
    INFO(name);
    ++files;
    if (name.rfind("ok-", 0) == 0) {
      CHECK_NOTHROW(read_file(path));
    } else if (name.rfind("bad-", 0) == 0) {
      CHECK_THROWS_WITH(read_file(path), StartsWith(prefix(path)));
    } else {
      try {
        read_file(path);
      } catch (const nova::Error& e) {
        CHECK_THAT(e.what(), StartsWith(prefix(path)));
      }
    }
  }
  CHECK(files >= 10);
}
