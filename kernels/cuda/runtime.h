// kernels/cuda/runtime.h: the CUDA runtime as nova sees it. Plain C++ (no
// CUDA headers), so core includes it in every build: with CUDA it is
// implemented in runtime.cu, without it in stub.cpp.
#pragma once

namespace nova::cuda {

/// Devices that answer; 0 on any runtime error (no driver, no GPU) and in a
/// build without CUDA.
int device_count();

/// True when this build contains the CUDA backend (whether or not a GPU exists).
bool built_with_cuda();

}  // namespace nova::cuda
