// tests/test_util.h: helpers shared by the test files.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/state_dict.h"

namespace nova::test {

/// Fresh random float64 leaf with requires_grad, values in [lo, hi).
inline Tensor leaf(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  return uniform(shape, lo, hi, kFloat64).requires_grad_();
}

/// Largest |a - b| over all elements (same shapes required).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

/// Whether a and b (on any devices) have one shape and dtype and the same
/// bits element for element: -0 against +0 and NaN payloads count, as a
/// kernel that must round exactly as another is tested.
inline bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  if (a.numel() == 0) return true;
  Tensor ac = a.to(kCPU).contiguous(), bc = b.to(kCPU).contiguous();
  return std::memcmp(ac.raw_data(), bc.raw_data(), size_t(ac.numel()) * dtype_size(ac.dtype())) == 0;
}

/// REQUIREs max |a - b| <= tol (1 + max |b|): a relative bound that does
/// not blow up where b is near zero; INFO names the worst element.
inline void require_close_rel(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  double worst = 0, scale = 0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(b[i]));
    if (std::abs(a[i] - b[i]) > worst) worst = std::abs(a[i] - b[i]), at = i;
  }
  INFO("worst element " << at << ": " << (a.empty() ? 0 : a[at]) << " vs " << (b.empty() ? 0 : b[at])
                        << " (scale " << scale << ")");
  REQUIRE(worst <= tol * (1 + scale));
}

/// REQUIREs that a and b hold the same names, in order, and that every
/// tensor has the same dtype, shape and bits (INFO names the key).
inline void require_identical(const StateDict& a, const StateDict& b) {
  REQUIRE(a.keys() == b.keys());
  for (const auto& [key, t] : a) {
    INFO("key " << key);
    const Tensor& u = b.at(key);
    REQUIRE(t.dtype() == u.dtype());
    REQUIRE(t.shape() == u.shape());
    Tensor tc = t.to(kCPU).contiguous(), uc = u.to(kCPU).contiguous();
    REQUIRE(std::memcmp(tc.raw_data(), uc.raw_data(), size_t(t.numel()) * dtype_size(t.dtype())) == 0);
  }
}

/// All values of t as doubles, row-major.
inline std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// The lines of a text file (REQUIREs that it opens).
inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  REQUIRE(f);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

/// What a command printed (stdout and stderr together) and its exit status.
struct CommandResult {
  int status;
  std::string output;
};

/// Runs `cmd` through the shell, stderr joined to stdout, in a process of
/// its own (the example tests run the real trainer binaries this way).
inline CommandResult run_command(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((cmd + " 2>&1").c_str(), "r"), pclose);
  REQUIRE(pipe);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe.get())) out += buf;
  const int status = pclose(pipe.release());
  return {WEXITSTATUS(status), out};
}

/// A fresh folder under the temp directory (nova_test_XXXXXX), removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "nova_test_XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path / name).string(); }

  /// File names in the folder, sorted (to spot a leftover "*.tmp.<pid>").
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& item : std::filesystem::directory_iterator(path))
      names.push_back(item.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
};

/// REQUIREs that gradcheck passes, printing its report otherwise.
#define REQUIRE_GRADCHECK(fn, inputs)                 \
  do {                                                \
    auto gc_result_ = ::nova::gradcheck(fn, inputs);  \
    INFO(gc_result_.report);                          \
    REQUIRE(gc_result_.ok);                           \
  } while (0)

/// REQUIREs that gradgradcheck (second derivatives) passes.
#define REQUIRE_GRADGRADCHECK(fn, inputs)                 \
  do {                                                    \
    auto ggc_result_ = ::nova::gradgradcheck(fn, inputs); \
    INFO(ggc_result_.report);                             \
    REQUIRE(ggc_result_.ok);                              \
  } while (0)

/// Expects `expr` to throw nova::Error whose message contains `text`.
#define REQUIRE_THROWS_NOVA(expr, text) \
  REQUIRE_THROWS_WITH(expr, Catch::Matchers::Contains(text))

}  // namespace nova::test
