// tests/cuda_main.cpp: the entry point of nova_cuda_tests. With no CUDA
// device (or a build without CUDA) it prints why and returns 77, which CTest
// (SKIP_RETURN_CODE 77) reports as "skipped": a machine without a GPU never
// counts these tests as passed. CTest runs it once per test file
// (tests/CMakeLists.txt); tools/gpu-check.sh runs it whole.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "kernels/cuda/runtime.h"

int main(int argc, char** argv) {
  if (!nova::cuda::built_with_cuda()) {
    std::printf("nova_cuda_tests: SKIPPED: this build has no CUDA backend (NOVA_CUDA=OFF or no nvcc)\n");
    return 77;
  }
  if (nova::cuda::device_count() == 0) {
    std::printf("nova_cuda_tests: SKIPPED: no CUDA device answers on this machine\n");
    return 77;
  }
  // Catch returns the number of failed assertions (at most 255): 77 of them
  // must not read as "skipped"
  int failed = Catch::Session().run(argc, argv);
  return failed == 77 ? 78 : failed;
}
