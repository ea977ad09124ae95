// tests/checkpoint_crash_writer.cpp: the process that tests/test_checkpoint_crash.cpp
// kills. A checkpoint is only crash-safe if a process killed at any moment
// of a save leaves a file that loads, so the saving has to happen in a
// process of its own that the test can SIGKILL; this is that process.
//
//   checkpoint_crash_writer loop PATH MEGABYTES FIRST
//     saves state FIRST, FIRST+1, ... to PATH forever; after each save is
//     complete it prints the state's number on its own line (the test reads
//     these to know which states were acknowledged).
//   checkpoint_crash_writer fill PATH MEGABYTES LIMIT_BYTES
//     with the file-size limit (RLIMIT_FSIZE) at LIMIT_BYTES, as on a full
//     disk, tries to save state 999999 to PATH; prints the error and exits 3
//     when the save is refused, 0 when it went through.
//
// State k: tensors "a" and "b" of float64, every value k, together
// MEGABYTES MiB, and metadata "state" = k, so a reader can tell a whole
// state from a mixture of two.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/factory.h"
#include "nn/checkpoint.h"

namespace {

void save_state(const std::string& path, int64_t megabytes, int64_t k) {
  const int64_t half = megabytes * (1 << 20) / 16;  // float64 values per tensor
  nova::nn::StateDict state;
  state.insert("a", nova::full({half}, double(k), nova::kFloat64));
  state.insert("b", nova::full({half}, double(k), nova::kFloat64));
  nova::nn::save_checkpoint(path, state, {{"state", std::to_string(k)}});
}

int usage() {
  std::fprintf(stderr, "usage: checkpoint_crash_writer loop PATH MEGABYTES FIRST\n"
                       "       checkpoint_crash_writer fill PATH MEGABYTES LIMIT_BYTES\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return usage();
  const std::string mode = argv[1], path = argv[2];
  const int64_t megabytes = std::atoll(argv[3]), n = std::atoll(argv[4]);
  if (mode == "loop") {
    for (int64_t k = n;; ++k) {
      save_state(path, megabytes, k);
      std::printf("%lld\n", static_cast<long long>(k));
      std::fflush(stdout);
    }
  }
  if (mode != "fill") return usage();
  // Past the limit, write() fails with EFBIG once SIGXFSZ (whose default
  // action kills the process) is ignored: the error a full disk gives.
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit limit{static_cast<rlim_t>(n), static_cast<rlim_t>(n)};
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
    std::perror("setrlimit");
    return 1;
  }
  try {
    save_state(path, megabytes, 999999);
  } catch (const nova::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
  return 0;
}
