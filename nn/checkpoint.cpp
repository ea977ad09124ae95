// nn/checkpoint.cpp: StateDict <-> safetensors entries (see checkpoint.h).
#include "nn/checkpoint.h"

#include <cstring>

#include "core/autograd.h"
#include "core/factory.h"

namespace nova::nn {

namespace {

// safetensors stores little-endian bytes and nova copies memory as is
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "nn/checkpoint.cpp assumes a little-endian host");

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Int32: return "I32";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

DType nova_dtype(const std::string& path, const std::string& key, const std::string& name) {
  if (name == "F32") return kFloat32;
  if (name == "F64") return kFloat64;
  if (name == "I64") return kInt64;
  if (name == "I32") return kInt32;
  if (name == "BOOL") return kBool;
  fail("load_checkpoint: {}: tensor '{}' has dtype {}, which nova does not hold "
       "(F32, F64, I64, I32, BOOL); convert it in Python first", path, key, name);
}

// Entries -> CPU tensors; `path` is what every message names.
StateDict to_state_dict(const std::string& path, const safetensors::Entries& entries) {
  StateDict state;
  for (const auto& [key, entry] : entries) {
    DType dtype = nova_dtype(path, key, entry.dtype);
    // the format has no limit on dims, nova's Shape has one
    NOVA_CHECK(entry.shape.size() <= size_t(kMaxDims),
               "load_checkpoint: {}: tensor '{}' has {} dims, nova holds at most {}", path, key,
               entry.shape.size(), kMaxDims);
    Tensor t;
    try {
      t = empty(Shape(entry.shape), dtype);
    } catch (const Error& e) {  // out of memory, or a shape read_file let through
      fail("load_checkpoint: {}: tensor '{}': {}", path, key, e.what());
    }
    // read_file checked bytes.size() == numel * size; check again, cheaply,
    // because a mismatch here would be a buffer overrun
    NOVA_CHECK(entry.bytes.size() == size_t(t.numel()) * dtype_size(dtype),
               "load_checkpoint: {}: tensor '{}': {} bytes for {} {}", path, key,
               entry.bytes.size(), dtype_name(dtype), t.shape().str());
    if (!entry.bytes.empty()) std::memcpy(t.raw_data(), entry.bytes.data(), entry.bytes.size());
    NOVA_CHECK(!state.contains(key), "load_checkpoint: {}: duplicate tensor '{}'", path, key);
    state.insert(key, t);
  }
  return state;
}

}  // namespace

void save_checkpoint(const std::string& path, const StateDict& state,
                     const safetensors::Metadata& metadata) {
  safetensors::Entries entries;
  entries.reserve(state.size());
  NoGradGuard no_grad;
  for (const auto& [key, tensor] : state) {
    NOVA_CHECK(tensor.defined(), "save_checkpoint: {}: tensor '{}' is undefined", path, key);
    Tensor host = tensor.detach().to(kCPU).contiguous();
    safetensors::Entry entry;
    entry.dtype = safetensors_dtype(host.dtype());
    entry.shape = host.shape().vec();
    size_t nbytes = size_t(host.numel()) * dtype_size(host.dtype());
    entry.bytes.resize(nbytes);
    if (nbytes) std::memcpy(entry.bytes.data(), host.raw_data(), nbytes);
    entries.emplace_back(key, std::move(entry));
  }
  safetensors::write_file(path, entries, metadata);
}

StateDict load_checkpoint(const std::string& path, safetensors::Metadata* metadata) {
  return to_state_dict(path, safetensors::read_file(path, metadata));
}

StateDict parse_checkpoint(const uint8_t* data, size_t size, const std::string& name,
                           safetensors::Metadata* metadata) {
  return to_state_dict(name, safetensors::parse(data, size, name, metadata));
}

void save(const Module& module, const std::string& path, const safetensors::Metadata& metadata) {
  save_checkpoint(path, module.state_dict(), metadata);
}

void load(Module& module, const std::string& path, bool strict) {
  StateDict state = load_checkpoint(path);
  try {
    module.load_state_dict(state, strict);
  } catch (const Error& e) {
    throw Error(fmt::format("load: {}: {}", path, e.what()));
  }
}

}  // namespace nova::nn
