// datasets/binary_file.cpp: BinaryFile over POSIX open/read, which report why
// they failed (errno) and take no locale or buffering decisions of their own.
#include "datasets/binary_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/base/error.h"

namespace nova::datasets {

BinaryFile::BinaryFile(const std::string& path, std::string reader)
    : path_(path), reader_(std::move(reader)) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail("{}: {}: cannot open: {}", reader_, path_, std::strerror(errno));
  struct stat info;
  const bool stat_ok = ::fstat(fd_, &info) == 0;
  if (!stat_ok || !S_ISREG(info.st_mode)) {
    const std::string why = stat_ok ? "not a regular file" : std::strerror(errno);
    ::close(fd_);
    fail("{}: {}: cannot open: {}", reader_, path_, why);
  }
  size_ = static_cast<uint64_t>(info.st_size);
}

BinaryFile::~BinaryFile() {
  if (fd_ >= 0) ::close(fd_);
}

void BinaryFile::read(uint8_t* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd_, out + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      fail("{}: {}: read failed at byte {}: {}", reader_, path_, position_ + done,
           std::strerror(errno));
    if (got == 0)
      fail("{}: {}: the file ends at byte {}, before byte {} that was asked for (it had {} bytes "
           "when opened; did it shrink?)", reader_, path_, position_ + done, position_ + n, size_);
    done += static_cast<size_t>(got);
  }
  position_ += n;
}

}  // namespace nova::datasets
