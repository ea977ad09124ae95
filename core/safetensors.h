// core/safetensors.h: read and write checkpoint files in the safetensors
// format, the one Python's `safetensors` package reads and writes:
//   bytes [0, 8)       N, the header length, little-endian uint64
//   bytes [8, 8+N)     UTF-8 JSON, padded with spaces so that N % 8 == 0:
//                      {"__metadata__": {"format": "pt", ...},
//                       "w": {"dtype": "F32", "shape": [2, 3],
//                             "data_offsets": [0, 24]}, ...}
//   bytes [8+N, end)   the data section: each tensor's raw little-endian,
//                      row-major bytes at [begin, end) relative to its start;
//                      the tensors cover it exactly, no gaps, no overlaps
// This layer deals in bytes, dtype names and shapes, not nova::Tensor, so it
// can read any safetensors file and be tested on its own; the state_dict
// layer converts to and from Tensor.
//
// Why it is careful (DESIGN.md "Errors and bad input"): a write goes to a
// temporary file that is fsynced and renamed over the target, so a crash
// leaves the old checkpoint or the new one, never half of one. The writer
// stores the CRC-32 of the data section as "nova.crc32" in __metadata__,
// which catches corruption the length checks cannot (a flipped bit). The
// reader validates every byte of the layout before it returns anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace nova::safetensors {

/// One tensor as stored in the file.
struct Entry {
  /// safetensors dtype name. nova writes "F32", "F64", "I64", "I32", "BOOL";
  /// reading accepts every byte-sized name of the format (F16, BF16, U8,
  /// I8, I16, U16, U32, U64, F8_E4M3, F8_E5M2, F8_E8M0, C64).
  std::string dtype;
  /// Dimension sizes; [] is a 0-d scalar, a 0 anywhere makes it empty.
  std::vector<int64_t> shape;
  /// Raw little-endian data, row-major; size is product(shape) * dtype_size.
  std::vector<uint8_t> bytes;
};

/// Named entries in file order (a vector, not a map, so that insertion
/// order survives a round trip).
using Entries = std::vector<std::pair<std::string, Entry>>;

/// The "__metadata__" block; the format allows string values only.
using Metadata = std::map<std::string, std::string>;

/// Bytes per element of a safetensors dtype ("F32" -> 4). Throws
/// nova::Error for an unknown name, and for the sub-byte dtypes (F4,
/// F6_E2M3, F6_E3M2), which pack several elements into a byte.
size_t dtype_size(const std::string& dtype);

/// Write `entries` to `path`, laid out in the given order, replacing any
/// existing file only once the new one is complete and on disk. Adds
/// "nova.crc32" (CRC-32 of the data section, 8 lowercase hex digits) to the
/// metadata, and "format": "pt" unless `metadata` sets "format".
/// Throws nova::Error naming the file, leaving no temporary file behind and
/// the old file untouched, when an entry is invalid (empty or duplicate
/// name, unknown dtype, negative dimension, bytes.size() not matching
/// dtype and shape) or the file system refuses.
void write_file(const std::string& path, const Entries& entries, const Metadata& metadata = {});

/// Read every entry of the safetensors file at `path`, in data-section
/// order (which is insertion order for files nova wrote). Stores
/// __metadata__ in `*metadata` when it is not null. Throws nova::Error
/// starting "safetensors: <path>: " on any malformed header, layout or
/// byte count, and on a "nova.crc32" mismatch; files without that key
/// (written by Python) are accepted unchecked. Returns all or nothing.
Entries read_file(const std::string& path, Metadata* metadata = nullptr);

/// read_file over a whole file already in memory: `size` bytes at `data`.
/// `name` (the file's path, or any label) opens every message,
/// "safetensors: <name>: ", and byte offsets count from `data`. The same
/// checks and result as read_file; nothing is allocated for a tensor before
/// its bytes are known to lie inside the buffer.
Entries parse(const uint8_t* data, size_t size, const std::string& name,
              Metadata* metadata = nullptr);

}  // namespace nova::safetensors
