// core/base/device.cpp: parsing and printing devices.
#include "core/base/device.h"

#include "core/base/error.h"

namespace nova {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    std::string idx = text.substr(5);
    bool digits = !idx.empty() && idx.size() < 4 && idx.find_first_not_of("0123456789") == std::string::npos;
    if (digits) return cuda(std::stoi(idx));
  }
  fail("device: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"{}\"", text);
}

std::string Device::str() const {
  return type == DeviceType::CPU ? "cpu" : "cuda:" + std::to_string(index);
}

}  // namespace nova
