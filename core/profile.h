// core/profile.h: named scopes of user code ("D step", "G step"), the label
// nova attaches to what runs inside them. Today anomaly mode reads them: an
// op recorded in a scope remembers it, and a non-finite value found in the
// op's forward or backward is reported with it (core/autograd.h,
// AnomalyGuard). Scopes nest: the name is the path, "train step/D step".
//
//   {
//     nova::profile::Scope scope("D step");
//     Tensor loss = d_loss(real, fake);   // ops recorded here carry "D step"
//     loss.backward();
//   }
//
// A scope costs a push and a pop on a thread-local list of pointers; the
// names must outlive the scope (string literals do).
#pragma once

#include <string>

namespace nova::profile {

/// A named region of user code, for its lifetime (RAII), on this thread.
class Scope {
 public:
  explicit Scope(const char* name);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
};

/// The scopes open on this thread, outermost first, joined by "/"; empty
/// outside every scope.
std::string current_scope();

}  // namespace nova::profile
