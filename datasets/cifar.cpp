// datasets/cifar.cpp: the CIFAR-10 / CIFAR-100 readers (format in
// datasets/cifar.h). The two formats differ only in the label bytes, so one
// Format value describes each and one decoder serves both: sizes are checked
// for every file first, the output is allocated once, then each file is read
// a chunk of records at a time straight into its rows.
#include "datasets/cifar.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/error.h"
#include "core/factory.h"
#include "datasets/binary_file.h"

namespace nova::datasets {

namespace {

constexpr int64_t kChannels = 3, kSide = 32;
constexpr size_t kPixelBytes = kChannels * kSide * kSide;  // 3072
// Records decoded per read: 1024 x 3 KB, so a 150 MB train.bin never sits
// in memory beside the floats it becomes.
constexpr uint64_t kChunkRecords = 1024;

// One label byte of a record.
struct LabelByte {
  const char* name;  // as messages say it: "label", "coarse label", "fine label"
  int classes;       // valid values are 0 .. classes - 1
};

struct Format {
  const char* reader;   // "cifar10", opens every message
  const char* archive;  // where the files come from, for the missing-file hint
  const char* folder;   // the folder the archive unpacks to
  int label_count;      // label bytes at the start of a record: 1 or 2
  LabelByte labels[2];
  uint64_t record_bytes() const { return uint64_t(label_count) + kPixelBytes; }
};

constexpr Format kCifar10{"cifar10", "cifar-10-binary.tar.gz", "cifar-10-batches-bin", 1,
                          {{"label", 10}, {"", 0}}};
constexpr Format kCifar100{"cifar100", "cifar-100-binary.tar.gz", "cifar-100-binary", 2,
                           {{"coarse label", 20}, {"fine label", 100}}};

// Which label byte goes to ImageDataset::labels.
int kept_label(const Format& format, const CifarOptions& options) {
  return format.label_count == 2 && options.label == CifarLabel::Fine ? 1 : 0;
}

// The number of records in `size` bytes, or a refusal naming the byte where
// the last, cut record starts.
int64_t count_records(uint64_t size, const Format& format, const std::string& name) {
  const uint64_t record = format.record_bytes();
  if (size == 0)
    fail("{}: {}: the file is empty; expected {}-byte records ({} label byte{} + {} pixel bytes)",
         format.reader, name, record, format.label_count, format.label_count == 1 ? "" : "s",
         kPixelBytes);
  if (size % record != 0)
    fail("{}: {}: {} bytes is not a whole number of {}-byte records: record {} starts at byte {} "
         "and has only {} bytes (truncated or not a CIFAR file?)", format.reader, name, size,
         record, size / record, size / record * record, size % record);
  return static_cast<int64_t>(size / record);
}

// Decodes `n` whole records at `bytes`, the first of which is record `first`
// of its file, into rows [0, n) of `images` and `labels`. Checks every label
// byte, naming its record and byte offset in the file.
void decode(const uint8_t* bytes, int64_t n, int64_t first, const Format& format,
            const std::string& name, int kept, const std::array<float, 256>& value, float* images,
            int64_t* labels) {
  const uint64_t record = format.record_bytes();
  for (int64_t k = 0; k < n; ++k) {
    const uint8_t* r = bytes + uint64_t(k) * record;
    for (int j = 0; j < format.label_count; ++j) {
      const LabelByte& label = format.labels[j];
      if (r[j] >= label.classes)
        fail("{}: {}: record {}: {} {} at byte {} is out of range 0-{}", format.reader, name,
             first + k, label.name, r[j], uint64_t(first + k) * record + uint64_t(j),
             label.classes - 1);
    }
    labels[k] = r[kept];
    const uint8_t* pixels = r + format.label_count;
    float* out = images + k * int64_t(kPixelBytes);
    for (size_t i = 0; i < kPixelBytes; ++i) out[i] = value[pixels[i]];
  }
}

ImageDataset allocate(int64_t n) {
  return {empty({n, kChannels, kSide, kSide}, kFloat32), empty({n}, kInt64)};
}

ImageDataset parse(const uint8_t* data, size_t size, const std::string& name,
                   const Format& format, const CifarOptions& options) {
  const int64_t n = count_records(size, format, name);
  ImageDataset out = allocate(n);
  decode(data, n, 0, format, name, kept_label(format, options), pixel_table(options.range),
         out.images.data<float>(), out.labels.data<int64_t>());
  return out;
}

ImageDataset read_files(const std::vector<std::string>& paths, const Format& format,
                        const CifarOptions& options) {
  NOVA_CHECK(!paths.empty(), "{}: no files given", format.reader);
  // every file opened and its size checked before anything is allocated
  std::vector<std::unique_ptr<BinaryFile>> files;
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const std::string& path : paths) {
    files.push_back(std::make_unique<BinaryFile>(path, format.reader));
    counts.push_back(count_records(files.back()->size(), format, path));
    total += counts.back();
  }
  ImageDataset out = allocate(total);
  float* images = out.images.data<float>();
  int64_t* labels = out.labels.data<int64_t>();
  const std::array<float, 256> value = pixel_table(options.range);
  const int kept = kept_label(format, options);
  const uint64_t record = format.record_bytes();
  std::vector<uint8_t> chunk(size_t(std::min<int64_t>(total, kChunkRecords) * record));
  int64_t row = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    for (int64_t first = 0; first < counts[f]; first += kChunkRecords) {
      const int64_t n = std::min<int64_t>(kChunkRecords, counts[f] - first);
      files[f]->read(chunk.data(), size_t(n) * record);
      decode(chunk.data(), n, first, format, paths[f], kept, value,
             images + row * int64_t(kPixelBytes), labels + row);
      row += n;
    }
  }
  return out;
}

// The split's files in `dir`, or a refusal naming the first missing one and
// listing what the split expects.
std::vector<std::string> split_paths(const std::string& dir, const std::vector<std::string>& names,
                                     const Format& format, CifarSplit split) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths, missing;
  for (const std::string& name : names) {
    paths.push_back((fs::path(dir) / name).string());
    std::error_code ec;
    if (!fs::exists(paths.back(), ec)) missing.push_back(name);
  }
  if (!missing.empty())
    fail("{}: {}: no such file (missing in {}: {}); the {} split reads {} from one folder, the "
         "{}/ that {} unpacks to", format.reader, (fs::path(dir) / missing[0]).string(), dir,
         fmt::join(missing, ", "), split == CifarSplit::Train ? "train" : "test",
         fmt::join(names, ", "), format.folder, format.archive);
  return paths;
}

}  // namespace

std::vector<std::string> cifar10_file_names(CifarSplit split) {
  if (split == CifarSplit::Test) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int i = 1; i <= 5; ++i) names.push_back(fmt::format("data_batch_{}.bin", i));
  return names;
}

std::vector<std::string> cifar100_file_names(CifarSplit split) {
  return {split == CifarSplit::Train ? "train.bin" : "test.bin"};
}

ImageDataset read_cifar10(const std::string& dir, CifarSplit split, const CifarOptions& options) {
  return read_files(split_paths(dir, cifar10_file_names(split), kCifar10, split), kCifar10, options);
}

ImageDataset read_cifar100(const std::string& dir, CifarSplit split, const CifarOptions& options) {
  return read_files(split_paths(dir, cifar100_file_names(split), kCifar100, split), kCifar100,
                    options);
}

ImageDataset read_cifar10_files(const std::vector<std::string>& paths, const CifarOptions& options) {
  return read_files(paths, kCifar10, options);
}

ImageDataset read_cifar100_files(const std::vector<std::string>& paths,
                                 const CifarOptions& options) {
  return read_files(paths, kCifar100, options);
}

ImageDataset parse_cifar10(const uint8_t* data, size_t size, const std::string& name,
                           const CifarOptions& options) {
  return parse(data, size, name, kCifar10, options);
}

ImageDataset parse_cifar100(const uint8_t* data, size_t size, const std::string& name,
                            const CifarOptions& options) {
  return parse(data, size, name, kCifar100, options);
}

}  // namespace nova::datasets
