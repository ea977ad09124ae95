// datasets/idx.cpp: the IDX reader (layout in datasets/idx.h): header
// checks, big-endian conversion into nova dtypes, and the capped gzip
// inflation (zlib) in front of them.
#include "datasets/idx.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "core/base/error.h"
#include "core/factory.h"

namespace nova::datasets {

namespace {

constexpr size_t kMagicBytes = 4;  // 0, 0, type, number of dims

// Every message starts "idx: <name>: " so that a caller loading an images
// and a labels file can tell which one was refused.
template <typename... Args>
[[noreturn]] void fail_at(const std::string& name, fmt::format_string<Args...> format,
                          Args&&... args) {
  fail("idx: {}: {}", name, fmt::format(format, std::forward<Args>(args)...));
}

// One IDX element type: its code in byte 2, bytes per element, and the
// nova dtype it loads as.
struct IdxType {
  uint8_t code;
  const char* name;
  size_t size;
  DType dtype;
};

constexpr IdxType kTypes[] = {
    {0x08, "uint8", 1, kInt32},   {0x09, "int8", 1, kInt32},     {0x0B, "int16", 2, kInt32},
    {0x0C, "int32", 4, kInt32},   {0x0D, "float32", 4, kFloat32}, {0x0E, "float64", 8, kFloat64},
};

const IdxType* find_type(uint8_t code) {
  for (const IdxType& t : kTypes)
    if (t.code == code) return &t;
  return nullptr;
}

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

uint64_t be64(const uint8_t* p) { return uint64_t{be32(p)} << 32 | be32(p + 4); }

// The float whose IEEE bits are `bits` (float from uint32_t, double from uint64_t).
template <typename F, typename Bits>
F from_bits(Bits bits) {
  static_assert(sizeof(F) == sizeof(Bits));
  F f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// What the first bytes of a file say about the rest.
struct Header {
  const IdxType* type;
  std::vector<int64_t> dims;
  size_t header_bytes;  // 4 + 4 per dim
  uint64_t data_bytes;  // product(dims) * type size
};

// Checks and decodes the header at the start of `size` bytes. `where` is
// appended to every byte offset (" of the inflated data" for gzip input).
// Throws on damage or when the header itself is cut short; does not look
// at the data.
Header parse_header(const uint8_t* p, size_t size, const std::string& name, const char* where) {
  if (size < kMagicBytes)
    fail_at(name, "truncated header: {} bytes{}, the magic number needs 4 (ends at byte {})", size,
            where, size);
  for (size_t i = 0; i < 2; ++i)
    if (p[i] != 0)
      fail_at(name, "bad magic at byte {}{}: 0x{:02x}, expected 0 (an IDX file starts 00 00 "
                    "<type> <dims>)", i, where, p[i]);
  Header h;
  h.type = find_type(p[2]);
  if (!h.type)
    fail_at(name, "unknown element type 0x{:02x} at byte 2{} (expected 0x08 uint8, 0x09 int8, "
                  "0x0b int16, 0x0c int32, 0x0d float32 or 0x0e float64)", p[2], where);
  const size_t ndims = p[3];
  if (ndims == 0) fail_at(name, "zero dimensions at byte 3{}; an IDX file has at least one", where);
  if (ndims > static_cast<size_t>(kMaxDims))
    fail_at(name, "{} dimensions at byte 3{}; nova tensors have at most {}", ndims, where,
            kMaxDims);
  h.header_bytes = kMagicBytes + 4 * ndims;
  if (size < h.header_bytes)
    fail_at(name, "truncated header: {} dimensions need bytes 4 to {}, the input ends at byte "
                  "{}{}", ndims, h.header_bytes, size, where);
  // As nova's Shape requires, the product of the nonzero dims must fit
  // int64 even when a 0 makes the tensor empty.
  int64_t extent = 1;
  bool has_zero = false;
  for (size_t i = 0; i < ndims; ++i) {
    const int64_t d = be32(p + kMagicBytes + 4 * i);
    h.dims.push_back(d);
    if (d == 0)
      has_zero = true;
    else if (__builtin_mul_overflow(extent, d, &extent))
      fail_at(name, "dimension {} ({}) at byte {}{} makes the element count overflow int64", i, d,
              kMagicBytes + 4 * i, where);
  }
  if (has_zero) {
    h.data_bytes = 0;
  } else if (__builtin_mul_overflow(static_cast<uint64_t>(extent), h.type->size, &h.data_bytes)) {
    fail_at(name, "{} {} elements (dims at bytes 4 to {}{}) overflow a 64-bit byte count", extent,
            h.type->name, h.header_bytes, where);
  }
  return h;
}

// Element i of a big-endian array of T (the IDX type), as the nova type U.
template <typename U>
void convert(const IdxType& type, const uint8_t* src, size_t count, U* dst) {
  switch (type.code) {
    case 0x08:
      for (size_t i = 0; i < count; ++i) dst[i] = static_cast<U>(src[i]);
      break;
    case 0x09:
      for (size_t i = 0; i < count; ++i) dst[i] = static_cast<U>(static_cast<int8_t>(src[i]));
      break;
    case 0x0B:
      for (size_t i = 0; i < count; ++i)
        dst[i] = static_cast<U>(static_cast<int16_t>(uint16_t(src[2 * i] << 8 | src[2 * i + 1])));
      break;
    case 0x0C:
      for (size_t i = 0; i < count; ++i) dst[i] = static_cast<U>(static_cast<int32_t>(be32(src + 4 * i)));
      break;
    case 0x0D:
      for (size_t i = 0; i < count; ++i) dst[i] = static_cast<U>(from_bits<float>(be32(src + 4 * i)));
      break;
    case 0x0E:
      for (size_t i = 0; i < count; ++i) dst[i] = static_cast<U>(from_bits<double>(be64(src + 8 * i)));
      break;
  }
}

// A whole uncompressed IDX file -> its tensor and element type. Every size
// is checked against `size` before the tensor is allocated.
Tensor parse_plain(const uint8_t* p, size_t size, const std::string& name, const char* where,
                   const IdxType** type_out = nullptr) {
  const Header h = parse_header(p, size, name, where);
  const size_t present = size - h.header_bytes;
  if (h.data_bytes > present)
    fail_at(name, "truncated data: the header claims {} bytes of {} from byte {}, the input ends "
                  "at byte {}{} ({} bytes short)", h.data_bytes, h.type->name, h.header_bytes,
            size, where, h.data_bytes - present);
  if (h.data_bytes < present)
    fail_at(name, "{} trailing bytes at byte {}{}, after the {} bytes of data the header claims",
            present - h.data_bytes, h.header_bytes + h.data_bytes, where, h.data_bytes);
  if (type_out) *type_out = h.type;
  Tensor t = empty(Shape(h.dims), h.type->dtype);
  const uint8_t* src = p + h.header_bytes;
  const size_t count = static_cast<size_t>(t.numel());
  switch (h.type->dtype) {
    case DType::Int32: convert(*h.type, src, count, t.data<int32_t>()); break;
    case DType::Float32: convert(*h.type, src, count, t.data<float>()); break;
    default: convert(*h.type, src, count, t.data<double>()); break;
  }
  return t;
}

// ---------------------------------------------------------------------------
// gzip

// zlib's avail_in and avail_out are 32-bit: feed and fill at most this much
// per call.
constexpr size_t kZlibStep = size_t{1} << 30;
constexpr size_t kMinGrowth = size_t{64} << 10;

// Inflates a gzip stream (several concatenated members, as gzip allows) on
// demand: pull(want) extends the output to `want` bytes or to the end of
// the stream, whichever comes first, so the reader asks for exactly the
// bytes a header justifies and never more.
class Inflater {
 public:
  Inflater(const uint8_t* data, size_t size, const std::string& name)
      : data_(data), size_(size), name_(name) {
    stream_.next_in = const_cast<Bytef*>(data);  // zlib's API is not const; it only reads
    stream_.avail_in = 0;
    // 16 + MAX_WBITS: a gzip wrapper (header and CRC-32 trailer), which
    // inflate checks
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK)
      fail_at(name, "cannot start zlib: {}", stream_.msg ? stream_.msg : "out of memory");
  }
  ~Inflater() { inflateEnd(&stream_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  std::vector<uint8_t>& out() { return out_; }

  void pull(size_t want) {
    while (!ended_ && out_.size() < want) {
      const size_t old = out_.size();
      // geometric growth, so the copies stay linear, but never past `want`
      const size_t grow = std::min({want - old, std::max(old, kMinGrowth), kZlibStep});
      out_.resize(old + grow);
      stream_.next_out = out_.data() + old;
      stream_.avail_out = static_cast<uInt>(grow);
      if (stream_.avail_in == 0) stream_.avail_in = static_cast<uInt>(std::min(size_ - consumed(), kZlibStep));
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      out_.resize(old + (grow - stream_.avail_out));
      if (rc == Z_STREAM_END) {
        // another member may follow; anything else there is inflate's to
        // refuse (a bad header) on the next round
        if (consumed() == size_)
          ended_ = true;
        else if (inflateReset(&stream_) != Z_OK)
          fail_at(name_, "cannot restart zlib at compressed byte {}", consumed());
      } else if (rc == Z_BUF_ERROR && consumed() == size_) {
        fail_at(name_, "gzip stream truncated: the input ends at compressed byte {} before the "
                       "stream does ({} bytes inflated)", size_, out_.size());
      } else if (rc != Z_OK) {
        fail_at(name_, "gzip stream corrupt at compressed byte {}: {} ({} bytes inflated)",
                consumed(), stream_.msg ? stream_.msg : zError(rc), out_.size());
      }
    }
  }

 private:
  size_t consumed() const { return static_cast<size_t>(stream_.next_in - data_); }

  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
  z_stream stream_{};
  std::vector<uint8_t> out_;
  bool ended_ = false;
};

bool is_gzip(const uint8_t* data, size_t size) {
  return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

constexpr const char* kInflated = " of the inflated data";

Tensor parse_any(const uint8_t* data, size_t size, const std::string& name,
                 const IdxType** type_out = nullptr) {
  if (!is_gzip(data, size)) return parse_plain(data, size, name, "", type_out);
  Inflater gz(data, size, name);
  // the header in two steps (its length is in byte 3), then exactly the
  // bytes it claims plus one, which is enough to tell trailing bytes
  gz.pull(kMagicBytes);
  if (gz.out().size() >= kMagicBytes) gz.pull(kMagicBytes + 4 * size_t{gz.out()[3]});
  const Header h = parse_header(gz.out().data(), gz.out().size(), name, kInflated);
  // data_bytes is checked first: the sum may wrap when it is near 2^64
  const uint64_t total = h.header_bytes + h.data_bytes;
  if (h.data_bytes > kIdxMaxInflatedBytes || total > kIdxMaxInflatedBytes)
    fail_at(name, "the header claims {} bytes of {} (dims at bytes 4 to {}{}), more than the {} "
                  "bytes a gzip-compressed IDX file may inflate to", h.data_bytes, h.type->name,
            h.header_bytes, kInflated, kIdxMaxInflatedBytes);
  gz.pull(static_cast<size_t>(total) + 1);
  return parse_plain(gz.out().data(), gz.out().size(), name, kInflated, type_out);
}

// ---------------------------------------------------------------------------
// files

std::vector<uint8_t> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_at(path, "cannot open: {}", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0) fail_at(path, "cannot stat: {}", std::strerror(errno));
  if (!S_ISREG(info.st_mode)) fail_at(path, "not a regular file");
  std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  errno = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done != bytes.size())
    fail_at(path, "short read at byte {}: fstat gave {} bytes ({})", done, bytes.size(),
            errno ? std::strerror(errno) : "file shrank?");
  return bytes;
}

Tensor read_typed(const std::string& path, const IdxType** type) {
  const std::vector<uint8_t> bytes = read_whole_file(path);
  return parse_any(bytes.data(), bytes.size(), path, type);
}

}  // namespace

Tensor parse_idx(const uint8_t* data, size_t size, const std::string& name) {
  return parse_any(data, size, name);
}

Tensor read_idx(const std::string& path) { return read_typed(path, nullptr); }

IdxDataset read_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  const IdxType* image_type = nullptr;
  const IdxType* label_type = nullptr;
  Tensor images = read_typed(images_path, &image_type);
  Tensor labels = read_typed(labels_path, &label_type);
  if (image_type->code != 0x08)
    fail_at(images_path, "images hold {}, expected uint8 pixels", image_type->name);
  if (images.dim() != 3)
    fail_at(images_path, "images have {} dimensions, expected 3 [n, rows, cols]", images.dim());
  if (label_type->code != 0x08)
    fail_at(labels_path, "labels hold {}, expected uint8", label_type->name);
  if (labels.dim() != 1)
    fail_at(labels_path, "labels have {} dimensions, expected 1 [n]", labels.dim());
  if (images.size(0) != labels.size(0))
    fail("idx: {} holds {} images but {} holds {} labels", images_path, images.size(0),
         labels_path, labels.size(0));

  IdxDataset out{empty(images.shape(), kFloat32), empty(labels.shape(), kInt64)};
  const int32_t* pixels = images.data<int32_t>();
  float* scaled = out.images.data<float>();
  for (int64_t i = 0; i < images.numel(); ++i) scaled[i] = static_cast<float>(pixels[i]) / 255.0f;
  const int32_t* raw = labels.data<int32_t>();
  int64_t* wide = out.labels.data<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i) wide[i] = raw[i];
  return out;
}

}  // namespace nova::datasets
