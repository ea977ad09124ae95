// core/profile.cpp: the thread-local stack of named scopes (see profile.h).
#include "core/profile.h"

#include <vector>

namespace nova::profile {

namespace {
thread_local std::vector<const char*> open_scopes;
}  // namespace

Scope::Scope(const char* name) { open_scopes.push_back(name ? name : "?"); }
Scope::~Scope() { open_scopes.pop_back(); }

std::string current_scope() {
  std::string path;
  for (const char* s : open_scopes) {
    if (!path.empty()) path += '/';
    path += s;
  }
  return path;
}

}  // namespace nova::profile
