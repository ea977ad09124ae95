// datasets/idx.h: a reader for IDX files, the format of MNIST and
// Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed:
//   bytes 0-1          zero
//   byte 2             element type: 0x08 uint8, 0x09 int8, 0x0B int16,
//                      0x0C int32, 0x0D float32, 0x0E float64
//   byte 3             number of dimensions, >= 1
//   4 bytes per dim    its size, big-endian uint32
//   the rest           the elements, row-major, big-endian, nothing after
// A file whose first two bytes are gzip's magic (1f 8b) is inflated first,
// whatever its name; the IDX layout is then checked in the inflated bytes.
//
// Why it is careful (as core/safetensors.h): the datasets come from the
// network and may be cut short or damaged. Every refusal is a nova::Error
// "idx: <file>: ..." that says at which byte it went wrong, and nothing is
// allocated for the elements before the bytes a header claims are known to
// be there (for gzip: inflated, which stops one byte past the claim).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace nova::datasets {

/// Largest inflated size (header and data) accepted from a gzip-compressed
/// IDX file: 4 GiB, far past MNIST's 47 MB, so that a damaged or hostile
/// header cannot make the reader inflate without end.
constexpr uint64_t kIdxMaxInflatedBytes = uint64_t{4} << 30;

/// The tensor held by the IDX file at `path`, with shape = the file's
/// dimensions (1 to 8 of them: nova's kMaxDims). nova has no 8- or 16-bit
/// dtypes, so uint8, int8, int16 and int32 files all load as int32, the
/// smallest nova dtype that holds each of them exactly; float32 and float64
/// load as themselves. Throws nova::Error "idx: <path>: ..." naming the byte
/// where the file went wrong: bad magic, unknown type, zero or more than 8
/// dimensions, dimensions whose product overflows, truncated header or data,
/// trailing bytes, a corrupt or truncated gzip stream.
Tensor read_idx(const std::string& path);

/// read_idx over a whole file already in memory: `size` bytes at `data`
/// (what the fuzzer calls). `name` opens every message, "idx: <name>: ".
/// Offsets count from `data`, or, for gzip input, say whether they count in
/// the compressed or the inflated bytes.
Tensor parse_idx(const uint8_t* data, size_t size, const std::string& name);

/// An MNIST-style pair of files.
struct IdxDataset {
  Tensor images;  ///< [n, rows, cols] float32, the uint8 pixels / 255, in [0, 1]
  Tensor labels;  ///< [n] int64, the uint8 labels as they are
};

/// Reads an images file (uint8, 3 dims [n, rows, cols]) and a labels file
/// (uint8, 1 dim [n]), e.g. Fashion-MNIST's train-images-idx3-ubyte.gz and
/// train-labels-idx1-ubyte.gz. Throws nova::Error naming the file when
/// either is unreadable (read_idx), has another element type or number of
/// dims, or when their n differ (naming both).
IdxDataset read_idx_dataset(const std::string& images_path, const std::string& labels_path);

}  // namespace nova::datasets
