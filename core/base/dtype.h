// core/base/dtype.h: element types a Tensor can hold, and the one helper that turns
// a runtime DType into a C++ type for kernel templates.
// float32 is the default; float64 is for gradcheck and references; int64/int32
// hold indices and labels; bool holds masks and comparison results (1 byte).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/error.h"

namespace nova {

enum class DType : uint8_t { Float32, Float64, Int64, Int32, Bool };

constexpr DType kFloat32 = DType::Float32;
constexpr DType kFloat64 = DType::Float64;
constexpr DType kInt64 = DType::Int64;
constexpr DType kInt32 = DType::Int32;
constexpr DType kBool = DType::Bool;

/// Bytes per element.
constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Int32: return 4;
    case DType::Bool: return 1;
  }
  return 0;
}

/// Lower-case name as printed in errors ("float32").
constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Int32: return "int32";
    case DType::Bool: return "bool";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

/// The DType of a C++ element type: dtype_of<float>() == kFloat32.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return kFloat32; }
template <> constexpr DType dtype_of<double>() { return kFloat64; }
template <> constexpr DType dtype_of<int64_t>() { return kInt64; }
template <> constexpr DType dtype_of<int32_t>() { return kInt32; }
template <> constexpr DType dtype_of<bool>() { return kBool; }

/// Calls f(T{}) with T the C++ type of `t`; kernels write
///   dispatch_dtype(x.dtype(), [&](auto tag) { using T = decltype(tag); ... });
/// This is the only type switch: kernels stay templates over T.
template <typename F>
decltype(auto) dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(int64_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Bool: return f(bool{});
  }
  fail("dispatch_dtype: unknown dtype {}", static_cast<int>(t));
}

/// Like dispatch_dtype for float32/float64 only; other dtypes throw naming `op`.
template <typename F>
decltype(auto) dispatch_floating(const char* op, DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: fail("{}: expected a floating dtype (float32 or float64), got {}", op, dtype_name(t));
  }
}

}  // namespace nova
