// core/device.h: where a tensor's memory lives: the CPU or CUDA device N.
// Ops require all inputs on one device; Device prints as "cpu" or "cuda:0".
#pragma once

#include <string>

namespace nova {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;  // CUDA ordinal; always 0 for the CPU

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }

  /// Parses "cpu", "cuda" or "cuda:N"; throws nova::Error otherwise.
  static Device parse(const std::string& text);

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const;

  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

inline const Device kCPU = Device::cpu();

/// Number of CUDA devices that answer; 0 when the build has no CUDA or the
/// driver reports any error (a missing GPU is never a crash).
int cuda_device_count();

/// True when at least one CUDA device answers.
inline bool cuda_is_available() { return cuda_device_count() > 0; }

}  // namespace nova
