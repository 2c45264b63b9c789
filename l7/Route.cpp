#include "l7/Route.hpp"

#include <cstddef>

namespace weft::l7 {

namespace {

bool is_core_group(std::string_view group) {
  return group.empty() || group == "core";
}

}  // namespace

bool ParentRef::is_service() const {
  return is_core_group(group) && kind == "Service";
}

bool BackendRef::is_service() const {
  return is_core_group(group) && kind == "Service";
}

std::string_view Route::kind_name() const {
  return kind == Kind::Http ? "HTTPRoute" : "GRPCRoute";
}

bool route_precedes(const Route& a, const Route& b) {
  if (a.created != b.created) {
    // nullopt sorts first in std::optional's order; here it means "newest".
    return a.created && (!b.created || *a.created < *b.created);
  }
  // "{namespace}/{name}" compared as one string, without building it.
  auto key = [](const Route& r, std::size_t i) -> int {
    if (i < r.ns.size()) {
      return static_cast<unsigned char>(r.ns[i]);
    }
    if (i == r.ns.size()) {
      return '/';
    }
    i -= r.ns.size() + 1;
    return i < r.name.size() ? static_cast<unsigned char>(r.name[i]) : -1;
  };
  for (std::size_t i = 0;; ++i) {
    int x = key(a, i);
    int y = key(b, i);
    if (x != y) {
      return x < y;
    }
    if (x < 0) {
      return false;
    }
  }
}

}  // namespace weft::l7
