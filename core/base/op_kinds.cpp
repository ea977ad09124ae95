// core/base/op_kinds.cpp: the printed names of the elementwise kinds (the
// same strings as the ops, so errors and traces read as the user wrote them).
#include "core/base/op_kinds.h"

namespace nova {

const char* unary_name(UnaryKind k) {
  static const char* names[] = {"neg",  "abs",      "sign",  "exp",        "log",       "log1p",
                                "sqrt", "rsqrt",    "pow",   "sin",        "cos",       "relu",
                                "leaky_relu",       "elu",   "sigmoid",    "tanh",      "softplus",
                                "add",  "mul",      "clamp", "square"};
  return names[static_cast<int>(k)];
}

const char* binary_name(BinaryKind k) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                "eq",  "ne",  "lt",  "le",  "gt",  "ge"};
  return names[static_cast<int>(k)];
}

}  // namespace nova
