// tests/test_checkpoint.cpp: nn/checkpoint.h, modules saved to and loaded
// from safetensors files: bit-exact round trips, all-or-nothing loading, and
// errors that name the file for truncated, corrupted or mismatched files.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "nn/nn.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace nova;
using namespace nova::nn;
using nova::test::max_abs_diff;
using nova::test::require_identical;
using nova::test::TempDir;

namespace {

// Parameters and all three kinds of BatchNorm buffers (float and int64).
std::shared_ptr<Sequential> model(int64_t hidden = 4) {
  return std::make_shared<Sequential>(std::make_shared<Linear>(3, hidden),
                                      std::make_shared<BatchNorm1d>(hidden),
                                      std::make_shared<Tanh>(), std::make_shared<Linear>(hidden, 2));
}

// Bytes of a file, and writing them back, for damaging a checkpoint on purpose.
std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A hand-made safetensors file: length, `header` verbatim, `data_size` zero
// bytes; for headers save_checkpoint would never write.
void write_raw(const std::string& path, const std::string& header, size_t data_size) {
  std::vector<char> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(char(uint64_t{header.size()} >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.resize(bytes.size() + data_size);
  write_bytes(path, bytes);
}

}  // namespace

TEST_CASE("a module saved and loaded has bit-identical parameters and buffers", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  DType dtype = GENERATE(kFloat32, kFloat64);
  INFO("dtype " << dtype_name(dtype));

  auto saved = model();
  saved->to(dtype);
  saved->forward(randn({8, 3}, dtype));  // training step: running stats leave their defaults
  save(*saved, path, {{"epoch", "3"}});

  auto loaded = model();
  loaded->to(dtype);
  Tensor handle = loaded->at<Linear>(0)->weight;
  load(*loaded, path);
  require_identical(saved->state_dict(), loaded->state_dict());
  REQUIRE(loaded->at<BatchNorm1d>(1)->num_batches_tracked.item() == 1.0);
  REQUIRE(handle.impl() == loaded->at<Linear>(0)->weight.impl());  // loaded in place
  REQUIRE(handle.requires_grad());

  saved->eval();
  loaded->eval();
  Tensor x = randn({5, 3}, dtype);
  REQUIRE(max_abs_diff(saved->forward(x), loaded->forward(x)) == 0.0);

  safetensors::Metadata metadata;
  StateDict state = load_checkpoint(path, &metadata);
  REQUIRE(metadata.at("epoch") == "3");
  REQUIRE(state.keys() == saved->state_dict().keys());
  REQUIRE(state.at("1.num_batches_tracked").dtype() == kInt64);
  REQUIRE(state.at("0.weight").dtype() == dtype);
}

TEST_CASE("checkpoints use safetensors dtype names and store non-contiguous tensors densely",
          "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("state.safetensors");
  Tensor base = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  StateDict state{{"t", base.t()},
                  {"i", from_vector<int32_t>({7, -8})},
                  {"b", from_vector<bool>({true, false, true})},
                  {"s", scalar_tensor(2.5)}};
  save_checkpoint(path, state);

  auto entries = safetensors::read_file(path);
  REQUIRE(entries[0].second.dtype == "F64");
  REQUIRE(entries[0].second.shape == std::vector<int64_t>{3, 2});
  REQUIRE(entries[1].second.dtype == "I32");
  REQUIRE(entries[2].second.dtype == "BOOL");
  REQUIRE(entries[3].second.shape.empty());

  StateDict back = load_checkpoint(path);
  REQUIRE(back.at("t").to_vector<double>() == std::vector<double>{1, 4, 2, 5, 3, 6});
  require_identical(state, back);
}

TEST_CASE("loading into a module of another shape throws naming the key and both shapes, "
          "and leaves the module unchanged", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  save(*model(4), path);

  auto other = model(5);
  StateDict snapshot;
  for (const auto& [k, v] : other->state_dict()) snapshot.insert(k, v.clone());

  REQUIRE_THROWS_NOVA(load(*other, path), "load: " + path + ": load_state_dict: Sequential not loaded");
  REQUIRE_THROWS_NOVA(load(*other, path), "'0.weight': shape mismatch: the state has [4, 3], this module has [5, 3]");
  REQUIRE_THROWS_NOVA(load(*other, path), "'1.running_mean': shape mismatch: the state has [4], this module has [5]");
  // 0.weight comes first and fails, but the keys that do match were not copied either
  require_identical(other->state_dict(), snapshot);
}

TEST_CASE("a truncated checkpoint throws naming the file, and nothing is loaded", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  save(*model(), path);
  auto bytes = read_bytes(path);
  auto target = model();
  StateDict snapshot;
  for (const auto& [k, v] : target->state_dict()) snapshot.insert(k, v.clone());

  for (size_t keep : {size_t(0), size_t(5), size_t(40), bytes.size() / 2, bytes.size() - 1}) {
    INFO("kept " << keep << " of " << bytes.size() << " bytes");
    write_bytes(path, std::vector<char>(bytes.begin(), bytes.begin() + long(keep)));
    REQUIRE_THROWS_NOVA(load(*target, path), path);
    REQUIRE_THROWS_NOVA(load_checkpoint(path), path);
  }
  require_identical(target->state_dict(), snapshot);
}

TEST_CASE("a flipped data byte fails the checksum, naming the file", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  save(*model(), path);
  auto bytes = read_bytes(path);
  bytes[bytes.size() - 3] ^= 0x10;  // inside the last tensor's data
  write_bytes(path, bytes);
  auto target = model();
  Tensor before = target->at<Linear>(3)->bias.clone();
  REQUIRE_THROWS_NOVA(load(*target, path), "safetensors: " + path + ": ");
  REQUIRE_THROWS_NOVA(load_checkpoint(path), "checksum mismatch");
  REQUIRE(max_abs_diff(target->at<Linear>(3)->bias, before) == 0.0);
}

TEST_CASE("a failed save leaves the existing checkpoint intact", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  auto net = model();
  save(*net, path);
  auto original = read_bytes(path);

  SECTION("an empty tensor name is refused by the writer") {
    StateDict bad = net->state_dict();
    bad.insert("", zeros({2}));
    REQUIRE_THROWS_NOVA(save_checkpoint(path, bad), path);
  }
  SECTION("an undefined tensor is refused before anything is written") {
    StateDict bad;
    bad.insert("w", Tensor());
    REQUIRE_THROWS_NOVA(save_checkpoint(path, bad), "save_checkpoint: " + path + ": tensor 'w' is undefined");
  }
  REQUIRE(read_bytes(path) == original);
  std::vector<std::string> files;
  for (const auto& item : fs::directory_iterator(dir.path)) files.push_back(item.path().filename());
  REQUIRE(files == std::vector<std::string>{"model.safetensors"});  // no temporary left
  auto fresh = model();
  load(*fresh, path);
  require_identical(fresh->state_dict(), net->state_dict());
}

TEST_CASE("strict loading refuses extra keys; strict=false loads what matches", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("state.safetensors");
  auto net = model();
  StateDict state = net->state_dict();
  state.insert("extra", zeros({1}));
  save_checkpoint(path, state);
  auto target = model();
  REQUIRE_THROWS_NOVA(load(*target, path), "unexpected keys 'extra'");
  load(*target, path, /*strict=*/false);
  require_identical(target->state_dict(), net->state_dict());
}

TEST_CASE("a checkpoint with a dtype nova does not hold is refused by name", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("half.safetensors");
  safetensors::Entry half{"F16", {2}, {0, 60, 0, 64}};
  safetensors::write_file(path, {{"w", half}});
  REQUIRE_THROWS_NOVA(load_checkpoint(path), "load_checkpoint: " + path + ": tensor 'w' has dtype F16");
}

TEST_CASE("parse_checkpoint reads a checkpoint held in memory, naming it in errors",
          "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  auto net = model();
  save(*net, path);
  std::vector<char> bytes = read_bytes(path);
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  require_identical(parse_checkpoint(data, bytes.size(), "buffer"), load_checkpoint(path));
  REQUIRE_THROWS_NOVA(parse_checkpoint(data, bytes.size() - 1, "buffer"), "safetensors: buffer: ");
}

TEST_CASE("every refusal of load_checkpoint names the file", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  SECTION("more dims than a nova Shape holds") {
    write_raw(path, R"({"w": {"dtype": "F32", "shape": [1, 1, 1, 1, 1, 1, 1, 1, 1],
                             "data_offsets": [0, 4]}})", 4);
    REQUIRE_THROWS_NOVA(load_checkpoint(path),
                        "load_checkpoint: " + path + ": tensor 'w' has 9 dims, nova holds at most 8");
  }
  SECTION("dims whose product overflows int64, though one is 0") {
    write_raw(path, R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4611686018427387904, 0],
                             "data_offsets": [0, 0]}})", 0);
    REQUIRE_THROWS_NOVA(load_checkpoint(path), "safetensors: " + path + ": tensor 'w'");
  }
  SECTION("NUL bytes after the header") {
    write_raw(path, R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})" +
                        std::string(6, '\0'), 4);
    REQUIRE_THROWS_NOVA(load_checkpoint(path), "safetensors: " + path + ": ");
  }
}

TEST_CASE("the fuzz seed corpus loads as its file names say", "[checkpoint][fuzz]") {
  // tests/fuzz/corpus/checkpoint: ok-* loads, bad-* is refused naming the
  // file; any other file (an input a fuzzer once crashed on) either, but
  // only ever with nova::Error. Loaded ones then go into the harness's model.
  auto net = model();
  int files = 0;
  for (const auto& item : fs::directory_iterator(fs::path(NOVA_FUZZ_CORPUS_DIR) / "checkpoint")) {
    const std::string path = item.path().string(), name = item.path().filename().string();
    INFO(name);
    ++files;
    if (name.rfind("bad-", 0) == 0) {
      REQUIRE_THROWS_NOVA(load_checkpoint(path), path);
      continue;
    }
    StateDict state;
    try {
      state = load_checkpoint(path);
    } catch (const Error& e) {
      REQUIRE(name.rfind("ok-", 0) != 0);
      REQUIRE_THAT(e.what(), Catch::Matchers::Contains(path));
      continue;
    }
    try {
      net->load_state_dict(state, /*strict=*/false);
    } catch (const Error&) {  // a shape or dtype the model does not have
    }
  }
  REQUIRE(files >= 6);
  // the seed that is the model's own checkpoint loads strictly
  load(*net, (fs::path(NOVA_FUZZ_CORPUS_DIR) / "checkpoint" / "ok-model-f32.safetensors").string());
}
