// datasets/interaction_files.cpp: the MovieLens-1M and Gowalla readers
// (formats in interaction_files.h). Both walk the input line by line, cut
// each line into fields at its separator, and check every field by hand
// (no strtol/strtod: they skip spaces, accept signs and hex, and depend on
// the locale), so that what is accepted is exactly what the header says.
#include "datasets/interaction_files.h"

#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "core/base/error.h"
#include "datasets/binary_file.h"

namespace nova::datasets {

namespace {

// Where the parser is: which reader and file, for every message.
struct Source {
  const char* reader;  // "movielens", "gowalla"
  const std::string& name;
};

// One field of a line: its bytes and the offset of its first byte in the input.
struct Field {
  const uint8_t* p;
  size_t size;
  size_t offset;
};

// "<reader>: <name>: line N (byte B): <what>"
template <typename... Args>
[[noreturn]] void fail_line(const Source& src, size_t line, size_t byte,
                            fmt::format_string<Args...> format, Args&&... args) {
  fail("{}: {}: line {} (byte {}): {}", src.reader, src.name, line, byte,
       fmt::format(format, std::forward<Args>(args)...));
}

// A field's text for a message: in double quotes, unprintable bytes as
// \xNN, cut to its first 32 bytes (with "..." after) so that a binary file
// gives a short readable refusal.
std::string quote(const Field& f) {
  constexpr size_t kMaxShown = 32;
  std::string out = "\"";
  for (size_t i = 0; i < f.size && i < kMaxShown; ++i) {
    const uint8_t c = f.p[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("\\x{:02x}", c);
  }
  out += f.size > kMaxShown ? "\"..." : "\"";
  return out;
}

// Calls on_line(line_number, line_offset, bytes, size) for every line of
// the input, without its "\n" or "\r\n". The last line may lack the "\n";
// an input that ends with "\n" has no empty line after it. Returns the
// number of lines.
template <typename F>
size_t for_each_line(const uint8_t* data, size_t size, F&& on_line) {
  size_t line = 0, begin = 0;
  while (begin < size) {
    const void* nl = std::memchr(data + begin, '\n', size - begin);
    const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - data) : size;
    size_t stop = end;
    if (stop > begin && data[stop - 1] == '\r') --stop;
    on_line(++line, begin, data + begin, stop - begin);
    begin = end + 1;
  }
  return line;
}

// Cuts a line into fields at every occurrence of `separator` (left to
// right, no overlap); `out` receives at most `max_fields` of them and the
// return value is how many there are in all (so a message can say "got 7").
size_t split(const uint8_t* p, size_t size, size_t offset, const char* separator,
             std::vector<Field>& out, size_t max_fields) {
  const size_t sep = std::strlen(separator);
  out.clear();
  size_t count = 0, begin = 0;
  for (size_t i = 0;; ) {
    const bool at_end = i + sep > size;
    if (at_end || std::memcmp(p + i, separator, sep) == 0) {
      const size_t end = at_end ? size : i;
      if (out.size() < max_fields) out.push_back({p + begin, end - begin, offset + begin});
      ++count;
      if (at_end) break;
      i += sep;
      begin = i;
    } else {
      ++i;
    }
  }
  return count;
}

// The unsigned decimal integer a field spells (digits only, at least one,
// at most INT64_MAX); `what` names the field in the message.
int64_t parse_unsigned(const Source& src, size_t line, const Field& f, const char* what) {
  if (f.size == 0) fail_line(src, line, f.offset, "{} is empty, expected an unsigned decimal integer", what);
  uint64_t value = 0;
  for (size_t i = 0; i < f.size; ++i) {
    const uint8_t c = f.p[i];
    if (c < '0' || c > '9')
      fail_line(src, line, f.offset + i, "{} {} is not an unsigned decimal integer", what, quote(f));
    value = value * 10 + (c - '0');
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail_line(src, line, f.offset, "{} {} does not fit a 64-bit integer", what, quote(f));
  }
  return static_cast<int64_t>(value);
}

// ---------------------------------------------------------------------------
// MovieLens-1M

constexpr size_t kMovielensFields = 4;

std::vector<Interaction> parse_movielens(const uint8_t* data, size_t size, const Source& src) {
  std::vector<Interaction> records;
  std::vector<Field> fields;
  const size_t lines = for_each_line(data, size, [&](size_t line, size_t offset, const uint8_t* p, size_t n) {
    if (n == 0) fail_line(src, line, offset, "empty line, expected UserID::MovieID::Rating::Timestamp");
    const size_t count = split(p, n, offset, "::", fields, kMovielensFields);
    if (count != kMovielensFields)
      fail_line(src, line, offset, "expected 4 fields separated by '::' "
                                   "(UserID::MovieID::Rating::Timestamp), got {}", count);
    Interaction r;
    r.user = parse_unsigned(src, line, fields[0], "UserID");
    r.item = parse_unsigned(src, line, fields[1], "MovieID");
    const int64_t rating = parse_unsigned(src, line, fields[2], "Rating");
    if (rating < 1 || rating > 5)
      fail_line(src, line, fields[2].offset, "Rating {} is outside 1..5", rating);
    r.time = parse_unsigned(src, line, fields[3], "Timestamp");
    records.push_back(r);
  });
  if (lines == 0) fail("{}: {}: no ratings: the input is empty", src.reader, src.name);
  return records;
}

// ---------------------------------------------------------------------------
// Gowalla

constexpr size_t kGowallaFields = 5;

// Days from 1970-01-01 to year-month-day in the proleptic Gregorian
// calendar: count whole 400-year eras (146097 days each) from 0000-03-01,
// then the day within the era, with years starting in March so that the
// leap day comes last (the algorithm of Howard Hinnant's "chrono-compatible
// low-level date algorithms").
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;                                   // [0, 399]
  const int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;  // 719468: days from 0000-03-01 to 1970-01-01
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Seconds since 1970 of a field "YYYY-MM-DDTHH:MM:SSZ" (20 bytes, UTC).
int64_t parse_time(const Source& src, size_t line, const Field& f) {
  static constexpr char kShape[] = "dddd-dd-ddTdd:dd:ddZ";  // d: a digit
  constexpr size_t kLength = sizeof kShape - 1;
  auto bad = [&](size_t at, const char* why) {
    fail_line(src, line, f.offset + at, "check-in time {} {}; expected YYYY-MM-DDTHH:MM:SSZ", quote(f), why);
  };
  if (f.size != kLength) bad(0, f.size < kLength ? "is too short" : "is too long");
  for (size_t i = 0; i < kLength; ++i) {
    const bool digit = f.p[i] >= '0' && f.p[i] <= '9';
    if (kShape[i] == 'd' ? !digit : f.p[i] != static_cast<uint8_t>(kShape[i]))
      bad(i, kShape[i] == 'd' ? "has a non-digit where a digit belongs" : "has a wrong separator");
  }
  auto number = [&](size_t at, size_t digits) {
    int64_t v = 0;
    for (size_t i = 0; i < digits; ++i) v = v * 10 + (f.p[at + i] - '0');
    return v;
  };
  const int64_t year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const int64_t hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  static constexpr int64_t kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) bad(5, "has a month outside 01..12");
  const int64_t days_in_month = kDaysIn[month - 1] + (month == 2 && is_leap(year));
  if (day < 1 || day > days_in_month) bad(8, "has a day that month does not have");
  if (hour > 23) bad(11, "has an hour outside 00..23");
  if (minute > 59) bad(14, "has a minute outside 00..59");
  if (second > 59) bad(17, "has a second outside 00..59");
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

// Checks that a field is [-]digits[.digits]; `what` names it.
void check_decimal(const Source& src, size_t line, const Field& f, const char* what) {
  size_t i = f.size > 0 && f.p[0] == '-' ? 1 : 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < f.size && f.p[i] >= '0' && f.p[i] <= '9') ++i;
    return i > start;
  };
  bool ok = digits();
  if (ok && i < f.size && f.p[i] == '.') {
    ++i;
    ok = digits();
  }
  if (!ok || i != f.size)
    fail_line(src, line, f.offset + (ok ? i : 0), "{} {} is not a decimal number ([-]digits[.digits])",
              what, quote(f));
}

std::vector<Interaction> parse_gowalla(const uint8_t* data, size_t size, const Source& src) {
  std::vector<Interaction> records;
  std::vector<Field> fields;
  const size_t lines = for_each_line(data, size, [&](size_t line, size_t offset, const uint8_t* p, size_t n) {
    if (n == 0)
      fail_line(src, line, offset, "empty line, expected user, check-in time, latitude, longitude "
                                   "and location id separated by tabs");
    const size_t count = split(p, n, offset, "\t", fields, kGowallaFields);
    if (count != kGowallaFields)
      fail_line(src, line, offset, "expected 5 fields separated by tabs "
                                   "(user, check-in time, latitude, longitude, location id), got {}", count);
    Interaction r;
    r.user = parse_unsigned(src, line, fields[0], "user");
    r.time = parse_time(src, line, fields[1]);
    check_decimal(src, line, fields[2], "latitude");
    check_decimal(src, line, fields[3], "longitude");
    r.item = parse_unsigned(src, line, fields[4], "location id");
    records.push_back(r);
  });
  if (lines == 0) fail("{}: {}: no check-ins: the input is empty", src.reader, src.name);
  return records;
}

// The whole file at `path`, through BinaryFile so that open and read
// failures are named as the other readers name them.
std::vector<uint8_t> read_all(const std::string& path, const char* reader) {
  BinaryFile file(path, reader);
  std::vector<uint8_t> bytes(static_cast<size_t>(file.size()));
  file.read(bytes.data(), bytes.size());
  return bytes;
}

}  // namespace

std::vector<Interaction> parse_movielens_ratings(const uint8_t* data, size_t size, const std::string& name) {
  return parse_movielens(data, size, Source{"movielens", name});
}

std::vector<Interaction> read_movielens_ratings(const std::string& path) {
  const std::vector<uint8_t> bytes = read_all(path, "movielens");
  return parse_movielens(bytes.data(), bytes.size(), Source{"movielens", path});
}

std::vector<Interaction> parse_gowalla_checkins(const uint8_t* data, size_t size, const std::string& name) {
  return parse_gowalla(data, size, Source{"gowalla", name});
}

std::vector<Interaction> read_gowalla_checkins(const std::string& path) {
  const std::vector<uint8_t> bytes = read_all(path, "gowalla");
  return parse_gowalla(bytes.data(), bytes.size(), Source{"gowalla", path});
}

}  // namespace nova::datasets
