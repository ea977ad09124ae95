// core/base/op_kinds.cpp: the printed names of the elementwise kinds (the
// same strings as the ops, so errors and traces read as the user wrote them).
#include "core/base/op_kinds.h"

namespace nova {

const char* unary_name(UnaryKind k) {
  switch (k) {
#define NOVA_UNARY_NAME(kind, name, domain) \
  case UnaryKind::kind: return name;
    NOVA_UNARY_KINDS(NOVA_UNARY_NAME)
#undef NOVA_UNARY_NAME
  }
  return "?";
}

const char* binary_name(BinaryKind k) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                "eq",  "ne",  "lt",  "le",  "gt",  "ge"};
  return names[static_cast<int>(k)];
}

}  // namespace nova
