// datasets/cifar.h: readers for the binary versions of CIFAR-10 and CIFAR-100
// (https://www.cs.toronto.edu/~kriz/cifar.html, the "binary version" files).
// A file is a run of fixed-size records with nothing before, between or
// after them:
//   CIFAR-10   1 label byte (0-9)                        + 3072 pixel bytes
//   CIFAR-100  1 coarse label (0-19), 1 fine label (0-99) + 3072 pixel bytes
// The 3072 pixel bytes are a 32x32 image channel by channel, R then G then
// B, each channel row-major: already the [3, 32, 32] layout of a tensor row,
// so a record becomes images[k] with no reordering.
//
// Files, as the archives unpack them:
//   cifar-10-binary.tar.gz  -> cifar-10-batches-bin/  data_batch_1.bin ..
//                              data_batch_5.bin (train, 10000 records each),
//                              test_batch.bin (10000)
//   cifar-100-binary.tar.gz -> cifar-100-binary/  train.bin (50000), test.bin (10000)
//
// Errors are nova::Error "cifar10: <file>: ..." (or "cifar100: ...") naming
// the byte: a size that is not a whole number of records, a label out of
// range (with its record and offset), a missing file (with the names the
// split expects). Nothing is allocated for images before every file's size
// has been checked, and files are read a chunk of records at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/images.h"

namespace nova::datasets {

/// Which of CIFAR-100's two labels becomes ImageDataset::labels.
enum class CifarLabel {
  Fine,    ///< the 100 classes (byte 1 of a record), the default
  Coarse,  ///< the 20 superclasses (byte 0)
};

struct CifarOptions {
  /// [-1, 1] by default, the range of a GAN generator's tanh (datasets/images.h)
  PixelRange range = PixelRange::MinusOneToOne;
  /// CIFAR-100 only; CIFAR-10 has one label
  CifarLabel label = CifarLabel::Fine;
};

enum class CifarSplit { Train, Test };

/// Size in bytes of one record: 3073 (CIFAR-10), 3074 (CIFAR-100).
constexpr size_t kCifar10RecordBytes = 1 + 3072;
constexpr size_t kCifar100RecordBytes = 2 + 3072;

/// The names of the files `split` reads, in the order their records are
/// concatenated: data_batch_1.bin .. data_batch_5.bin or test_batch.bin
/// (CIFAR-10); train.bin or test.bin (CIFAR-100).
std::vector<std::string> cifar10_file_names(CifarSplit split);
std::vector<std::string> cifar100_file_names(CifarSplit split);

/// The CIFAR-10 split in folder `dir` (cifar-10-batches-bin): images
/// [n, 3, 32, 32] float32 (n = 50000 train, 10000 test for the real files)
/// and labels [n] int64 in 0-9, records in file order. Throws nova::Error
/// "cifar10: <file>: ..." when a file is missing (listing the expected
/// names), cannot be read, is not a whole number of 3073-byte records, or
/// holds a label outside 0-9 (naming the record and its byte offset).
ImageDataset read_cifar10(const std::string& dir, CifarSplit split,
                          const CifarOptions& options = {});

/// The CIFAR-100 split in folder `dir` (cifar-100-binary): images as
/// read_cifar10, labels [n] int64, fine (0-99) or coarse (0-19) as
/// options.label says. Both labels of every record are checked, whichever
/// is returned. Errors as read_cifar10, "cifar100: <file>: ...".
ImageDataset read_cifar100(const std::string& dir, CifarSplit split,
                           const CifarOptions& options = {});

/// The records of the given files, concatenated in order (for a subset of
/// the batches, or files renamed). Errors as read_cifar10 / read_cifar100.
ImageDataset read_cifar10_files(const std::vector<std::string>& paths,
                                const CifarOptions& options = {});
ImageDataset read_cifar100_files(const std::vector<std::string>& paths,
                                 const CifarOptions& options = {});

/// One whole file already in memory: `size` bytes at `data` (what the
/// fuzzer calls). `name` stands for the file in every message
/// ("cifar10: <name>: ..."); offsets count from `data`.
ImageDataset parse_cifar10(const uint8_t* data, size_t size, const std::string& name,
                           const CifarOptions& options = {});
ImageDataset parse_cifar100(const uint8_t* data, size_t size, const std::string& name,
                            const CifarOptions& options = {});

}  // namespace nova::datasets
