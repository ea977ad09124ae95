// datasets/binary_file.h: a file read front to back in pieces, for the
// readers of record-based dataset files (CIFAR, STL-10) that must not load a
// whole file when the caller wants only its start (STL-10's unlabelled file
// is 2.7 GB). Every failure is a nova::Error "<reader>: <path>: ..." that
// says at which byte it happened, as the readers' own checks do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nova::datasets {

class BinaryFile {
 public:
  /// Opens `path` for reading; `reader` opens every message ("cifar10").
  /// Throws nova::Error "<reader>: <path>: cannot open: <why>" when it
  /// cannot be opened, or is not a regular file.
  BinaryFile(const std::string& path, std::string reader);
  ~BinaryFile();
  BinaryFile(const BinaryFile&) = delete;
  BinaryFile& operator=(const BinaryFile&) = delete;

  const std::string& path() const { return path_; }
  /// The file's size when it was opened.
  uint64_t size() const { return size_; }
  /// Bytes read so far: the offset of the next byte read() returns.
  uint64_t position() const { return position_; }

  /// The next `n` bytes into `out`. Throws nova::Error naming the offset when
  /// the file ends first (it shrank since it was opened) or the read fails.
  void read(uint8_t* out, size_t n);

 private:
  std::string path_;
  std::string reader_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t position_ = 0;
};

}  // namespace nova::datasets
