// datasets/stl10.cpp: the STL-10 reader (format in datasets/stl10.h). Sizes
// are checked from the file's length before anything is read; images are
// then decoded a chunk at a time from the column-major channels into
// row-major rows, at full size or as 2x2 means.
#include "datasets/stl10.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/error.h"
#include "core/factory.h"
#include "datasets/binary_file.h"

namespace nova::datasets {

namespace {

constexpr int64_t kChannels = 3, kSide = 96;
constexpr int64_t kPlane = kSide * kSide;  // bytes of one channel
// Images decoded per read: 64 x 27 KB, so even the 2.7 GB unlabelled file
// passes through 1.7 MB of buffer.
constexpr int64_t kChunkImages = 64;

void check_limit(int64_t limit) {
  NOVA_CHECK(limit >= -1, "stl10: limit must be >= 0, or -1 for all images, got {}", limit);
}

void check_options(const Stl10Options& options) {
  NOVA_CHECK(options.size == 96 || options.size == 48,
             "stl10: size must be 96 (as stored) or 48 (each pixel the mean of a 2x2 block), got {}",
             options.size);
  check_limit(options.limit);
}

int64_t apply_limit(int64_t n, int64_t limit) { return limit < 0 ? n : std::min(n, limit); }

// The number of images in `size` bytes, or a refusal naming the byte where
// the last, cut image starts.
int64_t count_images(uint64_t size, const std::string& name) {
  if (size == 0) fail("stl10: {}: the file is empty; expected {}-byte images", name, kStl10ImageBytes);
  if (size % kStl10ImageBytes != 0)
    fail("stl10: {}: {} bytes is not a whole number of {}-byte images (3 x 96 x 96): image {} "
         "starts at byte {} and has only {} bytes (truncated, or a _y file?)", name, size,
         kStl10ImageBytes, size / kStl10ImageBytes, size / kStl10ImageBytes * kStl10ImageBytes,
         size % kStl10ImageBytes);
  return static_cast<int64_t>(size / kStl10ImageBytes);
}

// Decodes `n` stored images at `bytes` into rows of `out` ([n, 3, s, s],
// s = options.size). Stored: channel c's pixel (row, col) at
// c * 9216 + col * 96 + row.
void decode_images(const uint8_t* bytes, int64_t n, int64_t size,
                   const std::array<float, 256>& value, PixelRange range, float* out) {
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t c = 0; c < kChannels; ++c) {
      const uint8_t* plane = bytes + (k * kChannels + c) * kPlane;
      float* dst = out + (k * kChannels + c) * size * size;
      if (size == kSide) {
        // reading down each column in storage order, writing it across rows
        for (int64_t col = 0; col < kSide; ++col)
          for (int64_t row = 0; row < kSide; ++row)
            dst[row * kSide + col] = value[plane[col * kSide + row]];
      } else {
        // output (y, x) is the mean of rows 2y, 2y+1 and cols 2x, 2x+1;
        // the two pixels of one stored column are adjacent bytes
        for (int64_t x = 0; x < kSide / 2; ++x) {
          const uint8_t* left = plane + 2 * x * kSide;
          const uint8_t* right = left + kSide;
          for (int64_t y = 0; y < kSide / 2; ++y) {
            const uint32_t sum = uint32_t{left[2 * y]} + left[2 * y + 1] + right[2 * y] +
                                 right[2 * y + 1];
            dst[y * (kSide / 2) + x] = quad_mean_value(sum, range);
          }
        }
      }
    }
  }
}

// The number of labels in a _y file of `size` bytes (one byte each).
int64_t count_labels(uint64_t size, const std::string& name) {
  if (size == 0) fail("stl10: {}: the file is empty; expected one label byte per image", name);
  return static_cast<int64_t>(size);
}

// The first `n` labels of a _y file, at `bytes`: 1-10 -> 0-9 into `out`.
void decode_labels(const uint8_t* bytes, int64_t n, const std::string& name, int64_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    if (bytes[i] < 1 || bytes[i] > 10)
      fail("stl10: {}: label {} at byte {} is out of range 1-10", name, bytes[i], i);
    out[i] = int64_t{bytes[i]} - 1;
  }
}

Tensor allocate_images(int64_t n, int64_t size) {
  return empty({n, kChannels, size, size}, kFloat32);
}

// Reads the first `n` images of an open _X file a chunk at a time.
Tensor read_images(BinaryFile& file, int64_t n, const Stl10Options& options) {
  Tensor images = allocate_images(n, options.size);
  const std::array<float, 256> value = pixel_table(options.range);
  std::vector<uint8_t> chunk(size_t(std::min(n, kChunkImages)) * kStl10ImageBytes);
  float* out = images.data<float>();
  for (int64_t first = 0; first < n; first += kChunkImages) {
    const int64_t count = std::min(kChunkImages, n - first);
    file.read(chunk.data(), size_t(count) * kStl10ImageBytes);
    decode_images(chunk.data(), count, options.size, value, options.range,
                  out + first * kChannels * options.size * options.size);
  }
  return images;
}

Tensor read_labels(BinaryFile& file, int64_t n) {
  Tensor labels = empty({n}, kInt64);
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  file.read(bytes.data(), bytes.size());
  decode_labels(bytes.data(), n, file.path(), labels.data<int64_t>());
  return labels;
}

// The split's files in `dir`, or a refusal naming the first missing one and
// listing what the split expects.
std::vector<std::string> split_paths(const std::string& dir, Stl10Split split) {
  namespace fs = std::filesystem;
  const char* prefix = split == Stl10Split::Train ? "train"
                       : split == Stl10Split::Test ? "test"
                                                   : "unlabeled";
  std::vector<std::string> names = {std::string(prefix) + "_X.bin"};
  if (split != Stl10Split::Unlabeled) names.push_back(std::string(prefix) + "_y.bin");
  std::vector<std::string> paths, missing;
  for (const std::string& name : names) {
    paths.push_back((fs::path(dir) / name).string());
    std::error_code ec;
    if (!fs::exists(paths.back(), ec)) missing.push_back(name);
  }
  if (!missing.empty())
    fail("stl10: {}: no such file (missing in {}: {}); the {} split reads {} from one folder, the "
         "stl10_binary/ that stl10_binary.tar.gz unpacks to", (fs::path(dir) / missing[0]).string(),
         dir, fmt::join(missing, ", "), prefix, fmt::join(names, ", "));
  return paths;
}

}  // namespace

ImageDataset read_stl10(const std::string& dir, Stl10Split split, const Stl10Options& options) {
  check_options(options);
  const std::vector<std::string> paths = split_paths(dir, split);
  BinaryFile x_file(paths[0], "stl10");
  const int64_t count = count_images(x_file.size(), paths[0]);
  if (split == Stl10Split::Unlabeled)
    return {read_images(x_file, apply_limit(count, options.limit), options), Tensor()};
  // both files' sizes agree before either is read
  BinaryFile y_file(paths[1], "stl10");
  count_labels(y_file.size(), paths[1]);
  if (y_file.size() != uint64_t(count))
    fail("stl10: {} holds {} images ({} bytes) but {} holds {} labels; the two files of a split "
         "count the same images", paths[0], count, x_file.size(), paths[1], y_file.size());
  const int64_t n = apply_limit(count, options.limit);
  Tensor labels = read_labels(y_file, n);
  return {read_images(x_file, n, options), labels};
}

Tensor read_stl10_images(const std::string& path, const Stl10Options& options) {
  check_options(options);
  BinaryFile file(path, "stl10");
  return read_images(file, apply_limit(count_images(file.size(), path), options.limit), options);
}

Tensor read_stl10_labels(const std::string& path, int64_t limit) {
  check_limit(limit);
  BinaryFile file(path, "stl10");
  return read_labels(file, apply_limit(count_labels(file.size(), path), limit));
}

Tensor parse_stl10_images(const uint8_t* data, size_t size, const std::string& name,
                          const Stl10Options& options) {
  check_options(options);
  const int64_t n = apply_limit(count_images(size, name), options.limit);
  Tensor images = allocate_images(n, options.size);
  decode_images(data, n, options.size, pixel_table(options.range), options.range,
                images.data<float>());
  return images;
}

Tensor parse_stl10_labels(const uint8_t* data, size_t size, const std::string& name,
                          int64_t limit) {
  check_limit(limit);
  const int64_t n = apply_limit(count_labels(size, name), limit);
  Tensor labels = empty({n}, kInt64);
  decode_labels(data, n, name, labels.data<int64_t>());
  return labels;
}

}  // namespace nova::datasets
