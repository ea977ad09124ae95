// core/base/device.h: where a tensor's memory lives: the CPU or CUDA device N.
// Ops require all inputs on one device; Device prints as "cpu" or "cuda:0".
// Which CUDA devices answer at run time is core/device.h (it asks the CUDA
// runtime, a floor above this one).
#pragma once

#include <cstdint>
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

}  // namespace nova
